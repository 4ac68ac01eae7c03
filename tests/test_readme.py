"""README's library example runs as written (in a scratch directory)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def library_example() -> str:
    text = README.read_text("utf-8")
    section = text[text.index("## Library example"):]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "README has no library example"
    return found.group(1)


def test_the_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(library_example(), "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert "['satisfied', 'basically_satisfied', 'unsatisfied']" in lines
    assert "closed resolved" in lines
    assert "办结 satisfied" in lines
    assert "138****1234" in lines
    assert (tmp_path / "petitions.sqlite").exists()
