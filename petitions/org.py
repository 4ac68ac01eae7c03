"""The unit register (组织架构): units, people and liaison assignments (包联).

A register file is TOML or CSV.  TOML::

    [[units]]
    code = "JBC"                  # unique
    name_zh = "江北城街道"          # unique among units
    name_en = "Jiangbeicheng Subdistrict"
    level = "street"              # district, street, community, grid,
                                  # department, enterprise_liaison
    parent = "JB"                 # a unit code ('' for the top)

    [[people]]
    id = "hu-anqing"
    name = "胡安庆"
    unit = "TSP"                  # a unit code
    roles = ["grid_worker"]

    [[liaisons]]                  # 包联
    kind = "enterprise_department"   # building_leader (班子包楼宇),
                                     # enterprise_department (科室包企业),
                                     # enterprise_cadre (干部一对一)
    target = "西南证券"             # the building or enterprise
    unit = "JBC"                  # the unit that holds it (and/or)
    person = ""                   # the person who holds it

Any entry may carry ``source`` (where it comes from).  CSV: one row per
entry, a ``type`` column (``unit``, ``person``, ``liaison``) and the columns
above; ``roles`` separated by ``;``.

With a register loaded, ``assign``/``transfer`` take a unit's code or exact
name and record its Chinese name; an unknown unit is refused, naming close
matches.  Caseloads and rates roll up: a street counts its communities' and
grids' cases.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from petitions.errors import InvalidInput

LEVELS = ("district", "street", "community", "grid", "department", "enterprise_liaison")
LIAISON_KINDS = ("building_leader", "enterprise_department", "enterprise_cadre")


@attrs.frozen
class Unit:
    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str = ""
    source: str = ""

    def name(self, lang: str = "zh") -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


@attrs.frozen
class Person:
    id: str
    name: str
    unit: str
    roles: tuple[str, ...] = ()
    source: str = ""


@attrs.frozen
class Liaison:
    kind: str
    target: str
    unit: str = ""
    person: str = ""
    source: str = ""


class RegisterError(InvalidInput):
    """A register file with problems: every problem is named at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("register", "; ".join(problems), kind="register",
                         problems="; ".join(problems))
        self.problems = tuple(problems)


@attrs.frozen
class Register:
    """A loaded register, with look-ups."""

    units: tuple[Unit, ...]
    people: tuple[Person, ...] = ()
    liaisons: tuple[Liaison, ...] = ()

    # ------------------------------------------------------------ building
    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Register:
        """A register from plain data (``units``, ``people``, ``liaisons``
        lists of mappings), checked: every problem is reported at once."""
        problems: list[str] = []

        def text(entry: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
            value = entry.get(key, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                problems.append(f"{where}: {key} must be text")
                return ""
            found = str(value).strip()
            if required and not found:
                problems.append(f"{where}: {key} is missing")
            return found

        def entries(name: str) -> list[Mapping[str, Any]]:
            found = data.get(name, [])
            if not isinstance(found, list) or not all(isinstance(e, Mapping) for e in found):
                problems.append(f"{name} must be a list of tables")
                return []
            return found

        units = []
        for i, e in enumerate(entries("units"), 1):
            where = f"units[{i}]"
            unit = Unit(code=text(e, "code", where), name_zh=text(e, "name_zh", where),
                        name_en=text(e, "name_en", where, required=False),
                        level=text(e, "level", where), parent=text(e, "parent", where, False),
                        source=text(e, "source", where, False))
            if unit.level and unit.level not in LEVELS:
                problems.append(f"{where} ({unit.code}): level {unit.level!r} is not one of "
                                f"{', '.join(LEVELS)}")
            units.append(unit)
        people = []
        for i, e in enumerate(entries("people"), 1):
            where = f"people[{i}]"
            roles = e.get("roles", [])
            if isinstance(roles, str):
                roles = [r for r in roles.replace(",", ";").split(";")]
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                problems.append(f"{where}: roles must be a list of texts")
                roles = []
            people.append(Person(id=text(e, "id", where), name=text(e, "name", where),
                                 unit=text(e, "unit", where),
                                 roles=tuple(r.strip() for r in roles if r.strip()),
                                 source=text(e, "source", where, False)))
        liaisons = []
        for i, e in enumerate(entries("liaisons"), 1):
            where = f"liaisons[{i}]"
            liaison = Liaison(kind=text(e, "kind", where), target=text(e, "target", where),
                              unit=text(e, "unit", where, False),
                              person=text(e, "person", where, False),
                              source=text(e, "source", where, False))
            if liaison.kind and liaison.kind not in LIAISON_KINDS:
                problems.append(f"{where}: kind {liaison.kind!r} is not one of "
                                f"{', '.join(LIAISON_KINDS)}")
            if not liaison.unit and not liaison.person:
                problems.append(f"{where} ({liaison.target}): name a unit or a person")
            liaisons.append(liaison)
        register = cls(tuple(units), tuple(people), tuple(liaisons))
        problems.extend(register._problems())
        if problems:
            raise RegisterError(problems)
        return register

    def _problems(self) -> list[str]:
        problems = []
        codes: dict[str, Unit] = {}
        names: dict[str, str] = {}
        for u in self.units:
            if u.code in codes:
                problems.append(f"unit code {u.code} appears twice")
            codes[u.code] = u
            if u.name_zh in names and names[u.name_zh] != u.code:
                problems.append(f"unit name {u.name_zh} is used by {names[u.name_zh]} and "
                                f"{u.code}")
            names[u.name_zh] = u.code
        for u in self.units:
            if u.parent and u.parent not in codes:
                problems.append(f"unit {u.code}: parent {u.parent} is not a unit")
        for u in self.units:  # cycles
            seen = {u.code}
            parent = u.parent
            while parent and parent in codes:
                if parent in seen:
                    problems.append(f"unit {u.code}: its parents form a cycle")
                    break
                seen.add(parent)
                parent = codes[parent].parent
        ids = set()
        for p in self.people:
            if p.id in ids:
                problems.append(f"person id {p.id} appears twice")
            ids.add(p.id)
            if p.unit and p.unit not in codes:
                problems.append(f"person {p.id}: unit {p.unit} is not a unit")
        for li in self.liaisons:
            if li.unit and li.unit not in codes:
                problems.append(f"liaison {li.target}: unit {li.unit} is not a unit")
            if li.person and li.person not in ids:
                problems.append(f"liaison {li.target}: person {li.person} is not a person")
        return problems

    def to_data(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "units": [attrs.asdict(u) for u in self.units],
            "people": [{**attrs.asdict(p), "roles": list(p.roles)} for p in self.people],
            "liaisons": [attrs.asdict(li) for li in self.liaisons],
        }

    def sha256(self) -> str:
        text = json.dumps(self.to_data(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    # ------------------------------------------------------------- look-ups
    def unit(self, code: str) -> Unit | None:
        for u in self.units:
            if u.code == code:
                return u
        return None

    def find(self, code_or_name: str) -> Unit | None:
        """The unit with this code, or exactly this Chinese or English name."""
        key = code_or_name.strip()
        for u in self.units:
            if key in (u.code, u.name_zh) or (u.name_en and key == u.name_en):
                return u
        return None

    def resolve(self, code_or_name: str, field: str = "unit") -> Unit:
        """:meth:`find`, or refuse naming the closest codes and names."""
        found = self.find(code_or_name)
        if found is not None:
            return found
        candidates = [c for u in self.units for c in (u.code, u.name_zh, u.name_en) if c]
        close = difflib.get_close_matches(code_or_name.strip(), candidates, n=3, cutoff=0.4)
        raise InvalidInput(field, f"unknown unit {code_or_name!r}; close: "
                           f"{', '.join(close) or 'none'}", kind="unknown_unit",
                           value=code_or_name, close=", ".join(close))

    def children(self, code: str) -> list[Unit]:
        return [u for u in self.units if u.parent == code]

    def ancestors(self, code: str) -> list[Unit]:
        """The unit's parent, its parent's parent, … (nearest first)."""
        out: list[Unit] = []
        unit = self.unit(code)
        while unit is not None and unit.parent:
            parent = self.unit(unit.parent)
            if parent is None or parent in out:
                break
            out.append(parent)
            unit = parent
        return out

    def street_of(self, code_or_name: str) -> Unit | None:
        """The street office or town a unit belongs to (itself if a street)."""
        unit = self.find(code_or_name)
        if unit is None:
            return None
        for u in (unit, *self.ancestors(unit.code)):
            if u.level == "street":
                return u
        return None

    def rollup_names(self, name: str) -> list[str]:
        """``name`` and the Chinese names of its ancestors (for roll-ups);
        a name the register does not know stays alone."""
        unit = self.find(name)
        if unit is None:
            return [name]
        return [unit.name_zh, *(a.name_zh for a in self.ancestors(unit.code))]

    def people_of(self, code: str) -> list[Person]:
        return [p for p in self.people if p.unit == code]

    def liaisons_of(self, code: str) -> list[Liaison]:
        ids = {p.id for p in self.people_of(code)}
        return [li for li in self.liaisons if li.unit == code or li.person in ids]

    def unit_dict(self, unit: Unit) -> dict[str, Any]:
        """A unit as ``org show --json`` prints it."""
        return {
            **attrs.asdict(unit),
            "children": [c.code for c in self.children(unit.code)],
            "people": [{**attrs.asdict(p), "roles": list(p.roles)}
                       for p in self.people_of(unit.code)],
            "liaisons": [attrs.asdict(li) for li in self.liaisons_of(unit.code)],
        }


def parse_register(path: str | Path) -> Register:
    """Read a TOML or CSV register file (by its suffix; else by its content)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InvalidInput("file", f"cannot read {p}: {exc.strerror}", kind="invalid") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file", f"{p} is not UTF-8 text", kind="invalid") from None
    if p.suffix.lower() == ".csv":
        return Register.from_data(_csv_data(text))
    try:
        return Register.from_data(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        if p.suffix.lower() == ".toml":
            raise InvalidInput("file", f"{p}: {exc}", kind="invalid") from None
        return Register.from_data(_csv_data(text))


def _csv_data(text: str) -> dict[str, list[dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "type" not in reader.fieldnames:
        raise RegisterError(["a CSV register needs a header row with a 'type' column"])
    out: dict[str, list[dict[str, Any]]] = {"units": [], "people": [], "liaisons": []}
    problems = []
    for n, row in enumerate(reader, 2):
        kind = (row.get("type") or "").strip()
        clean = {k: (v or "").strip() for k, v in row.items() if k and k != "type"}
        if kind == "unit":
            out["units"].append(clean)
        elif kind == "person":
            clean["roles"] = [r for r in clean.get("roles", "").split(";") if r.strip()]
            out["people"].append(clean)
        elif kind == "liaison":
            out["liaisons"].append(clean)
        else:
            problems.append(f"line {n}: type must be unit, person or liaison, not {kind!r}")
    if problems:
        raise RegisterError(problems)
    return out


def register_from_event_data(units: Iterable[Mapping[str, Any]],
                             people: Iterable[Mapping[str, Any]],
                             liaisons: Iterable[Mapping[str, Any]]) -> Register:
    """The register as stored in a ``UnitRegister.Loaded`` event."""
    return Register(
        units=tuple(Unit(**u) for u in units),
        people=tuple(Person(**{**p, "roles": tuple(p.get("roles", ()))}) for p in people),
        liaisons=tuple(Liaison(**li) for li in liaisons),
    )
