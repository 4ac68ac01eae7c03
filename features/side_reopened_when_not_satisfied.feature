Feature: Not satisfied, so the appeal is reopened
  An appeal is finished only when the petitioner has been asked whether they are satisfied.
  When the call-back finds them not satisfied, the appeal is reopened, not closed.
  Encodes SCENARIOS.md "What done means" and the redo-when-not-satisfied rule (hotline notes).

  Scenario: Parking at 吉安园茅溪小区 is reopened after an unsatisfied call-back
    Given it is 2022-05-09 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 刘先生             |
      | title      | 小区停车难         |
      | category   | traffic            |
      | channel    | door_to_door       |
      | street     | 寸滩街道           |
      | community  | 保税商厦社区       |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "保税商厦社区", person "李红"
    And caseworker 李红 replies in writing "explain": "小区车位有限，建议错峰停车"
    And caseworker 李红 resolves the appeal
    When the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    Then "reopen" is among the next steps
    When caseworker 李红 reopens the appeal into resolution because "业主不满意，需增设车位"
    Then the appeal is at stage "resolution"
    And the appeal has been reopened 1 time
    When caseworker 李红 replies in writing "support": "协调物业公司新增临时车位40个"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And caseworker 李红 closes the appeal
    Then the appeal is closed as "resolved"
