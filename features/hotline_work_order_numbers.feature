Feature: Work-order numbers (工单号) a hotline operator can read out
  GB/T 33358-2016 makes the work order the record of a request.  Every appeal gets a readable
  number when it is filed — year, then a sequence unique in the store and increasing within
  the year — and every command and query takes the number as well as the id.

  Background:
    Given it is 2022-04-11 09:30 in Jiangbei

  Scenario: 西南证券's appeal gets the year's first number and is handled by it
    When liaison cadre 陈干部 files an appeal under the "enterprise_service" workflow:
      | petitioner  | 西南证券                 |
      | kind        | enterprise               |
      | title       | 公司周边车辆停放影响交通 |
      | category    | traffic                  |
      | channel     | enterprise_liaison       |
      | street      | 江北城街道               |
    Then the appeal's work-order number is "2022-000001"
    When liaison cadre 陈干部 files an appeal under the "standard" workflow:
      | petitioner  | 韩泰轮胎           |
      | kind        | enterprise         |
      | title       | 企业用工短缺       |
      | category    | employment         |
      | channel     | hotline            |
      | street      | 鱼嘴镇             |
    Then the appeal's work-order number is "2022-000002"
    When caseworker 鱼嘴镇包联干部 accepts the appeal numbered "2022-000002"
    Then the appeal is at stage "dispatch"

  Scenario: A number that does not exist is refused
    When caseworker 李红 tries to accept the appeal numbered "2022-000099"
    Then it is refused as "not_found", saying "2022-000099"
