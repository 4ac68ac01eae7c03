Feature: Case 4 — 齐祥灯饰 short of cash, helped by the street's chamber of commerce
  大石坝街道 founded Jiangbei's first street chamber of commerce (商会), a bridge between
  government, banks and enterprises.  齐祥灯饰 hit a cash bottleneck; the chamber connected
  it to the bank-enterprise matching platform 渝融通, which provided over 1,000,000 yuan.

  Scenario: The chamber of commerce brings the appeal and finds financing
    Given it is 2022-02-14 10:00 in Jiangbei
    When the intake clerk files an appeal under the "enterprise_service" workflow:
      | petitioner  | 齐祥灯饰                         |
      | kind        | enterprise                       |
      | title       | 企业资金周转困难                 |
      | description | 负责人黄瀚反映企业遇到资金瓶颈，急需融资 |
      | category    | business_environment             |
      | channel     | chamber_of_commerce              |
      | street      | 大石坝街道                       |
    Then the appeal was accepted on filing
    When caseworker 商会秘书长 assigns the appeal to "大石坝街道商会", person "商会秘书长" with co-handling by "渝融通银企对接服务平台"
    And caseworker 商会秘书长 records the action "组织银企沟通会，对接渝融通银企对接服务平台"
    And 20 days pass
    And caseworker 商会秘书长 records the action "银行提供100余万元资金支持"
    And caseworker 商会秘书长 replies in writing "support": "已通过渝融通获得100余万元融资"
    And caseworker 商会秘书长 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied": "多亏商会帮忙，解决了燃眉之急"
    And caseworker 商会秘书长 closes the appeal
    Then the appeal is closed as "resolved"
    And the lead unit is "大石坝街道商会", person "商会秘书长", co-handled by "渝融通银企对接服务平台"
    And the reply is "支持"
