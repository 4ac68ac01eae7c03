"""Messages and labels in Chinese and English (gettext catalogs).

Source strings are English; ``petitions/locale/zh_CN/LC_MESSAGES/petitions.po``
translates them, and its compiled ``.mo`` ships with the package (a test
keeps the two in step).  Labels of categories, channels, stages and ratings
come from their own data files (taxonomy, workflow definitions).
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from typing import Any

DOMAIN = "petitions"
LANGS = ("zh", "en")
_CATALOG_LANG = {"zh": "zh_CN"}


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it here."""
    return message


def resolve_lang(value: str | None = None) -> str:
    """``zh`` or ``en``: ``value``, else the locale (Chinese where it is Chinese)."""
    if value:
        return "zh" if value.lower().startswith("zh") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        found = os.environ.get(var)
        if found:
            return "zh" if found.lower().startswith("zh") else "en"
    return "en"


@lru_cache(maxsize=4)
def translation(lang: str) -> gettext.NullTranslations:
    catalog = _CATALOG_LANG.get(lang)
    if catalog is None:
        return gettext.NullTranslations()
    # Paths as plain strings here and in the modules a command reading a
    # petition uses: pathlib (with urllib.parse) is not imported to start one.
    path = os.path.join(os.path.dirname(__file__), "locale", catalog, "LC_MESSAGES",
                        f"{DOMAIN}.mo")
    with open(path, "rb") as fh:
        return gettext.GNUTranslations(fh)


class Messages:
    """Translate with one language: ``m("text {x}", x=1)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._t = translation(lang)

    def __call__(self, message: str, **params: Any) -> str:
        text = self._t.gettext(message)
        return text.format(**params) if params else text


#: Words shown as values (statuses, outcomes, roles of a caseload, fields).
WORDS = (
    N_("open"), N_("closed"), N_("resolved"), N_("rejected"), N_("duplicate"),
    N_("withdrawn"), N_("assignee"), N_("mediator"), N_("resident"), N_("enterprise"),
    N_("collective"), N_("support"), N_("explain"), N_("not_support"),
    N_("yes"), N_("no"), N_("Unit"), N_("Month"), N_("Year"),
    # fields named by errors
    N_("title"), N_("description"), N_("category"), N_("channel"), N_("at"), N_("id"),
    N_("unit"), N_("person"), N_("reason"), N_("referral"), N_("text"), N_("rating"),
    N_("outcome"), N_("days"), N_("version"), N_("to"), N_("plan"), N_("step"),
    N_("evidence"), N_("action"), N_("terms"), N_("mediator"), N_("parties"),
    N_("participants"), N_("place"), N_("co_units"), N_("original_id"), N_("note"),
    N_("petitioner.name"), N_("petitioner.kind"), N_("idempotency_key"), N_("actor"),
    N_("by"), N_("filter"), N_("matter_type"), N_("approver"), N_("role"),
    # the unit register, caller look-up, ranking (issue 14)
    N_("register"), N_("file"), N_("phone"), N_("id_number"), N_("group"),
    N_("district"), N_("street"), N_("community"), N_("grid"), N_("department"),
    N_("enterprise_liaison"), N_("building_leader"), N_("enterprise_department"),
    N_("enterprise_cadre"), N_("grid_worker"), N_("caseworker"), N_("supervisor"),
    N_("intake_clerk"), N_("administrator"), N_("PETITIONS_OFFICE_PREFIX"),
    # sign-for, return, supervision levels (issue 14)
    N_("level"),
    # request types, urgency, anonymous filing (issue 14)
    N_("type"), N_("urgency"), N_("anonymous"), N_("contacted"),
    # the report's period (issue 17)
    N_("date_from"), N_("date_to"),
)


def error_text(exc: Exception, lang: str) -> str:
    """One line describing a :class:`~petitions.errors.PetitionError` in ``lang``."""
    m = Messages(lang)
    code = getattr(exc, "code", "")
    p: dict[str, Any] = {k: "" if v is None else str(v)
                         for k, v in getattr(exc, "params", {}).items()}
    if code == "not_found":
        return m("no petition with id {id}", **p)
    if code == "transition_not_allowed":
        allowed = p.get("allowed") or m("nothing (the petition is closed)")
        text = m("{command} is not allowed in stage {stage}; allowed here: {allowed}",
                 command=p["command"], stage=p["stage"], allowed=allowed)
        if p.get("reason"):
            # A fixed reason in the catalogs (sign-for and return) is translated.
            text += m(" (reason: {reason})", reason=m(p["reason"]))
        return text
    if code == "permission_denied":
        if p.get("rule") == "assigned_unit":
            return m("{actor} is not of the assigned unit {unit} and may not {command} "
                     "(rule: the assigned unit)", actor=p.get("actor", ""),
                     unit=p.get("unit", ""), command=p.get("command", ""))
        if p.get("rule") == "independent_callback":
            return m("{actor} replied to or resolved this petition and may not record its "
                     "call-back (rule: independent call-back)", actor=p.get("actor", ""))
        return m("role {role} may not {command}; roles that may: {allowed}",
                 role=p["role"], command=p["command"], allowed=p.get("allowed") or m("none"))
    if code == "corrupt_event":
        return m("petition {id}: stored event version {version} (position {position}) cannot "
                 "be read ({detail}); run `petitions audit verify`", **p)
    if code == "import_worker_failed":
        return m("the import's worker process stopped ({detail}); whole batches were written "
                 "before it: run the import again to file the rest", **p)
    if code == "concurrent_update":
        return m("petition {id} was changed by someone else; reload and retry", **p)
    if code == "workflow_not_found":
        return m("unknown workflow {workflow}; known: {known}", **p)
    if code == "missing_dependency":
        return m("charts need matplotlib: {hint}", hint=p.get("hint", ""))
    if code == "invalid_input":
        field = m(p.get("field", ""))
        kind = p.get("kind", "invalid")
        if kind == "unknown_code":
            return m("{field}: unknown value {value}; valid: {valid}", field=field,
                     value=p.get("value", ""), valid=p.get("valid", ""))
        if kind == "no_levels":
            return m("{field}: the workflow has no supervision levels", field=field)
        if kind == "choose":
            return m("{field}: choose one of {valid}", field=field, valid=p.get("valid", ""))
        if kind == "empty":
            return m("{field}: must not be empty", field=field)
        if kind == "future":
            return m("{field}: is in the future", field=field)
        if kind == "before_filing":
            return m("{field}: is before the petition was filed", field=field)
        if kind == "bad_id":
            return m("{field}: not a valid petition id or work-order number", field=field)
        if kind == "unknown_unit":
            return m("{field}: unknown unit {value}; close: {close}", field=field,
                     value=p.get("value", ""), close=p.get("close") or m("none"))
        if kind == "register":
            return m("the unit register has problems: {problems}",
                     problems=p.get("problems", ""))
        if kind == "no_such_version":
            return m("{field}: the petition has no such version", field=field)
        if kind == "not_positive":
            return m("{field}: must be a positive whole number", field=field)
        if kind == "extension_cap":
            return m("{field}: extensions may total at most {cap} days ({granted} already "
                     "granted)", field=field, cap=p.get("cap", ""),
                     granted=p.get("granted", ""))
        if kind == "anonymous_type":
            return m("{field}: this workflow takes anonymous filings only of the types: "
                     "{valid}", field=field, valid=p.get("valid") or m("none"))
        if kind == "anonymous_named":
            return m("{field}: an anonymous filing names no petitioner (no name, phone, ID "
                     "number, address or representatives)", field=field)
        if kind == "anonymous_callback":
            return m("{field}: the petitioner filed anonymously, so a call-back is "
                     "impossible; record it with --not-contacted", field=field)
        if kind == "answer_now_type":
            return m("{field}: only these types may be answered at once (即时办结): {valid}",
                     field=field, valid=p.get("valid") or m("none"))
        if kind == "before_start":
            return m("{field}: must not be before the first day", field=field)
        if kind == "not_a_day":
            return m("{field}: must be a day, YYYY-MM-DD", field=field)
        if kind == "too_long":
            return m("{field}: is too long", field=field)
        if kind == "not_text":
            return m("{field}: is not valid text (UTF-8)", field=field)
        if kind == "too_large":
            return m("{field}: must be at most {max}", field=field, max=p.get("max", ""))
        if kind == "too_small":
            return m("{field}: must be at least {min}", field=field, min=p.get("min", ""))
        return m("{field}: {problem}", field=field, problem=p.get("problem", ""))
    return str(exc)
