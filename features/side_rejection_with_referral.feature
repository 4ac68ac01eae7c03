Feature: Rejection with referral
  An office that cannot take an appeal says why and where the petitioner should go instead
  (不予受理并告知).
  Encodes the rule: a refusal names where to go instead (不予受理并告知).

  Scenario: A court matter brought to 寸滩街道 is referred to the court
    Given it is 2022-06-01 09:00 in Jiangbei
    And the intake clerk files an appeal under the "letters_and_visits" workflow:
      | petitioner | 吉安园茅溪小区业主刘先生       |
      | title      | 要求撤销法院对物业费纠纷的判决 |
      | category   | property_management            |
      | channel    | walk_in                        |
      | street     | 寸滩街道                       |
    When 10 days pass
    And the intake clerk rejects the appeal because "已进入诉讼程序的事项不属信访受理范围", referring the petitioner to "江北区人民法院"
    Then the appeal is closed as "rejected"
    And "Rejected" was recorded by "intake_clerk" with "江北区人民法院"

  Scenario: A rejection must say where to go
    Given the intake clerk files an appeal under the "standard" workflow:
      | petitioner | 刘先生     |
      | title      | 物业费纠纷 |
      | channel    | walk_in    |
    When the intake clerk tries to reject the appeal because "不属受理范围", referring the petitioner to " "
    Then it is refused as "invalid_input", saying "referral"
    And nothing was written
