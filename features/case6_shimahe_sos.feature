Feature: Case 6 — 石马河街道 fits 208 elderly homes with smart home-care kits (SOS button)
  Report lines 49–57: 石马河街道 assessed the needs of 208 elderly households and made each a
  smart home-care kit to measure; the project of fitting them is basically complete.  In
  通用社区 南桥晓月小区, 徐英 has an SOS button and a night light by her bed; the button is
  linked to the street and the community: "press it once and someone comes to the door".
  The report tells of the project and of what the button can do; it tells of no call made
  with it.  So the first scenario records the project as far as the report takes it (still in
  handling: "basically complete"), under "standard"; the second shows what the
  "emergency_care" workflow does with a press of such a button — it illustrates the capability
  the report describes, with a placeholder resident, and is not an event of the report; it
  stops where the report's words stop (someone is to be sent to the door).
  The report gives no dates (the times are assumptions), and does not say how the needs were
  assessed (a door-to-door visit is assumed).

  Scenario: The street assesses 208 elderly households and fits their homes
    Given it is 2022-04-06 09:00 in Jiangbei
    When caseworker 石马河街道 files an appeal under the "standard" workflow:
      | petitioner  | 石马河街道208户老人家庭                           |
      | kind        | collective                                       |
      | title       | 老人居家养老安全隐患，需适老化改造               |
      | description | 对辖区208户老人家庭进行需求评估，量身打造智慧居家助老系统 |
      | category    | elderly_care                                     |
      | channel     | door_to_door                                     |
      | street      | 石马河街道                                       |
    And caseworker 石马河街道 accepts the appeal
    And caseworker 石马河街道 assigns the appeal to "石马河街道", person "石马河街道负责人"
    And 7 days pass
    And caseworker 石马河街道 records the action "对辖区208户老人家庭进行需求评估"
    And 9 days pass
    And caseworker 石马河街道 records the action "量身打造并安装智慧居家助老系统；徐英家床边安装了与街道社区联网的SOS一键呼叫器和小夜灯"
    And caseworker 石马河街道 records the note "石马河街道负责人：老年人家适老化改造安装项目已基本完成"
    Then the appeal is at stage "resolution"
    And the history shows "Filed", "Accepted", "Assigned", "ActionRecorded", "ActionRecorded", "NoteAdded"

  Scenario: What a press of the SOS button does (the capability, not an event of the report)
    Given it is 2022-04-06 21:05 in Jiangbei
    When the SOS gateway files an appeal under the "emergency_care" workflow:
      | petitioner  | （示例）通用社区老人            |
      | title       | SOS一键呼叫                     |
      | category    | elderly_care                    |
      | channel     | sos_device                      |
      | street      | 石马河街道                      |
      | community   | 通用社区                        |
    Then the appeal was accepted on filing
    And the appeal is at stage "派员上门"
    And "assign" is among the next steps
    And "open_mediation" is not among the next steps

  Scenario: The same request made by phone waits for a person to accept it
    Given it is 2022-04-06 21:05 in Jiangbei
    When the intake clerk files an appeal under the "emergency_care" workflow:
      | petitioner | （示例）通用社区老人  |
      | title      | 老人来电求助          |
      | category   | elderly_care          |
      | channel    | hotline               |
    Then the appeal is at stage "intake"
    And "open_mediation" is not among the next steps
    When the intake clerk accepts the appeal
    Then the appeal is at stage "dispatch"
