Feature: Case 8 — 铁山坪街道 grid workers visit lone elderly residents
  铁山坪街道 splits its 7 communities into 7 large grids served by 17 full-time grid workers:
  "网中有格、格中有人、人尽其责".  Grid workers visit lone elderly residents, check hazards
  and settle disputes; the team leader is 胡安庆.

  Scenario: A hazard found on a home visit is put right
    Given it is 2022-03-22 14:00 in Jiangbei
    When grid worker 胡安庆 files an appeal under the "standard" workflow:
      | petitioner  | 独居老人王婆婆             |
      | title       | 家中电线老化存在安全隐患   |
      | description | 网格员上门走访发现电线老化 |
      | category    | fire_safety                |
      | channel     | grid_visit                 |
      | street      | 铁山坪街道                 |
      | grid        | 3                          |
    And caseworker 社区主任 accepts the appeal
    And caseworker 社区主任 assigns the appeal to "铁山坪街道第3网格", person "胡安庆"
    And grid worker 胡安庆 records the action "联系电工更换老化电线"
    And caseworker 社区主任 replies in writing "support": "隐患已排除"
    And caseworker 社区主任 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And caseworker 社区主任 closes the appeal
    Then the appeal is closed as "resolved"

  Scenario: A neighbours' dispute is settled by mediation on the way
    Given it is 2022-03-22 14:00 in Jiangbei
    And grid worker 胡安庆 files an appeal under the "standard" workflow:
      | petitioner | 居民赵先生       |
      | title      | 邻里漏水纠纷     |
      | category   | other            |
      | channel    | grid_visit       |
      | street     | 铁山坪街道       |
    And caseworker 社区主任 accepts the appeal
    And caseworker 社区主任 assigns the appeal to "铁山坪街道第5网格", person "胡安庆"
    When caseworker 社区主任 opens mediation by "老马带小马工作室" between "赵先生", "楼上住户"
    And mediator 老马 records the agreement "楼上住户负责维修防水层"
    Then the appeal is at stage "resolution"
