"""The unit register (org load / org show), unit resolution and roll-ups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from petitions import Actor, PetitionService
from petitions.errors import InvalidInput, PermissionDenied
from petitions.org import LEVELS, Register, RegisterError, parse_register
from tests.fixtures import file_petition

DATA = Path(__file__).resolve().parent.parent / "petitions" / "data" / "jiangbei_register.toml"
ADMIN = Actor("admin-he", "administrator")

SMALL = """
[[units]]
code = "JB"
name_zh = "江北区"
name_en = "Jiangbei District"
level = "district"

[[units]]
code = "CT"
name_zh = "寸滩街道"
name_en = "Cuntan Subdistrict"
level = "street"
parent = "JB"

[[units]]
code = "CT-BSSS"
name_zh = "保税商厦社区"
level = "community"
parent = "CT"

[[people]]
id = "p1"
name = "胡安庆"
unit = "CT"
roles = ["grid_worker"]

[[liaisons]]
kind = "enterprise_department"
target = "西南证券"
unit = "CT"
"""


def test_seed_register_is_valid_and_cites_the_report() -> None:
    register = parse_register(DATA)
    assert {u.level for u in register.units} <= set(LEVELS)
    assert all(u.source.startswith("report line") for u in register.units)
    tsp = register.find("铁山坪街道")
    assert tsp is not None
    grids = [u for u in register.children(tsp.code) if u.level == "grid"]
    assert len(grids) == 7  # report line 71: 7 communities, 7 large grids
    assert [p.name for p in register.people] == ["胡安庆"]  # the only one named
    targets = {li.target: li.unit for li in register.liaisons}
    assert targets["西南证券"] == "JBC" and targets["韩泰轮胎"] == "YZ"
    assert register.street_of("保税商厦社区").name_zh == "寸滩街道"  # type: ignore[union-attr]


def test_problems_are_reported_all_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[[units]]
code = "A"
name_zh = "甲"
level = "planet"
parent = "Z"

[[units]]
code = "A"
name_zh = "乙"
level = "street"

[[people]]
id = "p"
name = "某"
unit = "Q"

[[liaisons]]
kind = "enterprise_department"
target = "某企业"
""", encoding="utf-8")
    with pytest.raises(RegisterError) as err:
        parse_register(bad)
    text = str(err.value)
    for part in ("planet", "parent Z", "appears twice", "unit Q", "name a unit or a person"):
        assert part in text


def test_csv_register(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("type,code,name_zh,name_en,level,parent,id,name,unit,roles,kind,target\n"
                    "unit,JB,江北区,Jiangbei,district,,,,,,,\n"
                    "unit,CT,寸滩街道,Cuntan,street,JB,,,,,,\n"
                    "person,,,,,,p1,某人,CT,grid_worker;caseworker,,\n"
                    "liaison,,,,,,,,CT,,enterprise_cadre,某企业\n", encoding="utf-8")
    register = parse_register(path)
    assert [u.code for u in register.units] == ["JB", "CT"]
    assert register.people[0].roles == ("grid_worker", "caseworker")
    assert register.liaisons[0].kind == "enterprise_cadre"


def test_load_resolve_and_roll_up(service: PetitionService, tmp_path: Path, clerk: Actor,
                                  worker: Actor) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SMALL, encoding="utf-8")
    with pytest.raises(PermissionDenied):
        service.load_register(path, actor=worker)
    register, changed = service.load_register(path, actor=ADMIN)
    assert changed and len(register.units) == 3
    assert service.load_register(path, actor=ADMIN)[1] is False  # unchanged: nothing recorded
    assert service.register() == register
    a = file_petition(service, clerk)
    b = file_petition(service, clerk, title="另一件")
    service.accept(a, actor=worker)
    service.accept(b, actor=worker)
    # A code or an exact name; the Chinese name is recorded.
    assert service.assign(a, actor=worker, unit="CT-BSSS", person="张").lead_unit == "保税商厦社区"
    assert service.assign(b, actor=worker, unit="Cuntan Subdistrict", person="李").lead_unit \
        == "寸滩街道"
    c = file_petition(service, clerk, title="第三件")
    service.accept(c, actor=worker)
    with pytest.raises(InvalidInput) as err:
        service.assign(c, actor=worker, unit="寸滩街", person="王")
    assert err.value.params["close"].startswith("寸滩街道")
    loads = {u: (o, cl) for u, o, cl in service.unit_caseload()}
    assert loads["保税商厦社区"] == (1, 0)
    assert loads["寸滩街道"] == (2, 0)  # its own and its community's
    assert loads["江北区"] == (2, 0)
    assert {u: o for u, o, _ in service.unit_caseload(rollup=False)} == \
        {"保税商厦社区": 1, "寸滩街道": 1}


def test_rates_roll_up(service: PetitionService, tmp_path: Path, clerk: Actor,
                       worker: Actor) -> None:
    path = tmp_path / "r.toml"
    path.write_text(SMALL, encoding="utf-8")
    service.load_register(path, actor=ADMIN)
    for unit, rating in (("CT-BSSS", "satisfied"), ("CT", "unsatisfied")):
        pid = file_petition(service, clerk, title=f"件 {unit}")
        service.accept(pid, actor=worker)
        service.assign(pid, actor=worker, unit=unit, person="张")
        service.reply(pid, actor=worker, outcome="support", text="已办")
        service.resolve(pid, actor=worker)
        service.callback(pid, actor=Actor("hotline", "intake_clerk"), contacted=True,
                         resolved=True, rating=rating)
    groups = {g.group: g for g in service.stats("unit")}
    assert groups["保税商厦社区"].valid == 1 and groups["保税商厦社区"].satisfaction_rate == 1.0
    assert groups["寸滩街道"].valid == 2 and groups["寸滩街道"].satisfaction_rate == 0.5
    assert groups["江北区"].valid == 2
    flat = {g.group for g in service.stats("unit", rollup=False)}
    assert flat == {"保税商厦社区", "寸滩街道"}


def test_register_round_trip_and_sha() -> None:
    register = parse_register(DATA)
    again = Register.from_data(register.to_data())
    assert again == register and again.sha256() == register.sha256()


def test_cli_org(tmp_path: Path) -> None:
    db = str(tmp_path / "o.sqlite")
    run = CliRunner().invoke
    base = ["--db", db, "--actor", "admin", "--role", "administrator"]
    none = run(main, [*base, "org", "show"])
    assert none.exit_code == 1 and "org load" in none.output
    loaded = run(main, [*base, "--lang", "en", "org", "load", str(DATA)])
    assert loaded.exit_code == 0 and "1 people" in loaded.output, loaded.output
    again = run(main, [*base, "--lang", "en", "org", "load", str(DATA)])
    assert "unchanged" in again.output
    units = json.loads(run(main, [*base, "--json", "org", "show"]).output)
    assert {u["code"] for u in units} >= {"JB", "TSP", "JBC", "YZ"}
    one = json.loads(run(main, [*base, "--json", "org", "show", "铁山坪街道网格服务队"]).output)
    assert one[0]["people"][0]["name"] == "胡安庆"
    jbc = json.loads(run(main, [*base, "--json", "org", "show", "JBC"]).output)
    assert jbc[0]["liaisons"][0]["target"] == "西南证券"
    unknown = run(main, [*base, "--lang", "en", "org", "show", "铁山平街道"])
    assert unknown.exit_code == 1 and "铁山坪街道" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1
    zh = run(main, [*base, "--lang", "zh", "org", "show", "TSP"])
    assert zh.exit_code == 0 and "街道" in zh.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[[units]]\ncode='A'\n", encoding="utf-8")
    broken = run(main, [*base, "org", "load", str(bad)])
    assert broken.exit_code == 1 and "Traceback" not in broken.output
    missing = run(main, [*base, "org", "load", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_cli_rank(tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite")
    with PetitionService.open(db) as svc:
        worker, hotline = Actor("li", "caseworker"), Actor("hotline", "intake_clerk")
        for street, rating in (("寸滩街道", "satisfied"), ("华新街街道", "unsatisfied")):
            pid = file_petition(svc, hotline, title=street,
                                location=__import__("petitions").Location(street=street))
            svc.accept(pid, actor=worker)
            svc.assign(pid, actor=worker, unit=street, person="张")
            svc.sign(pid, actor=worker)  # 签收 and 先行联系 in time: responded to
            svc.contact(pid, actor=worker)
            svc.reply(pid, actor=worker, outcome="support", text="已办")
            svc.resolve(pid, actor=worker)
            svc.callback(pid, actor=hotline, contacted=True, resolved=True, rating=rating)
    run = CliRunner().invoke
    out = run(main, ["--db", db, "--json", "rank", "--by", "street"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert set(rows[0]) == {"group", "valid", "response_rate", "resolution_rate",
                                          "satisfaction_rate", "score", "rank",
                                          # supervision of the group's orders
                                          "reminders", "escalations", "escalation_levels",
                                          "returns"}
    assert [(r["group"], r["rank"]) for r in rows] == [("寸滩街道", 1), ("华新街街道", 2)]
    assert rows[0]["score"] == 1.0 and rows[1]["score"] == 0.65
    text = run(main, ["--db", db, "--lang", "zh", "rank", "--by", "unit",
                      "--from", "2000-01-01", "--to", "2000-01-02"])
    assert text.exit_code == 0 and "寸滩街道" not in text.output
    bad = run(main, ["--db", db, "rank", "--by", "grid"])
    assert bad.exit_code == 2
