Feature: Case 6 — an SOS button in 石马河街道 brings someone to the door at once
  石马河街道 assessed 208 elderly households and fitted each with a smart home-care kit.
  In 通用社区 南桥晓月小区, 徐英 has an SOS button by her bed, linked to the street and the
  community: "press it once and someone comes to the door at once".
  Encodes report lines 49–57; the report gives no dates (the times are assumptions).

  Scenario: 徐英 presses the SOS button
    Given it is 2022-01-18 21:05 in Jiangbei
    When the SOS gateway files an appeal under the "emergency_care" workflow:
      | petitioner  | 徐英                           |
      | title       | SOS一键呼叫：身体不适          |
      | description | 南桥晓月小区徐英家中SOS呼叫器报警 |
      | category    | elderly_care                   |
      | channel     | sos_device                     |
      | street      | 石马河街道                     |
      | community   | 通用社区                       |
    Then the appeal was accepted on filing
    And the appeal is at stage "派员上门"
    And "open_mediation" is not among the next steps
    When 2 minutes pass
    And grid worker 通用社区网格员 assigns the appeal to "通用社区", person "通用社区网格员"
    And 8 minutes pass
    And grid worker 通用社区网格员 records the action "上门查看，协助老人就医，通知子女"
    And grid worker 通用社区网格员 resolves the appeal
    And 1 hour passes
    And grid worker 通用社区网格员 calls the petitioner back, who says it is solved and is "satisfied"
    And grid worker 通用社区网格员 closes the appeal
    Then the appeal is closed as "resolved"

  Scenario: The same call made by phone waits for a person to accept it
    Given it is 2022-01-18 21:05 in Jiangbei
    When the intake clerk files an appeal under the "emergency_care" workflow:
      | petitioner | 徐英                  |
      | title      | 老人来电：身体不适    |
      | category   | elderly_care          |
      | channel    | hotline               |
    Then the appeal is at stage "intake"
    And "open_mediation" is not among the next steps
    When the intake clerk accepts the appeal
    Then the appeal is at stage "dispatch"
