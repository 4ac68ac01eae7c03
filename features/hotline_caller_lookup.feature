Feature: Finding a repeat caller's cases without keeping their numbers in clear
  A 12345 operator must see a caller's other open cases while phone and ID numbers stay
  sealed: the store keeps only keyed digests (a blind index) of the normalised numbers.

  Background:
    Given it is 2022-05-10 09:00 in Jiangbei

  Scenario: The same caller rings twice about different matters
    Given the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士          |
      | phone      | 13800001234     |
      | title      | 楼道堆放杂物    |
      | category   | fire_safety     |
      | channel    | hotline         |
      | street     | 寸滩街道        |
    When the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士            |
      | phone      | +86 138-0000-1234 |
      | title      | 小区停车难        |
      | category   | traffic           |
      | channel    | hotline           |
      | street     | 寸滩街道          |
    Then the appeal shows as related "楼道堆放杂物"
    And looking up the phone "138 0000 1234" finds "楼道堆放杂物", "小区停车难"
    And looking up the phone "13900000000" finds nothing

  Scenario: A closed case is no longer shown as related
    Given the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士          |
      | phone      | 13800001234     |
      | title      | 楼道堆放杂物    |
      | category   | fire_safety     |
      | channel    | hotline         |
    And the intake clerk withdraws the appeal because "邻居已自行清理"
    When the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 王女士          |
      | phone      | 13800001234     |
      | title      | 小区停车难      |
      | category   | traffic         |
      | channel    | hotline         |
    Then the appeal shows as related nothing
    And looking up the phone "13800001234" finds "楼道堆放杂物", "小区停车难"
