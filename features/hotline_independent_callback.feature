Feature: The satisfaction call-back (回访) is made by someone who did not handle the case
  A unit must not rate its own work: whoever replied to or resolved an appeal may not record
  its call-back, and under the standard workflow call-backs belong to the hotline (intake
  clerks) and supervisors.  A call-back that cannot reach the petitioner is recorded as such
  and counted apart from the satisfaction rate.

  Background:
    Given it is 2022-05-10 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士             |
      | title      | 楼道堆放杂物       |
      | category   | fire_safety        |
      | channel    | hotline            |
      | street     | 寸滩街道           |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "保税商厦社区", person "李红"
    And supervisor 张主任 replies in writing "support": "已清理"
    And caseworker 李红 resolves the appeal

  Scenario: The handling unit may not call back its own case
    When caseworker 李红 tries to call the petitioner back, who says it is solved and is "satisfied"
    Then it is refused as "permission_denied", saying "roles that may: intake_clerk, supervisor"
    And nothing was written

  Scenario: A supervisor who replied may not rate the reply
    When supervisor 张主任 tries to call the petitioner back, who says it is solved and is "satisfied"
    Then it is refused as "permission_denied", saying "rule: independent call-back"
    And nothing was written

  Scenario: The hotline cannot reach the petitioner, then reaches them
    When the intake clerk records that the petitioner could not be reached
    Then the appeal is at stage "review"
    And "寸滩街道" has no satisfaction rate yet, with 1 unreachable
    When 1 day passes
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And caseworker 李红 closes the appeal
    Then the appeal is closed as "resolved"
