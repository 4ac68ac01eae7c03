"""The parsed-TOML cache (workflows.tomlcache): the same data as tomllib,
kept by the text's hash, never trusted when it does not match."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from workflows import tomlcache
from workflows.registry import shipped_texts

TEXT = 'name = "x"\nversion = 2\n[stages.intake]\nlabel = { zh = "受理", en = "Intake" }\n'


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(tomlcache.CACHE_ENV, str(folder))
    return folder


def test_the_cached_data_is_what_tomllib_parses(cache: Path) -> None:
    for _, text in shipped_texts():
        first = tomlcache.loads(text)   # parsed and written
        second = tomlcache.loads(text)  # read back
        assert first == second == tomllib.loads(text)
        assert repr(second) == repr(tomllib.loads(text))  # the same order, types
    assert len(list(cache.iterdir())) == len(shipped_texts())


def test_each_call_gets_its_own_copy(cache: Path) -> None:
    tomlcache.loads(TEXT)
    got = tomlcache.loads(TEXT)
    got["stages"]["intake"]["label"]["zh"] = "changed"
    assert tomlcache.loads(TEXT)["stages"]["intake"]["label"]["zh"] == "受理"


def test_a_file_that_does_not_match_its_name_is_parsed_anew(cache: Path) -> None:
    tomlcache.loads(TEXT)
    (path,) = cache.iterdir()
    other = 'name = "y"\nversion = 9\n'
    tomlcache.loads(other)
    stored_other = next(p for p in cache.iterdir() if p != path)
    path.write_bytes(stored_other.read_bytes())  # another text's data under this name
    assert tomlcache.loads(TEXT) == tomllib.loads(TEXT)
    path.write_bytes(b"\x00garbage")  # damaged
    assert tomlcache.loads(TEXT) == tomllib.loads(TEXT)
    assert tomlcache.loads(TEXT) == tomllib.loads(TEXT)  # and it was written again


def test_dates_are_not_cached_and_errors_are_tomllibs(cache: Path) -> None:
    dated = "day = 2026-12-02\n"
    assert tomlcache.loads(dated) == tomllib.loads(dated)
    assert not cache.exists() or not list(cache.iterdir())
    with pytest.raises(tomllib.TOMLDecodeError):
        tomlcache.loads("name = \n")


def test_switched_off_or_unwritable_it_parses(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(tomlcache.CACHE_ENV, "")
    assert tomlcache.cache_dir() is None
    assert tomlcache.loads(TEXT) == tomllib.loads(TEXT)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(tomlcache.CACHE_ENV, str(blocked / "cache"))
    assert tomlcache.loads(TEXT) == tomllib.loads(TEXT)
    monkeypatch.delenv(tomlcache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tomlcache.cache_dir() == os.path.join(str(tmp_path / "xdg"), "petitions")
