Feature: Anonymous filing (匿名) of reports, suggestions and consultations
  A caller may report (举报), suggest (建议) or ask (咨询) without giving a name, phone, ID
  number or address.  The standard workflow (version 4) takes anonymous filings of these
  three types only; a report is 检举控告, so whistle-blower confidentiality applies as to
  any report.  Nobody can call an anonymous petitioner back: the call-back is recorded as
  impossible, the petition may close, and the rates count it apart (in no rate).

  Background:
    Given it is 2022-06-01 10:00

  Scenario: An anonymous report is handled and its call-back recorded as impossible
    Given the intake clerk files an appeal under the "standard" workflow:
      | anonymous | yes                     |
      | type      | report                  |
      | title     | 工地夜间违规施工        |
      | category  | environment             |
      | channel   | hotline                 |
      | street    | 寸滩街道                |
    Then the appeal is anonymous and names nobody
    And the appeal is a "report" of "normal" urgency
    When the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "寸滩街道", person "李红"
    And caseworker 李红 replies in writing "support": "已责令停止夜间施工"
    And caseworker 李红 resolves the appeal
    And the intake clerk tries to call the petitioner back, who says it is solved and is "satisfied"
    Then it is refused as "invalid_input", saying "a call-back is impossible"
    When the intake clerk records that the petitioner could not be reached
    Then the call-back is recorded as impossible
    When caseworker 李红 closes the appeal
    Then the appeal is closed as "resolved"
    And "寸滩街道" has 0 valid call-backs and 1 impossible (anonymous)

  Scenario: A complaint cannot be anonymous, and an anonymous filing names nobody
    When the intake clerk tries to file an appeal under the "standard" workflow:
      | anonymous | yes          |
      | title     | 匿名投诉物业 |
      | category  | property_management |
      | channel   | hotline      |
    Then it is refused as "invalid_input", saying "takes anonymous filings of: consultation, report, suggestion"
    When the intake clerk tries to file an appeal under the "standard" workflow:
      | anonymous   | yes        |
      | type        | suggestion |
      | petitioner  | 居民甲     |
      | title       | 增设公交站 |
      | channel     | hotline    |
    Then it is refused as "invalid_input", saying "names no petitioner"
