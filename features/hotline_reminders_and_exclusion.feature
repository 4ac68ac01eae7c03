Feature: Reminders (催办) and exclusion of unreasonable demands (核减)
  The hotline or a supervisor reminds the unit handling an appeal; reminders and escalations
  (督办) are counted per unit.  A demand found unreasonable is excluded from the rates by a
  supervisor, with the reason, in the audited history.

  Background:
    Given it is 2022-06-01 10:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 居民甲         |
      | title      | 要求补偿停车费 |
      | category   | traffic        |
      | channel    | hotline        |
      | street     | 寸滩街道       |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "寸滩街道", person "李红"

  Scenario: The hotline reminds the unit, a supervisor escalates
    When the intake clerk reminds the handling unit "请尽快联系诉求人"
    And 2 days pass
    And supervisor 张主任 escalates the appeal because "久拖未决"
    Then "寸滩街道" has 1 reminder and 1 escalation
    And the history shows "Assigned", "Reminded", "Escalated"

  Scenario: The handling unit cannot exclude its own case from the rates
    Given caseworker 李红 replies in writing "explain": "超出政策规定，已解释"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is not solved and is "unsatisfied"
    When caseworker 李红 tries to exclude the appeal from the rates because "诉求不合理"
    Then it is refused as "permission_denied", saying "roles that may: supervisor"
    When supervisor 张主任 excludes the appeal from the rates because "要求超出政策规定，经审核核减"
    Then "寸滩街道" has no rates
    And "Excluded" was recorded by "张主任" with "核减"
