"""The import's line parser (issue 18, point 4): a line whose values all have
their types is decoded by msgspec into the same filing the key-by-key parser
makes; every other line is parsed key by key, which names what is wrong — so
each line is accepted, refused and reported exactly as before."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import petitions.importer as importer
from petitions.domain.values import Actor
from petitions.errors import InvalidInput, PetitionError
from tests.test_import import filing

OPERATOR = Actor("op-1", "intake_clerk")

#: Values put in each place of a line: every JSON type, empty and not, text
#: that no filing can hold (a lone surrogate), odd numbers.
VALUES: list[Any] = [None, 0, 1, -1.5, True, False, "", " ", "x", " 寸滩 ", "\ud800", [], [1],
                     ["x"], {}, {"name": "x"}, {"id": "a", "role": "b"},
                     "6e1c3e0a-3f2b-4a8e-9a4e-0b9c1f1d2e3f", "not-a-uuid",
                     "2022-06-06T09:30:00+08:00", "2022-06-06", "yesterday",
                     {"street": "寸滩街道", "address": "x"}, 2**70]


def full_line() -> dict[str, Any]:
    """A line with every key a line may have."""
    return filing(1, workflow="standard", matter_type="claim", source=" wechat ",
                  actor={"id": "portal-wechat", "role": "portal", "more": [1, {"x": None}]},
                  campaign_id="6e1c3e0a-3f2b-4a8e-9a4e-0b9c1f1d2e3f",
                  petitioner={"kind": "collective", "name": "业主", "phone": "13900000001",
                              "id_number": "", "address": "茅溪小区", "email": "a@b.cn",
                              "id": "", "representatives": [
                                  {"name": "刘先生", "phone": "139", "other": 1}]},
                  location={"street": "寸滩街道", "community": "保税商厦社区", "grid": "7",
                            "place": "3栋", "address": "茅溪小区"})


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``value`` (keys of objects, indexes of lists)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths(inner, (*prefix, i))
    return found


def put(line: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(line)
    inner = out
    for step in path[:-1]:
        inner = inner[step]
    inner[path[-1]] = value
    return out


def drop(line: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(line)
    inner = out
    for step in path[:-1]:
        inner = inner[step]
    del inner[path[-1]]
    return out


def outcome(parse: Any, text: str) -> tuple[str, Any]:
    """What ``parse`` makes of ``text``: the filing's line and arguments, or
    its error's class and message (as the import reports them)."""
    try:
        made = parse(3, text, OPERATOR)
    except PetitionError as exc:
        return type(exc).__name__, str(exc)
    except (TypeError, ValueError) as exc:
        return "malformed", str(exc)
    return "filed", (made.line, made.kwargs, made.value)


def variants() -> list[str]:
    """Lines: the full one, each place given each value or left out, unknown
    keys at each level, and lines that are not objects or not JSON."""
    lines: list[Any] = [full_line(), filing(2), filing(3, location=None)]
    base = full_line()
    for path in paths(base):
        lines.append(drop(base, path))
        lines += [put(base, path, v) for v in VALUES]
    for path in [(), ("petitioner",), ("location",), ("actor",),
                 ("petitioner", "representatives", 0)]:
        lines.append(put(base, (*path, "unknown"), "x"))
    texts = [json.dumps(x, ensure_ascii=False) for x in lines]
    texts += [json.dumps(x) for x in lines[:3]]  # escaped as \\uXXXX
    good = texts[0]
    texts += ["", "   ", "[]", "null", "1", '"text"', good[:-1], good + " x", good + "  ",
              "\t" + good, good.replace('"title"', '"title","title":""', 1),
              good.replace('"title": ', '"title": "", "title": ', 1),
              good.replace('"title": ', '"title": 5, "title": ', 1),
              good.replace('"source": " wechat "', '"source": "\\ud83d\\ude00"'),
              good.replace('"grid": "7"', '"grid": NaN'),
              '{"idempotency_key": "k", "title": "t"', "{" + "[" * 5]
    return texts


@pytest.mark.parametrize("text", variants())
def test_a_line_is_parsed_as_the_key_by_key_parser_parses_it(text: str) -> None:
    assert outcome(importer.parse_line, text) == outcome(importer._parse_line, text)


def test_the_variants_reach_both_parsers() -> None:
    # The decoder takes the good lines and leaves the faulty ones to the
    # key-by-key parser (so the comparison above compares both ways).
    texts = variants()
    typed = [t for t in texts if importer._parse_typed(3, t, OPERATOR) is not None]
    assert len(texts) > 500
    assert 40 < len(typed) < len(texts) - 300
    assert outcome(importer.parse_line, texts[0])[0] == "filed"
    made = importer.parse_line(3, texts[0], OPERATOR).kwargs
    assert made["petitioner"].address == "茅溪小区" and made["location"].grid == "7"
    assert made["source"] == "wechat; portal-wechat (portal)"
    assert made["petitioner"].representatives[0].phone == "139"


#: Texts a petitioner's or a place's field may be given: fine, too long (by
#: characters: ASCII, Chinese), not UTF-8, not text.
TEXTS: list[Any] = ["", "x", "刘先生", "x" * 1000, "x" * 1001, "茅" * 1000, "茅" * 1001,
                    "\ud800", "a\udfffb", None, 5, b"x", ["x"]]


def refusal(make: Any) -> str | None:
    try:
        make()
    except PetitionError as exc:
        return str(exc)
    return None


def one_by_one(fields: list[tuple[str, Any]]) -> str | None:
    """The first refusal of ``checked_text`` of each field in turn."""
    from petitions.errors import checked_text

    for field, value in fields:
        found = refusal(lambda f=field, v=value: checked_text(f, v))
        if found is not None:
            return found
    return None


def test_a_filing_value_refuses_its_texts_as_each_checked_in_turn_would() -> None:
    # The validators test a petitioner's and a place's texts at once and
    # name the first refused one by one: the same refusal, the same field.
    from petitions.domain.filing import Filing as FilingValue
    from petitions.domain.values import Location, Petitioner

    names = ("kind", "name", "phone", "id_number", "address", "id")
    places = ("street", "community", "grid", "place")
    seen = set()
    for i, value in enumerate(TEXTS):
        for j, other in enumerate(TEXTS):
            for name in names:
                values = dict.fromkeys(names, "")
                values[name] = value
                values[names[(names.index(name) + 1 + j) % len(names)]] = other
                who = Petitioner(**values)
                found = refusal(lambda w=who: FilingValue(
                    actor=OPERATOR, petitioner=w, title="t", category="c", channel="h",
                    description="d"))
                assert found == one_by_one([(f"petitioner.{n}", values[n]) for n in names])
                seen.add(found)
            if i % 3 == 0:
                for name in places:
                    at = dict.fromkeys(places, "")
                    at[name] = value
                    at[places[(places.index(name) + 1 + j) % len(places)]] = other
                    found = refusal(lambda a=at: FilingValue(
                        actor=OPERATOR, petitioner=Petitioner(kind="resident", name="x"),
                        location=Location(**a), title="t", category="c", channel="h",
                        description="d"))
                    assert found == one_by_one([(n, at[n]) for n in places])
    assert None in seen and len(seen) > 15  # both fine and refused values were given


def test_the_collector_runs_less_often_during_an_import_and_as_before_after() -> None:
    import gc
    import threading

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        # Blocks of two threads: the first to end leaves the other's threshold.
        entered, leave = threading.Event(), threading.Event()

        def other() -> None:
            with importer.fewer_collections():
                entered.set()
                leave.wait(10)

        thread = threading.Thread(target=other)
        with importer.fewer_collections():
            assert gc.get_threshold() == (importer.GC_THRESHOLD, 10, 10)
            thread.start()
            assert entered.wait(10)
        assert gc.get_threshold() == (importer.GC_THRESHOLD, 10, 10)
        leave.set()
        thread.join()
        assert gc.get_threshold() == (700, 10, 10)
        # Thresholds changed meanwhile are kept; turned off, collection stays off.
        with importer.fewer_collections():
            gc.set_threshold(500, 5, 5)
        assert gc.get_threshold() == (500, 5, 5)
        gc.set_threshold(0, 10, 10)
        with importer.fewer_collections():
            assert gc.get_threshold() == (0, 10, 10)
        assert gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*before)
    assert importer._gc_users == 0


def test_the_worker_decides_with_fewer_collections_and_sets_them_back(
        service: Any, tmp_path: Any) -> None:
    import gc

    from tests.test_import import write_lines

    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(5)])
    spec = importer.worker_spec(service, path, OPERATOR, None, 2)
    assert spec is not None
    before = gc.get_threshold()
    seen = []
    for batch in importer.decide_file(spec):
        assert batch is not None
        seen.append((len(batch[1]), gc.get_threshold()[0]))  # (handover, items)
    assert seen == [(2, max(before[0], importer.GC_THRESHOLD))] * 2 + [
        (1, max(before[0], importer.GC_THRESHOLD))]
    assert gc.get_threshold() == before


def test_an_import_runs_with_fewer_collections_and_sets_them_back(
        service: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from tests.test_import import write_lines

    path = write_lines(tmp_path / "in.jsonl", [filing(n) for n in range(3)])
    before = gc.get_threshold()
    seen: list[int] = []
    file_batch = service.file_batch

    def spy(filings: Any) -> Any:
        seen.append(gc.get_threshold()[0])
        return file_batch(filings)

    monkeypatch.setattr(service, "file_batch", spy)
    assert importer.import_filings(service, path, actor=OPERATOR).imported == 3
    assert seen == [max(before[0], importer.GC_THRESHOLD)]
    assert gc.get_threshold() == before


def test_a_line_with_a_number_of_too_many_digits_or_a_control_character_says_so_plainly(
        ) -> None:
    huge = '{"idempotency_key": 1' + "0" * 5000 + ', "title": "x"}'
    with pytest.raises(InvalidInput) as found:
        importer.parse_line(1, huge)
    assert str(found.value) == "JSON: not valid (a number with too many digits)"
    with pytest.raises(InvalidInput) as found:
        importer.parse_line(1, '{"title": "a\x01b"}')
    assert "control character at column" in str(found.value)
    assert " at at " not in str(found.value)
