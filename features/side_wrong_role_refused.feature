Feature: The wrong role is refused
  Each workflow says which roles may issue which command: an auditor reads but never acts, a
  grid worker does not give the written reply, only a supervisor answers a review.
  Encodes the workflows' [roles] tables.

  Background:
    Given it is 2022-04-11 09:30 in Jiangbei
    And liaison cadre 陈干部 files an appeal under the "enterprise_service" workflow:
      | petitioner | 西南证券                 |
      | kind       | enterprise               |
      | title      | 公司周边车辆停放影响交通 |
      | category   | traffic                  |
      | channel    | enterprise_liaison       |
    And liaison cadre 陈干部 assigns the appeal to "江北城街道经济发展办", person "陈干部"

  Scenario: An auditor cannot record an action
    When auditor 吴审计 tries to record the action "整改交通"
    Then it is refused as "permission_denied", saying "role 'auditor' may not 'act'"
    And nothing was written

  Scenario: A caseworker cannot escalate; a supervisor can
    When liaison cadre 陈干部 tries to hold an on-site office meeting at "西南证券大楼" with "西南证券"
    Then the history shows "OnSiteMeetingHeld"
    When the intake clerk tries to close the appeal
    Then it is refused as "permission_denied", saying "roles that may: caseworker, supervisor"
    And nothing was written
