"""/dashboard on a real ``petitions serve``: the report, live, for staff keys only
(401 without a key or with an unknown one, 403 for a revoked key or a portal's),
filtered by query parameters, rendered by headless Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from petitions import PetitionService
from tests.http_support import Server, running_server
from tests.report_support import Tables, browse, fill

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = str(tmp_path_factory.mktemp("dash") / "d.sqlite")
    with PetitionService.open(store) as svc:
        fill(svc)
    with running_server(store) as srv:
        yield srv


def test_only_staff_keys_see_the_dashboard(server: Server) -> None:
    url = f"{server.url}/dashboard"
    assert httpx.get(url, timeout=60).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=60
                     ).status_code == 401
    assert httpx.get(url, params={"api_key": "nope"}, timeout=60).status_code == 401
    portal = httpx.get(url, headers=server.bearer("wechat"), timeout=60)
    assert portal.status_code == 403 and portal.json()["kind"] == "permission_denied"
    assert httpx.get(url, headers=server.bearer("gone"), timeout=60).status_code == 403
    for name in ("desk", "boss", "audit", "clerk"):
        ok = httpx.get(url, headers=server.bearer(name), timeout=120)
        assert ok.status_code == 200, (name, ok.text[:300])
        assert ok.headers["content-type"].startswith("text/html")
    # Read-only: nothing but GET.
    assert httpx.post(url, headers=server.bearer("boss"), timeout=60).status_code == 405


def test_the_dashboard_is_the_report_for_its_filters(server: Server) -> None:
    from click.testing import CliRunner

    from cli import main

    r = httpx.get(f"{server.url}/dashboard", timeout=120,
                  params={"api_key": server.keys["boss"], "by": "category",
                          "from": "2022-06-01", "to": "2022-06-30", "locale": "en"})
    assert r.status_code == 200, r.text[:300]
    payload = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                        r.text, re.S)
    assert payload is not None
    data = json.loads(payload.group(1))
    out = CliRunner().invoke(main, ["--db", server.store, "--json", "stats", "--by",
                                    "category", "--from", "2022-06-01", "--to", "2022-06-30"])
    assert out.exit_code == 0, out.output
    assert data["rates"] == json.loads(out.stdout)
    assert data["by"] == "category" and data["from"] == "2022-06-01"
    assert "Response rate" in r.text
    zh = httpx.get(f"{server.url}/dashboard", headers={**server.bearer("desk"),
                                                         "Accept-Language": "zh-CN"},
                   timeout=120)
    assert "响应率" in zh.text
    for bad in ({"by": "month"}, {"from": "2022-13-01"}, {"from": "2022-07-01",
                                                          "to": "2022-06-01"}):
        refused = httpx.get(f"{server.url}/dashboard", headers=server.bearer("boss"),
                            params=bad, timeout=60)
        assert refused.status_code == 422, (bad, refused.text[:300])


def test_the_dashboard_renders_in_chromium(server: Server, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    dom = browse(f"{server.url}/dashboard?api_key={server.keys['boss']}&by=unit",
                 tmp_path, shot)
    page = Tables(dom)
    rates = page.sections["rates"]
    assert rates["groups"] == 3  # the lead units with call-backs
    assert len(page.bars("rates")) == 3 * rates["groups"]
    assert len(page.bars("rank")) == page.sections["rank"]["groups"] > 0
    assert dom.count("<svg") == 6
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20000
