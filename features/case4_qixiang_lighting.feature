Feature: Case 4 — 齐祥灯饰 short of cash, helped by the street's chamber of commerce
  Report lines 87–91: 大石坝街道 founded Jiangbei's first street chamber of commerce (商会), a
  bridge between government, banks and enterprises.  齐祥灯饰 hit a cash bottleneck; the chamber
  helped it contact the bank-enterprise matching platform 渝融通, which provided over 1,000,000
  yuan.  The street is accountable (lead unit); its chamber does the linking (co-handling).
  The report gives no dates (the times are assumptions) and tells of no call-back: the
  manager's words of thanks are recorded as a note and the call-back is still due.

  Scenario: The chamber of commerce brings the appeal and finds financing
    Given it is 2022-02-14 10:00 in Jiangbei
    When the intake clerk files an appeal under the "enterprise_service" workflow:
      | petitioner  | 齐祥灯饰                         |
      | kind        | enterprise                       |
      | title       | 企业资金周转困难                 |
      | description | 负责人黄瀚反映企业遇到资金瓶颈   |
      | category    | business_environment             |
      | channel     | chamber_of_commerce              |
      | street      | 大石坝街道                       |
    Then the appeal was accepted on filing
    When caseworker 商会负责人 assigns the appeal to "大石坝街道", person "商会负责人" with co-handling by "大石坝街道商会"
    And caseworker 商会负责人 records the action "商会帮忙联系渝融通银企对接服务平台"
    And 4 days pass
    And caseworker 商会负责人 records the action "提供100余万元的资金支持"
    And caseworker 商会负责人 replies in writing "support": "已通过渝融通获得100余万元资金支持"
    And caseworker 商会负责人 resolves the appeal
    And caseworker 商会负责人 records the note "黄瀚：多亏商会帮忙联系渝融通银企对接服务平台，有效解决了公司的燃眉之急"
    Then the appeal is at stage "review"
    And the lead unit is "大石坝街道", person "商会负责人", co-handled by "大石坝街道商会"
    And the reply is "支持"
