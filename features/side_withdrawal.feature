Feature: Withdrawal
  Illustrates a rule, not an event of the report: the appeal and the people in it are placeholders.
  The petitioner may withdraw an appeal at any time before it is closed; the reason is kept.
  Encodes the rule: a withdrawal keeps its reason.

  Scenario: A petitioner withdraws the appeal while it is being handled
    Given it is 2022-05-10 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 示例居民             |
      | title      | 楼道堆放杂物       |
      | category   | fire_safety        |
      | channel    | hotline            |
      | street     | 寸滩街道           |
    And the intake clerk accepts the appeal
    And caseworker assigns the appeal to "保税商厦社区", person "社区工作人员"
    When 2 days pass
    And the intake clerk withdraws the appeal because "邻居已自行清理"
    Then the appeal is closed as "withdrawn"
    When caseworker tries to reply in writing "support": "已清理"
    Then it is refused as "transition_not_allowed", saying "the petition is closed"
    And nothing was written
