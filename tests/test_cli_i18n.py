"""The gettext catalogs: complete, compiled, and in step with the code."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from petitions.i18n import Messages, error_text, resolve_lang

ROOT = Path(__file__).resolve().parent.parent
LOCALE = resources.files("petitions").joinpath("locale")


def _po() -> object:
    with LOCALE.joinpath("zh_CN/LC_MESSAGES/petitions.po").open("rb") as fh:
        return read_po(fh, locale="zh_CN")


def _code_messages() -> set[str]:
    found: set[str] = set()
    for folder, pattern in ((ROOT / "petitions", "**.py"), (ROOT, "cli.py")):
        for _, _, message, _, _ in extract_from_dir(
                str(folder), method_map=[(pattern, "python")],
                keywords={"m": None, "N_": None, "_h": None}):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def test_every_message_in_the_code_is_translated() -> None:
    po = _po()
    translated = {m.id: m.string for m in po if m.id}  # type: ignore[attr-defined]
    in_code = _code_messages()
    assert in_code, "no messages found: extraction is broken"
    missing = sorted(m for m in in_code if not translated.get(m))
    assert missing == []
    stale = sorted(set(translated) - in_code)
    assert stale == []
    assert not any(m.fuzzy for m in po if m.id)  # type: ignore[attr-defined]


def test_mo_matches_po() -> None:
    po = _po()
    with LOCALE.joinpath("zh_CN/LC_MESSAGES/petitions.mo").open("rb") as fh:
        mo = read_mo(fh)
    assert {m.id: m.string for m in po if m.id} == {  # type: ignore[attr-defined]
        m.id: m.string for m in mo if m.id}


def test_placeholders_survive_translation() -> None:
    import re

    for message in _po():  # type: ignore[attr-defined]
        if message.id:
            names = set(re.findall(r"{(\w+)}", message.id))
            assert names == set(re.findall(r"{(\w+)}", message.string)), message.id


def test_language_choice() -> None:
    import os

    assert resolve_lang("zh") == "zh" and resolve_lang("en") == "en"
    assert resolve_lang("zh_CN.UTF-8") == "zh"
    saved = {k: os.environ.pop(k, None) for k in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    try:
        assert resolve_lang(None) == "en"
        os.environ["LANG"] = "zh_CN.UTF-8"
        assert resolve_lang(None) == "zh"
    finally:
        os.environ.pop("LANG", None)
        os.environ.update({k: v for k, v in saved.items() if v is not None})
    assert Messages("zh")("Satisfaction rate") == "满意率"
    assert Messages("en")("Satisfaction rate") == "Satisfaction rate"


def test_domain_errors_translate_from_code_and_params() -> None:
    from petitions import InvalidInput, PetitionNotFound, TransitionNotAllowed

    err = TransitionNotAllowed("close", "intake", ("accept", "reject"), reason="requires x")
    assert error_text(err, "en") == ("close is not allowed in stage intake; allowed here: "
                                     "accept, reject (reason: requires x)")
    assert error_text(err, "zh") == ("当前环节 intake 不能办理 close；"
                                     "可办理：accept, reject（原因：requires x）")
    assert error_text(PetitionNotFound("abc"), "zh") == "没有编号为 abc 的诉求"
    bad = InvalidInput("category", "unknown", kind="unknown_code", value="x", valid="a, b")
    assert error_text(bad, "zh") == "类别：未知取值 x；有效取值：a, b"
