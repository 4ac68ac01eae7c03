Feature: Case 3 — 西南证券 reports cars blocking the traffic around its building
  江北城街道 serves enterprises by "包、联、送": a leader per building, a department per
  enterprise, a cadre one-to-one.  西南证券 has just moved in and tells its liaison that
  cars parked around the building block the traffic.  The street acts at once with the
  district traffic police, holds an on-site office meeting with the company and fixes it;
  王晓华, general manager of the building's property company, tells the report they are very
  satisfied (很满意).  Those words were said to the report, not asked for by a call-back (回访),
  and not by the petitioner: they are recorded as a note, and the call-back is still due.
  Encodes report lines 77–85; the report gives no dates (the times are assumptions).

  Background:
    Given it is 2022-04-11 09:30 in Jiangbei

  Scenario: The liaison brings the appeal and the street fixes it with the traffic police
    When liaison cadre 包联干部 files an appeal under the "enterprise_service" workflow:
      | petitioner  | 西南证券                                   |
      | kind        | enterprise                                 |
      | title       | 公司周边车辆停放影响交通                   |
      | description | 新入驻的西南证券反映公司周边车辆乱停，影响交通，希望街道协调解决 |
      | category    | traffic                                    |
      | channel     | enterprise_liaison                         |
      | street      | 江北城街道                                 |
    Then the appeal was accepted on filing
    And the appeal is at stage "dispatch"
    When liaison cadre 包联干部 dispatches the appeal straight to "江北城街道", person "包联干部" with co-handling by "区交警支队"
    Then the lead unit is "江北城街道", person "包联干部", co-handled by "区交警支队"
    And the appeal is at stage "办理"
    When 2 hours pass
    And liaison cadre 包联干部 holds an on-site office meeting at "西南证券大楼" with "西南证券", "区交警支队", "江北城街道"
    And liaison cadre 包联干部 records the action "会同区交警支队梳理交通突出问题，实地论证整改方案，规范车辆停放"
    And 3 days pass
    And liaison cadre 包联干部 replies in writing "support": "车辆乱停现象已整治，交通秩序大为改观"
    And liaison cadre 包联干部 resolves the appeal
    And liaison cadre 包联干部 records the note "第一太平戴维斯物业公司总经理王晓华：车辆乱停现象大为改观，街道这么快地解决难题很满意"
    Then the appeal is at stage "review"
    And "callback" is among the next steps
    And "OnSiteMeetingHeld" was recorded by "包联干部" with "区交警支队"
    And the history shows "Filed", "Accepted", "Assigned", "OnSiteMeetingHeld", "ActionRecorded", "Replied", "Resolved", "NoteAdded"

  Scenario: An on-site office meeting needs the people who took part
    Given liaison cadre 包联干部 files an appeal under the "enterprise_service" workflow:
      | petitioner | 西南证券                 |
      | kind       | enterprise               |
      | title      | 公司周边车辆停放影响交通 |
      | category   | traffic                  |
      | channel    | enterprise_liaison       |
    And liaison cadre 包联干部 dispatches the appeal straight to "江北城街道", person "包联干部"
    When liaison cadre 包联干部 tries to hold an on-site office meeting at "西南证券大楼" with nobody
    Then it is refused as "invalid_input", saying "participants"
    And nothing was written
