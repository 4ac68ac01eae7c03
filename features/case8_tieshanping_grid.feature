Feature: Case 8 — 铁山坪街道 grid workers visit lone elderly residents
  Report lines 67–71: 铁山坪街道 splits its 7 communities into 7 large grids served by 17
  full-time grid workers: "网中有格、格中有人、人尽其责".  Grid workers visit lone elderly
  residents, chat with them, check their homes for hazards and help settle disputes; the team
  leader is 胡安庆.  The report names no household and no particular hazard or dispute, and
  gives no dates: what is below is the general pattern, with assumed times.

  Scenario: A home visit checks for hazards and waits for the call-back
    Given it is 2022-03-22 14:00 in Jiangbei
    When grid worker 胡安庆 files an appeal under the "standard" workflow:
      | petitioner  | 铁山坪街道独居老人                     |
      | title       | 网格员上门走访，帮助老人检查隐患       |
      | description | 网格员上门走访，陪老人聊天，帮助老人检查隐患 |
      | category    | elderly_care                           |
      | channel     | grid_visit                             |
      | street      | 铁山坪街道                             |
    And caseworker 网格服务队 accepts the appeal
    And caseworker 网格服务队 assigns the appeal to "铁山坪街道网格服务队", person "胡安庆"
    And grid worker 胡安庆 records the action "上门陪老人聊天，帮助老人检查隐患"
    And caseworker 网格服务队 replies in writing "support": "已上门帮助老人检查隐患"
    And caseworker 网格服务队 resolves the appeal
    Then the appeal is at stage "review"
    And "callback" is among the next steps

  Scenario: A dispute met on the rounds is mediated by the grid worker
    Given it is 2022-03-22 14:00 in Jiangbei
    And grid worker 胡安庆 files an appeal under the "standard" workflow:
      | petitioner | 铁山坪街道居民   |
      | title      | 邻里矛盾         |
      | category   | other            |
      | channel    | grid_visit       |
      | street     | 铁山坪街道       |
    And caseworker 网格服务队 accepts the appeal
    And caseworker 网格服务队 assigns the appeal to "铁山坪街道网格服务队", person "胡安庆"
    When caseworker 网格服务队 opens mediation by "胡安庆" between "居民", "邻居"
    And mediator 胡安庆 records the agreement "双方和解"
    Then the appeal is at stage "resolution"
