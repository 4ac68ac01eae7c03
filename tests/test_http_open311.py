"""Open311 GeoReport v2 over a real server: every resource in .json and .xml, checked
against JSON Schemas written from the spec (tests/open311_schemas.py); errors and
status codes as the spec says; no personal data of the requester in any answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import jsonschema
import pytest

from petitions import Actor, PetitionService
from tests import open311_schemas as schemas
from tests.fixtures import fresh_backend_url
from tests.http_support import Server, running_server

pytestmark = pytest.mark.slow

NAME_FIRST, NAME_LAST, PHONE = "秀英", "王", "13912345678"
EMAIL = "wang.xiuying@example.cn"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    gen = fresh_backend_url(request.param, tmp_path_factory.mktemp(request.param))
    store = next(gen)
    try:
        with running_server(store) as srv:
            yield srv
    finally:
        gen.close()


def _o311(server: Server) -> str:
    return f"{server.url}/open311/v2"


def _check(data: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(data, schema)


def _file(server: Server, **extra: str) -> httpx.Response:
    form = {"api_key": server.keys["wechat"], "service_code": "traffic",
            "lat": "29.5801", "long": "106.5712",
            "description": "观音桥路口早高峰拥堵，红绿灯时长不合理",
            "first_name": NAME_FIRST, "last_name": NAME_LAST, "phone": PHONE, "email": EMAIL,
            "attribute[community]": "保税商厦社区", "attribute[grid]": "3",
            "attribute[channel]": "online", **extra}
    return httpx.post(f"{_o311(server)}/requests.json", data=form)


def _no_personal_data(text: str) -> None:
    for secret in (NAME_FIRST, NAME_LAST + NAME_FIRST, PHONE, PHONE[-4:], PHONE[:3] + "****",
                   EMAIL, "example.cn"):
        assert secret not in text, secret


def test_discovery_and_services_in_json_and_xml(server: Server) -> None:
    r = httpx.get(f"{_o311(server)}/discovery.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    _check(r.json(), schemas.DISCOVERY)
    assert r.json()["endpoints"][0]["url"].endswith("/open311/v2")
    xml = ET.fromstring(httpx.get(f"{_o311(server)}/discovery.xml").content)
    assert xml.tag == "discovery" and xml.find("endpoints/endpoint/formats/format") is not None

    zh = httpx.get(f"{_o311(server)}/services.json").json()
    _check(zh, schemas.SERVICES)
    traffic = next(s for s in zh if s["service_code"] == "traffic")
    assert traffic["service_name"] == "交通拥堵" and traffic["metadata"] is True
    en = httpx.get(f"{_o311(server)}/services.json", params={"locale": "en"}).json()
    assert next(s for s in en if s["service_code"] == "traffic")["service_name"] == \
        "Traffic and parking"
    by_header = httpx.get(f"{_o311(server)}/services.xml",
                          headers={"Accept-Language": "en-US,en;q=0.9"})
    assert by_header.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(by_header.content)
    assert root.tag == "services"
    names = {s.findtext("service_code"): s.findtext("service_name") for s in root}
    assert names["traffic"] == "Traffic and parking" and len(names) == len(zh)


def test_service_definition(server: Server) -> None:
    _file(server, description="小区门口占道经营")
    r = httpx.get(f"{_o311(server)}/services/traffic.json")
    _check(r.json(), schemas.SERVICE_DEFINITION)
    attrs = {a["code"]: a for a in r.json()["attributes"]}
    assert set(attrs) == {"matter_type", "channel", "community", "grid", "type", "urgency"}
    assert {v["key"] for v in attrs["type"]["values"]} == {
        "consultation", "help", "complaint", "report", "suggestion", "praise"}
    assert all(a["datatype"] == "singlevaluelist" for a in attrs.values())
    assert {"claim", "suggestion", "report"} <= {v["key"] for v in attrs["matter_type"]["values"]}
    assert "保税商厦社区" in {v["key"] for v in attrs["community"]["values"]}
    root = ET.fromstring(httpx.get(f"{_o311(server)}/services/traffic.xml").content)
    assert root.tag == "service_definition"
    assert len(root.findall("attributes/attribute")) == 6
    assert root.find("attributes/attribute/values/value/key") is not None
    missing = httpx.get(f"{_o311(server)}/services/nope.xml")
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).findtext("error/code") == "404"


def test_request_type_and_urgency_attributes(server: Server) -> None:
    """attribute[type] and attribute[urgency] file the request type and urgency;
    a report (举报) is 检举控告 as a matter type, so its reporter stays confidential."""
    r = _file(server, **{"attribute[type]": "report", "attribute[urgency]": "urgent"})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    ext = httpx.get(f"{_o311(server)}/requests/{rid}.json", params={"extensions": "true"})
    extended = ext.json()[0]["extended_attributes"]
    assert (extended["type"], extended["urgency"], extended["matter_type"]) == (
        "report", "urgent", "report")
    plain = _file(server, description="另一处拥堵")
    rid2 = plain.json()[0]["service_request_id"]
    ext2 = httpx.get(f"{_o311(server)}/requests/{rid2}.json", params={"extensions": "true"})
    assert (ext2.json()[0]["extended_attributes"]["type"],
            ext2.json()[0]["extended_attributes"]["matter_type"]) == ("complaint", "claim")
    bad = _file(server, **{"attribute[type]": "gossip"})
    assert bad.status_code in (400, 422), bad.text


def test_post_request_then_read_it_in_both_formats(server: Server) -> None:
    r = _file(server)
    assert r.status_code == 201, r.text
    _check(r.json(), schemas.POST_ANSWER)
    rid = r.json()[0]["service_request_id"]
    assert re.fullmatch(r"\d{4}-\d{6}", rid), rid  # the work-order number (工单号)
    _no_personal_data(r.text)

    one = httpx.get(f"{_o311(server)}/requests/{rid}.json")
    _check(one.json(), schemas.REQUESTS)
    req = one.json()[0]
    assert req["service_request_id"] == rid and req["status"] == "open"
    assert req["service_code"] == "traffic" and req["service_name"] == "交通拥堵"
    assert (req["lat"], req["long"]) == ("29.5801", "106.5712")
    assert "保税商厦社区" in req["address"] and "@" not in req["address"]
    assert req["requested_datetime"].endswith("+08:00")
    assert req["expected_datetime"]  # the intake clock runs
    _no_personal_data(one.text)

    ext = httpx.get(f"{_o311(server)}/requests/{rid}.json", params={"extensions": "true"})
    _check(ext.json(), schemas.REQUESTS_EXTENDED)
    assert ext.json()[0]["extended_attributes"]["detailed_status"] == "INTAKE"
    assert ext.json()[0]["notes"][0]["type"] == "Filed"
    _no_personal_data(ext.text)

    xml = httpx.get(f"{_o311(server)}/requests/{rid}.xml", params={"extensions": "true"})
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == rid
    assert root.findtext("request/status") == "open"
    assert root.find("request/notes/note") is not None
    _no_personal_data(xml.text)

    # The petitioner is sealed in the store, with the data given.
    svc = PetitionService.open(server.store)
    try:
        view = svc.get(rid, viewer=Actor("s", "supervisor"), reveal=True)
        assert view.petitioner.name == NAME_LAST + NAME_FIRST
        assert view.petitioner.phone == PHONE
        assert view.petitioner.email == EMAIL  # sealed, opened on reveal
        masked = svc.get(rid, viewer=Actor("s", "supervisor")).petitioner
        assert masked.email == "w***@example.cn" and masked.phone == "139****5678"
        assert view.channel == "online" and view.location.grid == "3"
        # Coordinates come back as lat/long in the list too, and in XML.
        listed = httpx.get(f"{_o311(server)}/requests.json",
                           params={"service_request_id": rid}).json()
        assert (listed[0]["lat"], listed[0]["long"]) == ("29.5801", "106.5712")
        root = ET.fromstring(httpx.get(f"{_o311(server)}/requests/{rid}.xml").content)
        assert (root.findtext("request/lat"), root.findtext("request/long")) == (
            "29.5801", "106.5712")
        bad = _file(server, email="not an address")
        assert bad.status_code == 400 and "email" in bad.text
    finally:
        svc.shutdown()


def test_posting_the_same_request_again_files_nothing_new(server: Server) -> None:
    first = _file(server, description="同一请求重复提交")
    second = _file(server, description="同一请求重复提交")
    assert first.status_code == second.status_code == 201
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]
    listed = httpx.get(f"{_o311(server)}/requests.json").json()
    ids = [r["service_request_id"] for r in listed if r["description"] == "同一请求重复提交"]
    assert ids == [first.json()[0]["service_request_id"]]


def test_get_requests_filters_and_pages(server: Server) -> None:
    a = _file(server, description="filter-a", service_code="environment").json()[0]
    b = _file(server, description="filter-b", service_code="environment").json()[0]
    base = f"{_o311(server)}/requests.json"
    rows = httpx.get(base, params={"service_code": "environment"}).json()
    _check(rows, schemas.REQUESTS)
    assert {r["service_code"] for r in rows} == {"environment"}
    assert {a["service_request_id"], b["service_request_id"]} <= \
        {r["service_request_id"] for r in rows}
    both = httpx.get(base, params={"service_request_id": ",".join(
        [a["service_request_id"], b["service_request_id"]])}).json()
    assert [r["service_request_id"] for r in both] == [a["service_request_id"],
                                                        b["service_request_id"]]
    assert httpx.get(base, params={"status": "closed", "service_code": "environment"}
                     ).json() == []
    page1 = httpx.get(base, params={"page_size": "1", "page": "1"}).json()
    page2 = httpx.get(base, params={"page_size": "1", "page": "2"}).json()
    assert len(page1) == len(page2) == 1 and page1 != page2
    future = httpx.get(base, params={"start_date": "2030-01-01T00:00:00+08:00"}).json()
    assert future == []
    recent = httpx.get(base, params={"updated_after": "2020-01-01T00:00:00Z"}).json()
    assert len(recent) >= 2
    assert httpx.get(base, params={"start_date": "2022-01-01T00:00:00Z",
                                   "end_date": "2022-12-31T00:00:00Z"}).status_code == 400
    xml = httpx.get(f"{_o311(server)}/requests.xml", params={"service_code": "environment"})
    assert {e.findtext("service_code") for e in ET.fromstring(xml.content)} == {"environment"}


def test_updates_follow_the_change_feed(server: Server) -> None:
    rid = _file(server, description="updates").json()[0]["service_request_id"]
    desk = server.bearer("desk")
    assert httpx.post(f"{server.url}/api/v1/petitions/{rid}/accept", json={},
                      headers=desk).status_code == 200
    r = httpx.get(f"{_o311(server)}/servicerequestupdates.json",
                  params={"start_date": "2020-01-01T00:00:00Z"})
    _check(r.json(), schemas.UPDATES)
    mine = [u for u in r.json() if u["service_request_id"] == rid]
    assert [u["status"] for u in mine] == ["open", "investigating"]
    positions = [int(u["update_id"]) for u in r.json()]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    later = httpx.get(f"{_o311(server)}/servicerequestupdates.json",
                      params={"after": str(int(mine[0]["update_id"]))}).json()
    assert next(u["update_id"] for u in later) == mine[1]["update_id"]
    root = ET.fromstring(httpx.get(f"{_o311(server)}/servicerequestupdates.xml").content)
    assert root.tag == "service_request_updates" and root.find("request_update") is not None
    _no_personal_data(r.text)


@pytest.mark.parametrize(("form", "status"), [
    ({"service_code": "traffic", "address_string": "x"}, 403),                 # no key
    ({"api_key": "pk_wrong", "service_code": "traffic", "address_string": "x"}, 403),
    ({"api_key": "@gone", "service_code": "traffic", "address_string": "x"}, 403),
    ({"api_key": "@audit", "service_code": "traffic", "address_string": "x"}, 403),
    ({"api_key": "@wechat", "address_string": "x"}, 400),                       # no service
    ({"api_key": "@wechat", "service_code": "nope", "address_string": "x"}, 404),
    ({"api_key": "@wechat", "service_code": "traffic"}, 400),                  # no location
    ({"api_key": "@wechat", "service_code": "traffic", "lat": "29"}, 400),
    ({"api_key": "@wechat", "service_code": "traffic", "lat": "999", "long": "1"}, 400),
    ({"api_key": "@wechat", "service_code": "traffic", "address_string": "x",
      "description": "长" * 4001}, 400),
    ({"api_key": "@wechat", "service_code": "traffic", "address_string": "x",
      "attribute[color]": "red"}, 400),
    ({"api_key": "@wechat", "service_code": "traffic", "address_string": "x",
      "attribute[channel]": "pigeon"}, 400),
])
def test_errors_in_the_spec_format(server: Server, form: dict[str, str], status: int) -> None:
    form = {k: server.keys[v[1:]] if v.startswith("@") else v for k, v in form.items()}
    r = httpx.post(f"{_o311(server)}/requests.json", data=form)
    assert r.status_code == status, r.text
    _check(r.json(), schemas.ERRORS)
    assert r.json()[0]["code"] == status
    x = httpx.post(f"{_o311(server)}/requests.xml", data=form)
    root = ET.fromstring(x.content)
    assert x.status_code == status and root.tag == "errors"
    assert root.findtext("error/code") == str(status) and root.findtext("error/description")


def test_reads_refuse_bad_keys_and_unknown_things(server: Server) -> None:
    base = _o311(server)
    assert httpx.get(f"{base}/requests.json", params={"api_key": "pk_wrong"}).status_code == 403
    assert httpx.get(f"{base}/services.json",
                     params={"api_key": server.keys["gone"]}).status_code == 403
    assert httpx.get(f"{base}/services.json",
                     params={"api_key": server.keys["audit"]}).status_code == 200
    for path in ("requests/00000000-0000-0000-0000-000000000000.json", "requests/nope.xml",
                 "nothing.json", "services.html"):
        r = httpx.get(f"{base}/{path}")
        assert r.status_code == 404, path
        if path.endswith(".json"):
            _check(r.json(), schemas.ERRORS)
    bad = httpx.get(f"{base}/requests.json", params={"status": "pending"})
    assert bad.status_code == 400 and json.loads(bad.text)[0]["code"] == 400
    assert httpx.get(f"{base}/requests.json", params={"page_size": "0"}).status_code == 400
