Feature: Case 7 — standalone smoke alarms for 40 elderly people living alone in 复盛镇福生路社区
  Report lines 59–61: before winter, when heaters come out, 福生路社区 lists — from the
  community's service roster and its earlier publicity visits — 40 elderly people living alone
  who need a smoke alarm; 复盛镇 decides to fit a standalone alarm (独立烟感报警器) in each of
  the 40 homes.  The elderly and their children tell the report they feel at ease now: words
  said to the report, not a call-back (回访), so they are recorded as a note and the call-back
  is still due.  This is a need the community found, handled under the "standard" workflow; no
  alarm call is involved.  The report gives no dates: the times are assumptions that keep the
  workflow's limits.

  Scenario: The community lists the 40 homes and the town fits standalone alarms
    Given it is 2022-01-04 09:00 in Jiangbei
    When caseworker 福生路社区工作人员 files an appeal under the "standard" workflow:
      | petitioner  | 复盛镇40户独居老人                                       |
      | kind        | collective                                               |
      | title       | 独居老人冬季取暖火灾隐患，需安装烟雾报警器               |
      | description | 通过社区服务名单以及前期的宣传走访，统计出40户需要安装烟雾报警器的独居老人 |
      | category    | fire_safety                                              |
      | channel     | door_to_door                                             |
      | street      | 复盛镇                                                   |
      | community   | 福生路社区                                               |
    And caseworker 福生路社区工作人员 accepts the appeal
    And caseworker 福生路社区工作人员 assigns the appeal to "复盛镇", person "福生路社区工作人员" with co-handling by "福生路社区"
    And 10 days pass
    And caseworker 福生路社区工作人员 records the action "为40户独居老人安装独立烟感报警器"
    And caseworker 福生路社区工作人员 replies in writing "support": "40户独居老人家中已安装独立烟感报警器"
    And caseworker 福生路社区工作人员 resolves the appeal
    And 3 days pass
    And caseworker 福生路社区工作人员 records the note "老人及其子女们纷纷表示：装了烟雾报警器之后，心里踏实多了"
    Then the appeal is at stage "review"
    And "callback" is among the next steps
    And the lead unit is "复盛镇", person "福生路社区工作人员", co-handled by "福生路社区"
