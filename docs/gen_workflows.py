"""Regenerate docs/workflows.md from the shipped workflow definitions.

Run ``python docs/gen_workflows.py``; the test suite checks the page is current.
"""

from __future__ import annotations

from pathlib import Path

from workflows import Registry, Workflow, to_mermaid

CASES = {
    "standard": (
        "The everyday appeal (诉求) of a resident or an enterprise: intake, dispatch to a lead "
        "unit and a named responsible person, handling with optional mediation, a written "
        "reply, then the satisfaction call-back (回访) that decides whether it is closed or "
        "reopened (at most twice). Encodes report lines 49–57 (case 6: 石马河街道 assesses "
        "208 elderly households and fits smart home-care kits, \"basically complete\"), "
        "59–61 (case 7: standalone smoke "
        "alarms for 40 lone elderly listed from the community's service roster and visits), "
        "67–71 (case 8: grid workers' home visits in 铁山坪街道) and 35–39 (case 9: "
        "龙兴寺码头 in 郭家沱街道, its years of works paused on the clock). "
        "**Assumption to configure:** the time limits (the report gives none)."
        # version 4: sign-for and return, supervision levels; request types (docs/hotline.md)
        " Since version 4 the assigned unit signs for the order (`sign`, 签收), makes "
        "first contact (`contact`, 先行联系) or returns a misrouted order (`return`, 退单) "
        "within the limits of `[sign_for]` (Tianjin 2024: 1 working day); after two returns "
        "a supervisor names the unit (`assign --final`, 定责); `escalate --level` takes the "
        "levels of `[escalation.levels]` (黄牌, 红牌). "
        "Version 4 also adds request types and urgency: answer limits per type "
        "after Guangdong's 12345 rules, acceptance limits per urgency after Tianjin's (2024), "
        "a consultation answered at once and closed (`answer_now`, 即时办结), and anonymous "
        "filing of consultations, reports and suggestions. "
        # version 5: sign-for per urgency, a transfer signed for anew (docs/hotline.md)
        "Version 5 sets the sign-for limit per urgency (`[sign_for.urgency]`: 15 minutes "
        "for an emergency, 30 for an urgent order, after Tianjin 2024; which urgency is "
        "which of Tianjin's cases is an assumption) and makes a transfer (转办) a new "
        "dispatch the new unit signs for (`transfer_signs_anew`)."),
    "property_dispute": (
        "Property disputes in residential compounds (cases 1–2, report lines 13–23): "
        "东方家园 in 华新街街道 and "
        "吉安园茅溪小区 in 寸滩街道. Mediation comes first — the case goes to mediation as "
        "soon as it is assigned, with joint meetings (联席会议) among owners, the owners' "
        "committee and the property company. Resolution may then follow the owners' "
        "committee election six-step method (组织宣传 → 推选代表 → 收集申请 → 搭建专班 → "
        "大会筹备 → 依法选举); every step is recorded with evidence and an actor, steps cannot "
        "be skipped or reordered, and resolving needs a started plan to be complete. "
        "**Assumption to configure:** the time limits (the report gives none)."),
    "enterprise_service": (
        "Enterprise service by 包联送 (cases 3–5, report lines 75–95): 西南证券 in 江北城街道, "
        "齐祥灯饰 in 大石坝街道 (the street accountable, its chamber of commerce co-handling), "
        "韩泰轮胎 in 鱼嘴镇 (its thank-you call recorded as a note on the case, and filed as a "
        "praise (表扬) request in features/hotline_request_types.feature). "
        "Appeals brought by an enterprise's liaison or the "
        "chamber of commerce (商会) are accepted on filing; any appeal may be dispatched "
        "straight to the liaison, even from intake; outside departments (区交警支队) "
        "co-handle, and on-site office meetings (现场办公) are recorded with participants. "
        "**Assumption to configure:** the time limits (the report gives none)."),
    "emergency_care": (
        "Emergency home care (report lines 49–57): what the SOS buttons fitted in 208 elderly "
        "households of 石马河街道 are for (\"press it once and someone comes to the door\"). "
        "The report tells of the buttons, not of a call made with one, so the demo's case 6 "
        "records the fitting project under `standard` and no call runs under this workflow "
        "there. A call from a device (`sos_device`, `smoke_alarm`) is "
        "accepted as it is filed; there is no mediation. 首接负责 is enforced "
        "(`first_receiver_owns = true`): a call taken by a person belongs to whoever received "
        "it until it is accepted or handed over (`transfer`); others are refused meanwhile, a "
        "supervisor excepted. **Assumption to configure:** the minute and hour limits (5 min, "
        "10 min, 2 h, 24 h) are invented placeholders; the report gives no figures."),
    "letters_and_visits": (
        "Letters and visits (信访) under the 信访工作条例 (2022): acceptance decision within "
        "15 days, handling within 60 days of acceptance, extensions (in the handling stage "
        "only) of at most 30 days with an approver and a reason told to the petitioner, a "
        "written reply (支持 / 解释说明 / 不予支持) delivered (送达, `deliver`), review (复查, "
        "claims only) requested until 24:00 of the 30th day after delivery of the reply "
        "(moved past a holiday) and answered within 30 days by a unit other than the lead "
        "unit, re-review (复核) likewise after delivery of the review answer, by a unit "
        "other than both; hearings (听证) paused out of the answer period. "
        "After the re-review the matter is final: the same petitioner filing the "
        "same facts and reasons again is refused (`RepeatFiling`). \"The same facts\" = same "
        "petitioner id and the same title and description after Unicode NFKC normalisation, "
        "case folding and removal of whitespace, punctuation and symbols."),
    "campaign": (
        "Door-to-door campaigns (进家入户, case 2, report line 21): 寸滩街道 visited every "
        "household of "
        "吉安园茅溪小区 and collected 34 suggestions, each resolved. "
        "`PetitionService.open_campaign` opens a campaign; each suggestion is filed under this "
        "workflow with `campaign_id=`, accepted on the spot when collected at the door, and "
        "`campaign_progress(campaign_id)` reports collected and resolved counts and those "
        "awaiting the call-back (the report tells of none: the demo's suggestions wait there). "
        "**Assumption to configure:** the time limits (the report gives none)."),
}


def render() -> str:
    reg = Registry.shipped()
    parts = [
        "# Workflows\n",
        "Each workflow is a TOML file in `workflows/definitions/`: its stages, the commands "
        "allowed in each, who may issue them, the facts a command requires, time limits and "
        "plans. Adding a workflow needs no Python: drop a file in an office's own folder "
        "(`PetitionService.open(url, workflow_dirs=[...])` or `PETITIONS_WORKFLOWS`). A broken "
        "file is refused with every problem listed at once, each with its file and key.\n",
        "Diagrams are drawn by `workflows.to_mermaid(workflow, lang)`; this page is generated "
        "by `python docs/gen_workflows.py`.\n",
        "Assumptions to configure: every time limit of the shipped workflows except those of "
        "`letters_and_visits` (which follow the 信访工作条例) is a placeholder — the seed report "
        "gives none — and so is the 0.9 weight of 基本满意 in `petitions/data/rates.toml` (no "
        "source was found for it). Each is marked ASSUMPTION in its file.\n",
    ]
    for wf in reg.all():
        parts.append(f"## `{wf.name}` — {wf.title.zh} ({wf.title.en}), version {wf.version}\n")
        parts.append(CASES[wf.name] + "\n")
        parts.append(f"```mermaid\n{to_mermaid(wf)}```\n")
        parts.extend(type_limits(wf))
    return "\n".join(parts)


def type_limits(wf: Workflow) -> list[str]:
    """The limits a workflow sets per request type and urgency (``[types]``,
    ``[urgency]``), as a table; nothing when it sets none."""
    if not (wf.type_limits or wf.urgency_limits):
        return []
    rows = ["| request type / urgency | stage | limit | counted from |",
            "|---|---|---|---|"]
    for table in (wf.type_limits, wf.urgency_limits):
        for code, stages in table.items():
            for stage, limit in stages.items():
                rows.append(f"| `{code}` | {stage} | {limit.amount} "
                            f"{limit.unit.replace('_', ' ')} | `{limit.start}` |")
    notes = [f"Default type: `{wf.default_type}`; anonymous filing for: "
             f"{', '.join(f'`{t}`' for t in sorted(wf.anonymous_types)) or 'none'}; "
             f"answered at once (即时办结) for: "
             f"{', '.join(f'`{t}`' for t in sorted(wf.answer_now_types)) or 'none'}. "
             "Where a type and an urgency both set a stage's limit, the urgency's applies; "
             "elsewhere the stage's own limit."]
    return ["Time limits per request type and urgency (version "
            f"{wf.version}; sources in the TOML comments):\n", "\n".join(rows) + "\n",
            *notes, ""]


if __name__ == "__main__":
    out = Path(__file__).with_name("workflows.md")
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
