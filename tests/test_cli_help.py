"""Help pages (``--help``) in Chinese or English, through the same catalogs."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

import cli
from cli import main
from petitions.i18n import Messages, resolve_lang
from tests.test_cli import ENV_CLEAR
from tests.test_cli_i18n import LOCALE


def _help(*argv: str, env: dict[str, str | None] | None = None) -> str:
    result = CliRunner().invoke(main, [*argv, "--help"], env={**ENV_CLEAR, **(env or {})},
                                prog_name="petitions")
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _flat(text: str) -> str:
    """``text`` without whitespace, so that wrapped lines compare equal."""
    return "".join(text.split())


def _commands(group: click.Group = main, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _help_texts(command: click.Command) -> list[str]:
    """The command's own help and its parameters' (Click's help option included)."""
    ctx = click.Context(command)
    texts = [command.help] if command.help else []
    texts += [p.help for p in command.get_params(ctx) if getattr(p, "help", None)]
    return texts


def test_group_help_in_chinese_and_english() -> None:
    zh = _help("--lang", "zh")
    assert zh.startswith("用法: petitions [OPTIONS] COMMAND [ARGS]...")
    assert "办理群众和企业诉求：从登记受理到满意度回访。" in zh
    assert "\n选项:\n" in zh and "\n命令:\n" in zh
    assert "显示本帮助并退出。" in zh and "显示版本并退出。" in zh
    assert re.search(r"\n  callback +记录满意度回访\n", zh)
    assert re.search(r"\n  escalate +提请督办", zh)
    assert "Handle residents'" not in zh and "Options:" not in zh

    en = _help("--lang", "en")
    assert en.startswith("Usage: petitions [OPTIONS] COMMAND [ARGS]...")
    assert "Handle residents' and enterprises' appeals (诉求), from intake to" in en
    assert "\nOptions:\n" in en and "\nCommands:\n" in en
    assert re.search(r"\n  callback +Record the satisfaction call-back \(回访\)\.\n", en)
    assert "办理群众和企业诉求" not in en and "选项:" not in en


@pytest.mark.parametrize(("argv", "zh", "en"), [
    (("file",), ["登记诉求，输出其编号。", "诉求人姓名（匿名登记时不填）。", "[默认：standard]",
                 "诉求类型：consultation（咨询）", "匿名登记"],
     ["File a petition; print its id.", "The petitioner's name (required unless --anonymous).",
      "[default: standard]", "consultation (咨询), help (求助)", "File without name, phone"]),
    (("assign",), ["派单给牵头单位和责任人。", "责任人。", "协办单位（可重复）。",
                   "诉求版本不是此版本时拒绝执行。"],
     ["Dispatch to a lead unit and a responsible person.", "The person responsible.",
      "Refuse if the petition's version is not this one."]),
    (("callback",), ["记录满意度回访。", "是否联系上诉求人。"],
     ["Record the satisfaction call-back (回访).", "Whether the petitioner was reached."]),
    (("audit", "verify"), ["校验每条哈希链和通知日志（及封印）；指出第一处断裂。",
                           "签署封印所用的公钥。"],
     ["Check every hash chain and the notification log (and a seal); name the first break.",
      "The public key the seal was signed with."]),
    (("privacy", "erase"), ["以销毁密钥的方式删除 PETITIONER_ID 的个人信息（案件保留，操作留痕）。",
                            "可以删除的法律依据"],
     ["Crypto-shred PETITIONER_ID's personal data (the cases stay, audited).",
      "Why the data may be erased"]),
    (("calendar", "is-workday"), ["回答是或否，并给出节假日或调休上班日的名称。"],
     ["Answer yes or no, with the holiday or adjusted-workday name."]),
    (("sweep",), ["记录已到期的预警和超期（及随之的督办）。", "以此时刻为准巡检"],
     ["Record the warnings and breaches that are due (and their escalations, 督办).",
      "Sweep as of this moment"]),
    (("mediation",), ["调解：启动、记录调解会、达成协议、调解未成。", "启动调解", "命令:"],
     ["Mediation: open, record a session, agree, fail.", "Open mediation.", "Commands:"]),
])
def test_command_help_follows_lang(argv: tuple[str, ...], zh: list[str], en: list[str]) -> None:
    chinese = _help("--lang", "zh", *argv)
    english = _help("--lang", "en", *argv)
    assert chinese.startswith(f"用法: petitions {' '.join(argv)} ")
    assert english.startswith(f"Usage: petitions {' '.join(argv)} ")
    for text in zh:
        assert _flat(text) in _flat(chinese), text
        assert _flat(text) not in _flat(english), text
    for text in en:
        assert _flat(text) in _flat(english), text
        assert _flat(text) not in _flat(chinese), text


def test_environment_chooses_the_language_and_lang_wins() -> None:
    assert "办理群众和企业诉求" in _help(env={"PETITIONS_LANG": "zh"})
    assert "派单给牵头单位和责任人。" in _help("assign", env={"PETITIONS_LANG": "zh"})
    assert "派单给牵头单位和责任人。" in _help("assign", env={"LANG": "zh_CN.UTF-8"})
    assert "Dispatch to a lead unit" in _help("assign", env={"LANG": "en_US.UTF-8"})
    assert "Dispatch to a lead unit" in _help("--lang", "en", "assign",
                                              env={"PETITIONS_LANG": "zh"})
    assert "Handle residents'" in _help("--lang", "en", env={"PETITIONS_LANG": "zh"})
    assert "办理群众和企业诉求" in _help("--lang", "zh", env={"PETITIONS_LANG": "en"})


@pytest.mark.parametrize("env", [
    {}, {"PETITIONS_LANG": "zh"}, {"PETITIONS_LANG": "en"}, {"LANG": "zh_CN.UTF-8"},
    {"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, {"LANGUAGE": "zh_CN:en"},
    {"PETITIONS_LANG": "en", "LANG": "zh_CN.UTF-8"},
])
def test_help_language_agrees_with_the_library(monkeypatch: pytest.MonkeyPatch,
                                               env: dict[str, str]) -> None:
    for name in ENV_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli._help_lang() == resolve_lang(os.environ.get("PETITIONS_LANG"))


def test_every_help_text_has_a_chinese_translation() -> None:
    with LOCALE.joinpath("zh_CN/LC_MESSAGES/petitions.po").open("rb") as fh:
        po = read_po(fh, locale="zh_CN")
    translated = {m.id: m.string for m in po if m.id and m.string}
    seen = 0
    untranslated = []
    for path, command in _commands():
        for text in _help_texts(command):
            seen += 1
            if not translated.get(text) or translated[text] == text:
                untranslated.append((" ".join(path), text))
    assert seen > 150, "the command tree walk found too few help texts"
    assert untranslated == []
    assert not [word for word in cli.CLICK_WORDS if not translated.get(word)]


def test_every_help_page_shows_only_chinese_help_in_chinese() -> None:
    zh = Messages("zh")
    for path, command in _commands():
        page = _help("--lang", "zh", *path)
        flat = _flat(page)
        for text in _help_texts(command):
            shown = inspect.cleandoc(zh(text))
            assert _flat(shown) in flat, (path, text)
            if _flat(text) != _flat(shown):
                assert _flat(text) not in flat, (path, text)
        for line in page.splitlines():
            # Chinese takes two columns a character; the page fits 80 columns.
            assert cli._columns(line) <= 80, (path, line)


def test_chinese_wrapping_breaks_between_characters_not_before_punctuation() -> None:
    text = "提示信息的语言（环境变量 PETITIONS_LANG；默认取自系统区域设置）。"
    for width in range(18, 70):  # the longest word and its punctuation take 16
        lines = cli._wrap_wide(text, width)
        assert _flat("".join(lines)) == _flat(text)
        assert all(cli._columns(line) <= width for line in lines), (width, lines)
        assert not any(line[0] in "，。；：）" or line != line.strip() for line in lines)
    assert cli._wrap_wide(text, 62)[-1] == "置）。"
    assert cli._wrap_wide("a b  [c]", 80) == ["a b  [c]"]
    assert cli._wrap_wide("回访。", 4) == ["回", "访。"]
    assert cli._wrap_wide("访。", 2) == ["访。"]  # nothing to break before
    assert cli._wrap_wide("abcdefgh", 4) == ["abcdefgh"]


def test_chinese_help_does_not_load_the_library() -> None:
    code = ("import sys, cli\n"
            "try:\n    cli.main(['--lang', 'zh', 'privacy', 'erase', '--help'])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'petitions', 'eventsourcing', 'rich'}))\n")
    env = {k: v for k, v in os.environ.items() if k not in ENV_CLEAR}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    assert "以销毁密钥的方式删除 PETITIONER_ID 的个人信息" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
