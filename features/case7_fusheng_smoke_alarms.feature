Feature: Case 7 — smoke alarms for 40 elderly people living alone in 复盛镇福生路社区
  Before winter, when heaters come out, 复盛镇福生路社区 goes door to door and lists 40 elderly
  people living alone who need a smoke alarm; the town fits one in every home.  When an alarm
  goes off, the call is accepted at once and someone is sent within minutes.

  Scenario: The community lists and fits the 40 homes
    Given it is 2021-11-15 09:00 in Jiangbei
    And grid worker 福生路网格员 opens the door-to-door campaign "独居老人烟感报警器安装" in 复盛镇 福生路社区
    When grid worker 福生路网格员 collects 40 suggestions door to door, such as "为独居老人安装独立烟感报警器"
    Then the campaign reports 40 collected and 0 resolved
    When 14 days pass
    And caseworker 复盛镇民政办 settles every collected suggestion one by one, assigning them to "复盛镇"
    Then the campaign reports 40 collected and 40 resolved

  Scenario: A smoke alarm goes off in a lone elderly person's home
    Given it is 2022-01-05 19:40 in Jiangbei
    When the alarm gateway files an appeal under the "emergency_care" workflow:
      | petitioner | 福生路社区独居老人 |
      | title      | 烟感报警器报警     |
      | category   | fire_safety        |
      | channel    | smoke_alarm        |
      | street     | 复盛镇             |
      | community  | 福生路社区         |
    Then the appeal was accepted on filing
    When 3 minutes pass
    And grid worker 福生路网格员 assigns the appeal to "福生路社区", person "福生路网格员"
    And grid worker 福生路网格员 records the action "上门查看：烤火炉过热，已断电排除隐患"
    And grid worker 福生路网格员 resolves the appeal
    Then the appeal is at stage "回访"
