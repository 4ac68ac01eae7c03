Feature: Case 5 — 韩泰轮胎 and other firms in 鱼嘴镇 short of workers
  To ease the hiring shortage, 鱼嘴镇 hosts the 2022 "春风行动" spring job fair on 1 March
  with 56 firms (海尔, 韩泰轮胎, …).  韩泰轮胎 meets 30+ candidates, sends 10 to the medical
  check, and calls the town to thank it.

  Scenario: A hiring shortage answered with the spring job fair
    Given it is 2022-02-20 09:00 in Jiangbei
    When liaison cadre 刘干部 files an appeal under the "enterprise_service" workflow:
      | petitioner  | 韩泰轮胎                             |
      | kind        | enterprise                           |
      | title       | 企业用工短缺                         |
      | description | 鱼复工业园区韩泰轮胎人力资源部反映招工难 |
      | category    | employment                           |
      | channel     | enterprise_liaison                   |
      | street      | 鱼嘴镇                               |
    And liaison cadre 刘干部 assigns the appeal to "鱼嘴镇社会事务办", person "刘干部" with co-handling by "区就业和人才中心"
    And 9 days pass
    And liaison cadre 刘干部 records the action "3月1日举办2022年江北区春风行动招聘会，海尔、韩泰轮胎等56家企业入场"
    And liaison cadre 刘干部 records the action "韩泰轮胎现场收获30余名意向人员，10名已通知入职体检"
    And liaison cadre 刘干部 replies in writing "support": "已通过春风行动招聘会帮助企业解决用工需求"
    And liaison cadre 刘干部 resolves the appeal
    And liaison cadre 刘干部 calls the petitioner back, who says it is solved and is "satisfied": "感谢政府"
    And liaison cadre 刘干部 closes the appeal
    Then the appeal is closed as "resolved"
    And the history shows "Assigned", "ActionRecorded", "ActionRecorded", "Replied", "Resolved", "CallbackRecorded", "Closed"

  Scenario: An enterprise appeal phoned in is accepted first, then goes to the liaison
    Given it is 2022-02-20 09:00 in Jiangbei
    When the intake clerk files an appeal under the "enterprise_service" workflow:
      | petitioner | 海尔         |
      | kind       | enterprise   |
      | title      | 企业用工短缺 |
      | category   | employment   |
      | channel    | hotline      |
    Then the appeal is at stage "intake"
    When the intake clerk accepts the appeal
    Then the appeal is at stage "dispatch"
