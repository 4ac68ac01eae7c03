Feature: Case 9 — public spaces improved from what residents care about (郭家沱街道)
  Report lines 35–39: the old 龙兴寺码头 near 罗刹寺社区红江村 was left with illegal buildings.
  From 2019 郭家沱街道 demolished them and built a river-view platform (观江平台), then, after
  surveying the ground and what residents need, the 军工文化公园.  Works that take years do
  not fit a 15-working-day limit: the street's leader pauses the clock while they last.
  (五宝镇's flower route, lines 29–33, is the town's own project: no appeal is told of it.)
  The report gives only the year 2019; the other times are assumptions.

  Scenario: A suggestion for the old 龙兴寺码头 becomes a river-view platform
    Given it is 2019-04-02 10:00 in Jiangbei
    When grid worker 罗刹寺社区网格员 files an appeal under the "standard" workflow:
      | petitioner  | 红江村居民                       |
      | kind        | collective                       |
      | title       | 龙兴寺码头乱搭乱建               |
      | description | 龙兴寺码头留下一片乱搭乱建和违法建筑 |
      | category    | environment                      |
      | channel     | grid_visit                       |
      | matter type | suggestion                       |
      | street      | 郭家沱街道                       |
      | community   | 罗刹寺社区                       |
    And caseworker 郭家沱街道 accepts the appeal
    And caseworker 郭家沱街道 assigns the appeal to "郭家沱街道", person "郭家沱街道"
    And supervisor 郭家沱街道负责人 pauses the clock because "拆除违法建筑、修建观江平台，工程期间暂停计时"
    And 300 days pass
    And caseworker 郭家沱街道 records the action "拆除违法建筑，平整后修建观江平台和军工文化公园"
    And supervisor 郭家沱街道负责人 resumes the clock
    And caseworker 郭家沱街道 replies in writing "support": "观江平台已建成，龙兴寺码头成为居民的望江打卡地"
    And caseworker 郭家沱街道 resolves the appeal
    Then the appeal is at stage "review"
    And the lead unit is "郭家沱街道", person "郭家沱街道"
