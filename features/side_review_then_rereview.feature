Feature: Review (复查) and then re-review (复核) under the 信访工作条例
  A written reply may be reviewed if the petitioner asks within 30 days of it; the review
  opinion may be re-reviewed if asked within 30 days of that.  The deadline may be extended by
  at most 30 days, approved, with the reason told to the petitioner.
  Encodes the review and re-review rules of the 信访工作条例 (2022).

  Background:
    Given it is 2022-01-04 09:00 in Jiangbei
    And the intake clerk files an appeal under the "letters_and_visits" workflow:
      | petitioner  | 东方家园业主陈先生             |
      | title       | 物业公司擅自提高停车费         |
      | description | 业主反映物业公司未经业主大会同意提高停车费 |
      | category    | property_management            |
      | channel     | letter                         |
      | matter type | claim                          |
      | street      | 华新街街道                     |
    And 10 days pass
    And the intake clerk accepts the appeal
    And caseworker 李红 assigns the appeal to "华新街街道信访办", person "李红"

  Scenario: Extended, answered, reviewed and re-reviewed; then the matter is final
    When 50 days pass
    And supervisor 张主任 extends the deadline by 20 days, approved by "张主任", because "需调取物业收费备案材料"
    Then the deadline is extended by 20 days in all
    And "PetitionerNotified" was recorded by "张主任" with "需调取物业收费备案材料"
    When supervisor 张主任 tries to extend the deadline by 11 days, approved by "张主任", because "再次延期"
    Then it is refused as "invalid_input", saying "at most 30 days"
    When 25 days pass
    And caseworker 李红 replies in writing "不予支持": "停车费调整已经业主大会表决，程序合法"
    And caseworker 李红 resolves the appeal
    Then the appeal is at stage "已书面答复"
    When 29 days pass
    And the intake clerk records that the petitioner asks for a review because "表决程序有瑕疵"
    Then the appeal is at stage "复查"
    When 28 days pass
    And supervisor 区信访办 answers the review: "维持", "表决程序合法，维持原处理意见"
    And 30 days pass
    And the intake clerk records that the petitioner asks for a re-review because "仍不服复查意见"
    Then the appeal is at stage "复核"
    When 20 days pass
    And supervisor 市信访办 answers the re-review: "维持", "维持复查意见，信访事项终结"
    Then the appeal is closed as "concluded"
    And the history shows "Replied", "ReviewRequested", "ReviewAnswered", "ReReviewRequested", "ReReviewAnswered"

  Scenario: A review asked for too late is refused
    When 30 days pass
    And caseworker 李红 replies in writing "解释说明": "停车费标准系按备案价格执行"
    And caseworker 李红 resolves the appeal
    And 31 days pass
    And the intake clerk tries to record that the petitioner asks for a review because "不服"
    Then it is refused as "transition_not_allowed", saying "the window has passed"
    And nothing was written
    When the intake clerk calls the petitioner back, who says it is solved and is "basically satisfied"
    And caseworker 李红 closes the appeal
    Then the appeal is closed as "resolved"

  Scenario: While a review may still be asked for, the appeal cannot be closed
    When caseworker 李红 replies in writing "支持": "已责令物业公司恢复原收费标准"
    And caseworker 李红 resolves the appeal
    And the intake clerk calls the petitioner back, who says it is solved and is "satisfied"
    And 5 days pass
    And caseworker 李红 tries to close the appeal
    Then it is refused as "transition_not_allowed", saying "requires review_window_passed"
    And nothing was written
