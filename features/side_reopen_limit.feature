Feature: Reopen limit reached
  The standard workflow allows two reopenings; after that the appeal cannot be reopened again
  and has to be closed (or escalated) instead.
  Encodes the standard workflow's reopen_limit (an assumption to configure).

  Scenario: The third reopening is refused
    Given it is 2022-05-09 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 刘先生       |
      | title      | 小区停车难   |
      | category   | traffic      |
      | channel    | hotline      |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "保税商厦社区", person "李红"
    And caseworker 李红 replies in writing "explain": "第一次答复"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    And caseworker 李红 reopens the appeal into resolution because "第一次不满意"
    And caseworker 李红 replies in writing "explain": "第二次答复"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    And caseworker 李红 reopens the appeal into mediation because "第二次不满意"
    And caseworker 李红 records the agreement "业主与物业协商"
    And caseworker 李红 replies in writing "explain": "第三次答复"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    When caseworker 李红 tries to reopen the appeal into resolution because "第三次不满意"
    Then it is refused as "transition_not_allowed", saying "reopen limit of 2 reached"
    And nothing was written
    And the appeal has been reopened 2 times
    When supervisor 张主任 closes the appeal
    Then the appeal is closed as "resolved"
