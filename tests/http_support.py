"""A real ``petitions serve`` (uvicorn) on 127.0.0.1, on a free port, for the HTTP tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from petitions.core import Store
from petitions.domain.values import Actor
from petitions.http.keys import create_key

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Actor("admin-01", "administrator")
#: The keys every test server has: name → role.
KEY_ROLES = {"wechat": "portal", "desk": "caseworker", "boss": "supervisor",
             "audit": "auditor", "clerk": "intake_clerk", "gone": "portal"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """A running server: its base URL and the keys made for it (name → key)."""

    def __init__(self, url: str, store: str, keys: dict[str, str]) -> None:
        self.url = url
        self.store = store
        self.keys = keys

    def bearer(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


@contextmanager
def running_server(store: str) -> Iterator[Server]:
    """``petitions --db STORE serve`` in its own process, with the keys of
    :data:`KEY_ROLES` (``gone`` revoked), until the block ends."""
    from petitions.http.keys import revoke_key

    core = Store(url=store)
    try:
        keys = {name: create_key(core, actor=ADMIN, name=name, role=role)
                for name, role in KEY_ROLES.items()}
        revoke_key(core, actor=ADMIN, name="gone")
    finally:
        core.close()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The server's stderr goes to a file, never to a pipe nobody drains: a
    # chatty server (e.g. matplotlib warning of missing CJK glyphs) would fill
    # the pipe and block.
    log_path = os.environ.get("PETITIONS_TEST_SERVER_LOG")
    err_file = open(log_path, "ab") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "--db", store, "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err_file)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/open311/v2/discovery.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = f"see {log_path}"
                if not log_path:
                    err_file.seek(0)
                    err = err_file.read().decode(errors="replace")[-4000:]
                raise RuntimeError(f"the server did not start: {err}")
            time.sleep(0.1)
        yield Server(url, store, keys)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err_file.close()
