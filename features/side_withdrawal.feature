Feature: Withdrawal
  The petitioner may withdraw an appeal at any time before it is closed; the reason is kept.
  Encodes the rule: a withdrawal keeps its reason.

  Scenario: 王女士 withdraws her appeal while it is being handled
    Given it is 2022-05-10 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士             |
      | title      | 楼道堆放杂物       |
      | category   | fire_safety        |
      | channel    | hotline            |
      | street     | 寸滩街道           |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "保税商厦社区", person "李红"
    When 2 days pass
    And the intake clerk withdraws the appeal because "邻居已自行清理"
    Then the appeal is closed as "withdrawn"
    When caseworker 李红 tries to reply in writing "support": "已清理"
    Then it is refused as "transition_not_allowed", saying "the petition is closed"
    And nothing was written
