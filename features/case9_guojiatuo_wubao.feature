Feature: Case 9 — public spaces improved from what residents care about (郭家沱街道, 五宝镇)
  Residents care about clean streets, parks and facilities.  郭家沱街道 cleared illegal
  buildings at the old 龙兴寺码头 and built a river-view platform and the 军工文化公园;
  五宝镇 sowed a flower route along 11 km of riverside road, loved by cyclists like 吴女士.

  Scenario: A suggestion for the old 龙兴寺码头 becomes a river-view platform
    Given it is 2019-04-02 10:00 in Jiangbei
    When grid worker 罗刹寺社区网格员 files an appeal under the "standard" workflow:
      | petitioner  | 红江村居民                       |
      | kind        | collective                       |
      | title       | 龙兴寺码头乱搭乱建               |
      | description | 居民希望整治龙兴寺码头并建设休闲场所 |
      | category    | environment                      |
      | channel     | grid_visit                       |
      | matter type | suggestion                       |
      | street      | 郭家沱街道                       |
      | community   | 罗刹寺社区                       |
    And caseworker 城管科 accepts the appeal
    And caseworker 城管科 assigns the appeal to "郭家沱街道城管科", person "城管科" with co-handling by "区城市管理局"
    And caseworker 城管科 records the action "拆除违法建筑，修建观江平台和军工文化公园"
    And caseworker 城管科 replies in writing "support": "观江平台已建成开放"
    And caseworker 城管科 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And caseworker 城管科 closes the appeal
    Then the appeal is closed as "resolved"
    And the lead unit is "郭家沱街道城管科", person "城管科", co-handled by "区城市管理局"

  Scenario: 吴女士 suggests a cycling route in 五宝镇
    Given it is 2021-03-02 10:00 in Jiangbei
    When the intake clerk files an appeal under the "standard" workflow:
      | petitioner  | 吴女士               |
      | title       | 建议沿江公路打造骑行赛道 |
      | category    | environment          |
      | channel     | online               |
      | matter type | suggestion           |
      | street      | 五宝镇               |
    And the intake clerk accepts the appeal
    And caseworker 五宝镇 assigns the appeal to "五宝镇", person "五宝镇"
    And caseworker 五宝镇 replies in writing "support": "已播撒花种420公斤，打造鲜花赛道"
    And caseworker 五宝镇 resolves the appeal
    Then the appeal is at stage "review"
