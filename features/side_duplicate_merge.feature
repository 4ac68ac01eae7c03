Feature: Duplicate merged into the original
  The same owners of 吉安园茅溪小区 raise the same parking problem twice; the second appeal
  is marked as a duplicate of the first and closed, the first goes on.
  Encodes the rule: a duplicate is closed, pointing at its original (GB/T 33358 work orders).

  Scenario: The second appeal is merged into the first
    Given it is 2022-05-09 09:00 in Jiangbei
    And the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 吉安园茅溪小区业主 |
      | kind       | collective         |
      | title      | 小区停车难         |
      | category   | traffic            |
      | channel    | hotline            |
      | ref        | first              |
    And the intake clerk accepts the appeal
    When the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 吉安园茅溪小区业主   |
      | kind       | collective           |
      | title      | 小区停车难，车位不足 |
      | category   | traffic              |
      | channel    | online               |
      | ref        | second               |
    And the intake clerk marks the appeal as a duplicate of "first"
    Then the appeal is closed as "duplicate"
    And "MarkedDuplicate" was recorded by "intake_clerk"
