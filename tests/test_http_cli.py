"""``petitions api-key`` and ``petitions serve`` on the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import cli
from petitions.core import Store
from petitions.http import keys as keys_module
from petitions.http.keys import KeyRefused, authenticate, key_hash
from tests.test_cli import ENV_CLEAR


def _run(*argv: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, list(argv), env=ENV_CLEAR)
    return result.exit_code, result.stdout, result.stderr


def test_api_keys_created_listed_revoked(backend_url: str) -> None:
    db = ("--db", backend_url, "--actor", "admin-01")
    code, out, err = _run(*db, "api-key", "create", "--name", "wechat", "--role", "portal",
                          "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["name"] == "wechat" and made["key"].startswith("pk_")
    code, plain, _ = _run(*db, "api-key", "create", "--name", "desk", "--role", "caseworker",
                          "--unit", "寸滩街道")
    assert code == 0 and plain.strip().startswith("pk_")
    store = Store(url=backend_url)
    try:
        # Only the hash is stored: the key is in no stored event.
        stored = b"".join(n.state for n in store.recorder.select_notifications(
            start=1, limit=1000))
        assert made["key"].encode() not in stored
        ring = store.repository.get(keys_module.RING_ID)
        assert ring.keys["wechat"]["hash"] == key_hash(made["key"])
        assert authenticate(store, made["key"]).actor.role == "portal"
        assert authenticate(store, plain.strip()).unit == "寸滩街道"
    finally:
        store.close()
    code, listed, _ = _run(*db, "--json", "api-key", "list")
    rows = {r["name"]: r for r in json.loads(listed)}
    assert set(rows) == {"wechat", "desk"} and rows["desk"]["created_by"] == "admin-01"
    assert made["key"] not in listed
    code, _, _ = _run(*db, "api-key", "revoke", "wechat")
    assert code == 0
    store = Store(url=backend_url)
    try:
        with pytest.raises(KeyRefused, match="revoked"):
            authenticate(store, made["key"])
        with pytest.raises(KeyRefused, match="unknown"):
            authenticate(store, "pk_nothing")
    finally:
        store.close()
    code, listed, _ = _run(*db, "--json", "api-key", "list")
    assert {r["name"]: r["revoked_at"] is not None for r in json.loads(listed)} == {
        "wechat": True, "desk": False}


@pytest.mark.parametrize(("argv", "needle"), [
    (("api-key", "create", "--name", "wechat", "--role", "portal"), "exists already"),
    (("api-key", "create", "--name", "x", "--role", "king"), "king"),
    (("api-key", "create", "--name", "two words", "--role", "portal"), "name"),
    (("api-key", "revoke", "nobody"), "nobody"),
    (("--role", "auditor", "api-key", "create", "--name", "y", "--role", "portal"),
     "auditor"),
])
def test_refused_key_commands_say_why_in_one_line(tmp_path: object, argv: tuple[str, ...],
                                                  needle: str) -> None:
    db = str(tmp_path) + "/p.sqlite"
    assert _run("--db", db, "--actor", "a", "api-key", "create", "--name", "wechat",
                "--role", "portal")[0] == 0
    code, _, err = _run("--db", db, "--actor", "a", *argv)
    assert code == 1 and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_serve_without_the_http_extra_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import petitions.http

    monkeypatch.setattr(petitions.http, "available", lambda: False)
    code, _, err = _run("--db", str(tmp_path) + "/p.sqlite", "--lang", "en", "serve")
    assert code == 1
    assert err.strip() == "petitions: the HTTP server needs the http extra: " \
                          "pip install 'petitions[http]'"
    assert keys_module.PREFIX == "pk_"
