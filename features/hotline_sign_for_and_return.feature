Feature: Sign-for (签收) and return (退单) of a dispatched order, and naming the unit (定责)
  After dispatch the unit signs for the order and makes first contact with the petitioner
  (先行联系), or returns a misrouted order, which goes back to dispatch.  The limits are the
  standard workflow's [sign_for]: sign for and return within 1 working day of the dispatch
  (Tianjin 12345 实施细则, December 2024), first contact within 1 working day (an assumption).
  After two returns (Tianjin: after 3 dispatches the hotline names the handling unit) the unit
  can no longer return it: a supervisor names the unit (定责), and it stays there.
  The first scenario follows case 8 (report lines 67–71: 铁山坪街道's grid service team led by
  胡安庆; times assumed); the others use placeholder appeals.

  Background:
    Given it is 2022-03-22 14:00 in Jiangbei
    And the Jiangbei unit register is loaded

  Scenario: The grid service team signs for a hazard check and contacts the resident in time
    When grid worker 胡安庆 files an appeal under the "standard" workflow:
      | petitioner  | 铁山坪街道独居老人                           |
      | title       | 网格员上门走访，帮助老人检查隐患             |
      | description | 网格员上门走访，陪老人聊天，帮助老人检查隐患 |
      | category    | elderly_care                                 |
      | channel     | grid_visit                                   |
      | street      | 铁山坪街道                                   |
    And caseworker 网格服务队 accepts the appeal
    And caseworker 网格服务队 assigns the appeal to "铁山坪街道网格服务队", person "胡安庆"
    And 1 hour passes
    And grid worker 胡安庆 signs for the order
    And grid worker 胡安庆 records first contact with the petitioner "上门陪老人聊天"
    Then the order is signed for in time
    And the history shows "Assigned", "Signed", "Contacted"
    And "return" is among the next steps
    When grid worker 胡安庆 tries to return the order because "不属本单位职责"
    Then it is refused as "transition_not_allowed", saying "signed for"
    And nothing was written

  Scenario: Returned twice, the order is assigned finally by a supervisor
    Given the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 居民甲         |
      | title      | 楼道照明损坏   |
      | category   | other          |
      | channel    | hotline        |
      | street     | 铁山坪街道     |
    And the intake clerk accepts the appeal
    And caseworker 派单员 assigns the appeal to "华新街街道", person "华新街街道"
    When caseworker 华新街街道 returns the order because "不属本街道辖区"
    Then the appeal is at stage "dispatch"
    When caseworker 派单员 assigns the appeal to "寸滩街道", person "寸滩街道"
    And caseworker 寸滩街道 returns the order because "不属本街道辖区"
    Then the order has been returned 2 times
    When caseworker 派单员 tries to assign the appeal to "铁山坪街道", person "铁山坪街道"
    Then it is refused as "transition_not_allowed", saying "return limit reached"
    And nothing was written
    When caseworker 派单员 tries to name the handling unit (定责) "铁山坪街道", person "铁山坪街道"
    Then it is refused as "permission_denied", saying "assign --final"
    When supervisor 督办人 names the handling unit (定责) "铁山坪街道网格服务队", person "网格服务队"
    Then the lead unit is "铁山坪街道网格服务队", person "网格服务队"
    When caseworker 网格服务队 tries to return the order because "不属本单位职责"
    Then it is refused as "transition_not_allowed", saying "定责"
    When caseworker 网格服务队 signs for the order
    Then the order is signed for in time
    And the history shows "Returned", "Assigned", "Returned", "Assigned", "Signed"

  Scenario: After its limit a misrouted order can no longer be returned, and a late sign-for shows
    Given the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 居民乙         |
      | title      | 路面积水       |
      | category   | other          |
      | channel    | hotline        |
      | street     | 铁山坪街道     |
    And the intake clerk accepts the appeal
    And caseworker 派单员 assigns the appeal to "华新街街道", person "华新街街道"
    When 2 days pass
    And caseworker 华新街街道 tries to return the order because "不属本街道辖区"
    Then it is refused as "transition_not_allowed", saying "time to return it has passed"
    And nothing was written
    When caseworker 华新街街道 signs for the order
    Then the order is signed for late
