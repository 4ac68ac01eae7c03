"""Benchmark: Open311 over HTTP against the same library calls in-process.

    python bench/http.py [--requests N] [--clients C] [--db URL]

Starts ``petitions serve`` (uvicorn, one process) on 127.0.0.1 on a fresh
SQLite file (or the PostgreSQL ``--db`` given), makes a portal key, and in the
same run measures requests per second of

* ``GET /open311/v2/requests/{id}.json`` for N filed petitions, and
* ``POST /open311/v2/requests.json`` filing N new petitions,

from C client threads (httpx, keep-alive), and then the same work in-process:
the functions the handlers call (``open311.get_request`` / ``post_request`` and
the JSON rendering) on a ``PetitionService`` of its own, on the same kind of
store, one thread.  The ratio is HTTP rate / in-process rate.  The last line
printed is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``http`` package: keep its
# folder off the import path so that ``import http.client`` finds the real one.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import httpx  # noqa: E402

from petitions.core import Store  # noqa: E402
from petitions.domain.values import Actor  # noqa: E402
from petitions.http import open311  # noqa: E402
from petitions.http.keys import authenticate, create_key  # noqa: E402
from petitions.service import PetitionService  # noqa: E402

ADMIN = Actor("bench-admin", "administrator")


def _form(tag: str, i: int) -> dict[str, str]:
    return {"service_code": "traffic", "address_string": f"{tag} 观音桥 {i}号",
            "description": f"路灯不亮 {tag}-{i}", "first_name": "女士", "last_name": "王",
            "phone": "13800001234", "attribute[community]": "保税商厦社区"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rate(n: int, clients: int, work: Callable[[int], None]) -> float:
    """Requests per second of ``work(i)`` for i in range(n), over ``clients`` threads."""
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        try:
            for i in range(offset, n, clients):
                work(i)
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    n, clients = args.requests, args.clients
    tmp = Path(tempfile.mkdtemp(prefix="bench-http-"))
    http_db = args.db or str(tmp / "http.sqlite")
    local_db = args.db or str(tmp / "local.sqlite")
    try:
        store = Store(url=http_db)
        key = create_key(store, actor=ADMIN, name=f"bench-{time.time_ns()}", role="portal")
        store.close()
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "--db", http_db, "serve",
             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=None)
        base = f"http://127.0.0.1:{port}/open311/v2"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/discovery.json", timeout=2)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            http = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=clients))
            ids: list[str] = [""] * n

            def post(i: int) -> None:
                r = http.post(f"{base}/requests.json", data={"api_key": key,
                                                             **_form("http", i)})
                assert r.status_code == 201, r.text
                ids[i] = r.json()[0]["service_request_id"]

            def get(i: int) -> None:
                r = http.get(f"{base}/requests/{ids[i]}.json")
                assert r.status_code == 200, r.text

            http_post = _rate(n, clients, post)
            http_get = _rate(n, clients, get)
            http.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

        # The same calls in-process, on a service of its own.
        store = Store(url=local_db)
        local_key = authenticate(store, create_key(
            store, actor=ADMIN, name=f"bench-local-{time.time_ns()}", role="portal"))
        store.close()
        with PetitionService.open(local_db) as svc:
            local_ids: list[str] = [""] * n

            def local_post(i: int) -> None:
                form = {k: [v] for k, v in _form("local", i).items()}
                answer = open311.post_request(svc, local_key, form, "zh")
                open311.render("json", "service_requests", answer)
                local_ids[i] = answer[0]["service_request_id"]

            def local_get(i: int) -> None:
                open311.render("json", "service_requests",
                               open311.get_request(svc, local_ids[i], "zh"))

            lib_post = _rate(n, 1, local_post)
            lib_get = _rate(n, 1, local_get)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    backend = "postgresql" if http_db.startswith("postgres") else "sqlite"
    print(f"{backend}, {n} requests, {clients} HTTP clients (1 uvicorn process)")
    print(f"GET  requests/{{id}}: HTTP {http_get:8.1f}/s  in-process {lib_get:8.1f}/s  "
          f"ratio {http_get / lib_get:.2f}")
    print(f"POST requests:      HTTP {http_post:8.1f}/s  in-process {lib_post:8.1f}/s  "
          f"ratio {http_post / lib_post:.2f}")
    print(json.dumps({"backend": backend, "requests": n, "clients": clients,
                      "get_http_rps": round(http_get, 1), "get_lib_rps": round(lib_get, 1),
                      "get_ratio": round(http_get / lib_get, 3),
                      "post_http_rps": round(http_post, 1),
                      "post_lib_rps": round(lib_post, 1),
                      "post_ratio": round(http_post / lib_post, 3)}))


if __name__ == "__main__":
    main()
