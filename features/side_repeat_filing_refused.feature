Feature: After re-review, the same facts and reasons are not accepted again
  信访工作条例 (2022): once a re-review has answered, the petitioner raising the same facts and
  reasons again is not accepted (不再受理).  "The same" means the same petitioner and the same
  title and description, ignoring spaces, punctuation and letter case.
  Encodes the rule of the 信访工作条例 (2022) that a matter is final after re-review.

  Scenario: 陈先生 files the concluded matter again
    Given it is 2022-01-04 09:00 in Jiangbei
    And the intake clerk files an appeal under the "letters_and_visits" workflow:
      | petitioner  | 东方家园业主陈先生     |
      | title       | 物业公司擅自提高停车费 |
      | description | 要求恢复原停车收费标准 |
      | category    | property_management    |
      | channel     | letter                 |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "华新街街道信访办", person "李红"
    And caseworker 李红 replies in writing "不予支持": "收费调整程序合法"
    And caseworker 李红 resolves the appeal
    And 10 days pass
    And the intake clerk records that the petitioner asks for a review because "不服答复"
    And supervisor 区信访办 answers the review: "uphold", "维持原处理意见"
    And 10 days pass
    And the intake clerk records that the petitioner asks for a re-review because "不服复查意见"
    And supervisor 市信访办 answers the re-review: "uphold", "维持复查意见"
    When 60 days pass
    And the intake clerk tries to file an appeal under the "letters_and_visits" workflow:
      | petitioner  | 东方家园业主陈先生       |
      | title       | 物业公司擅自提高停车费！ |
      | description | 要求恢复原停车收费标准。 |
      | category    | property_management      |
      | channel     | walk_in                  |
    Then it is refused as "repeat_filing", saying "不再受理"
    And nothing was written

  Scenario: New facts from the same petitioner are accepted
    Given it is 2022-01-04 09:00 in Jiangbei
    And the intake clerk files an appeal under the "letters_and_visits" workflow:
      | petitioner  | 东方家园业主陈先生     |
      | title       | 物业公司擅自提高停车费 |
      | category    | property_management    |
      | channel     | letter                 |
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "华新街街道信访办", person "李红"
    And caseworker 李红 replies in writing "不予支持": "收费调整程序合法"
    And caseworker 李红 resolves the appeal
    And the intake clerk records that the petitioner asks for a review because "不服答复"
    And supervisor 区信访办 answers the review: "uphold", "维持原处理意见"
    And the intake clerk records that the petitioner asks for a re-review because "不服复查意见"
    And supervisor 市信访办 answers the re-review: "uphold", "维持复查意见"
    When the intake clerk files an appeal under the "letters_and_visits" workflow:
      | petitioner  | 东方家园业主陈先生 |
      | title       | 小区电梯长期故障   |
      | category    | lift               |
      | channel     | letter             |
    Then the appeal is at stage "intake"
