Feature: Not satisfied, so the appeal is reopened
  Illustrates a rule, not an event of the report: the appeal and the people in it are placeholders.
  An appeal is finished only when the petitioner has been asked whether they are satisfied.
  When the call-back finds them not satisfied, the appeal is reopened, not closed.
  Encodes SCENARIOS.md "What done means" and the redo-when-not-satisfied rule (hotline notes).

  Scenario: Parking at 吉安园茅溪小区 is reopened after an unsatisfied call-back
    Given it is 2022-05-09 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 示例业主             |
      | title      | 小区停车难         |
      | category   | traffic            |
      | channel    | door_to_door       |
      | street     | 寸滩街道           |
      | community  | 保税商厦社区       |
    And the intake clerk accepts the appeal
    And caseworker assigns the appeal to "保税商厦社区", person "社区工作人员"
    And caseworker replies in writing "explain": "小区车位有限，建议错峰停车"
    And caseworker resolves the appeal
    When the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    Then "reopen" is among the next steps
    When caseworker reopens the appeal into resolution because "业主不满意，需增设车位"
    Then the appeal is at stage "resolution"
    And the appeal has been reopened 1 time
    When caseworker replies in writing "support": "协调物业公司新增临时车位40个"
    And caseworker resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And caseworker closes the appeal
    Then the appeal is closed as "resolved"
