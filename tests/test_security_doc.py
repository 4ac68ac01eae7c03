"""docs/security.md names, for each claim, the test that proves it: every test
it names exists (a renamed or deleted test would leave a claim unproven)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "security.md"


def test_every_test_the_security_page_names_exists() -> None:
    text = DOC.read_text("utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", text)
    assert len(named) >= 30, named  # the page names its tests
    missing = []
    for path, name in named:
        source = ROOT / path
        if not source.exists():
            missing.append(path)
        elif name and not re.search(rf"^(?:async )?def {name}\(", source.read_text("utf-8"),
                                    re.M):
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_every_section_of_the_threat_model_names_a_test() -> None:
    sections = re.split(r"^## ", DOC.read_text("utf-8"), flags=re.M)[1:]
    for section in sections:
        title = section.splitlines()[0]
        if title.startswith("Who is who"):
            continue
        assert "`tests/" in section, title
