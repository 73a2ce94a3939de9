"""The person form (not a page module): its fields, named as the registry names them so that a
BadRequest field error lands beside its field (resident_id, guardian.phone, needs[0].code); the
choices it offers; and the conversions between the posted form, the registry's Person message
and an edit's update mask."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdsp.registry.v1 import registry_pb2 as pb
from console.web import FieldError, field_errors

CATEGORIES = tuple(range(1, 8))   # GB/T 26341: 1 visual .. 7 multiple
GRADES = tuple(range(1, 5))       # 1 most severe .. 4
CHANNELS = tuple(range(1, 6))     # cdsp.common.v1.ContactChannel
LIVING = (1, 2, 3)                # alone, with family, in an institution
# The registry's default priority groups (CDSP_PRIORITY_GROUPS); a group a record holds that is
# not among them is offered too.
PRIORITY_GROUPS = ("disabled_children", "elderly_living_alone", "multiple_disabilities",
                   "single_parent_disabled_children", "seriously_ill", "severe_mental_illness")
NEED_CODES = ("rehabilitation", "assistive_device", "care", "home_care", "employment",
              "relief", "education", "medical")
# The paths UpdatePerson may change, in the registry's order.
UPDATABLE = ("name", "category", "grade", "certificate_number", "certified", "household_id",
             "phone", "preferred_channel", "guardian", "liaison", "living_situation",
             "priority_groups", "needs")
TEXT_FIELDS = ("name", "resident_id", "certified", "category", "grade", "certificate_number",
               "household_id", "phone", "preferred_channel", "guardian.name", "guardian.phone",
               "guardian.relation", "liaison.worker_id", "liaison.name", "liaison.phone",
               "living_situation")
# Kinds of service record the registry writes or the plans name (others are shown as given).
SERVICE_KINDS = ("verification", "visit", "relief", "training", "rehabilitation", "care")
MAX_NEED_ROWS = 20
MIN_NEED_ROWS = 3


def path_of(key: str) -> str:
    """The update-mask path a form field belongs to: guardian.phone → guardian."""
    return key.split(".")[0].split("[")[0]


@dataclass
class PersonForm:
    """What the form holds: text values by field name, and the priority groups ticked."""

    values: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)

    def need_count(self) -> int:
        return sum(1 for key in self.values if key.endswith("].code"))

    def rows(self) -> int:
        """How many need rows the form shows: those filled, then at least one empty."""
        return min(MAX_NEED_ROWS, max(MIN_NEED_ROWS, self.need_count() + 1))

    def part(self, path: str) -> tuple[Any, ...]:
        """One update-mask path's value, comparable between two forms."""
        if path == "priority_groups":
            return tuple(sorted(set(self.groups)))
        return tuple(sorted((k, v.strip()) for k, v in self.values.items()
                            if path_of(k) == path and v.strip()))

    def to_json(self) -> str:
        return json.dumps({"values": self.values, "groups": self.groups}, ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> PersonForm | None:
        try:
            data = json.loads(text)
            values = {str(k): str(v) for k, v in data["values"].items()}
            return PersonForm(values, [str(g) for g in data["groups"]])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def from_post(get: Callable[[str], Any], groups: list[str]) -> PersonForm:
    """The posted form; need rows with nothing in them are dropped and the rest numbered from
    0, as they go to the registry (so its needs[i] errors match the rows shown again)."""
    values = {key: str(get(key) or "") for key in TEXT_FIELDS}
    n = 0
    for i in range(MAX_NEED_ROWS):
        code = str(get(f"needs[{i}].code") or "").strip()
        text = str(get(f"needs[{i}].description") or "")
        if code or text.strip():
            values[f"needs[{n}].code"], values[f"needs[{n}].description"] = code, text
            n += 1
    return PersonForm(values, list(dict.fromkeys(g for g in groups if g)))


def from_person(p: pb.Person) -> PersonForm:
    values = {
        "name": p.name, "resident_id": p.resident_id,
        "certified": "true" if p.certified else "false",
        "category": str(p.category or ""), "grade": str(p.grade or ""),
        "certificate_number": p.certificate_number, "household_id": p.household_id,
        "phone": p.phone, "preferred_channel": str(p.preferred_channel or ""),
        "living_situation": str(p.living_situation or ""),
    }
    if p.HasField("guardian"):
        values.update({"guardian.name": p.guardian.name, "guardian.phone": p.guardian.phone,
                       "guardian.relation": p.guardian.relation})
    if p.HasField("liaison"):
        values.update({"liaison.worker_id": p.liaison.worker_id, "liaison.name": p.liaison.name,
                       "liaison.phone": p.liaison.phone})
    for i, need in enumerate(p.needs):
        values[f"needs[{i}].code"], values[f"needs[{i}].description"] = need.code, need.description
    return PersonForm(values, list(p.priority_groups))


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 4 else 0


def to_person(form: PersonForm, person_id: str = "") -> pb.Person:
    v = form.values.get
    person = pb.Person(
        person_id=person_id, name=v("name", ""), resident_id=v("resident_id", "").strip(),
        category=_int(v("category", "")), grade=_int(v("grade", "")),  # type: ignore[arg-type]
        certified=v("certified") == "true",
        certificate_number=v("certificate_number", "").strip().upper(),
        household_id=v("household_id", "").strip(), phone=v("phone", "").strip(),
        preferred_channel=_int(v("preferred_channel", "")),  # type: ignore[arg-type]
        living_situation=_int(v("living_situation", "")),  # type: ignore[arg-type]
        priority_groups=form.groups,
        needs=[pb.Need(code=v(f"needs[{i}].code", ""),
                       description=v(f"needs[{i}].description", "").strip())
               for i in range(form.need_count())])
    if form.part("guardian"):
        person.guardian.CopyFrom(pb.Guardian(name=v("guardian.name", ""),
                                             phone=v("guardian.phone", ""),
                                             relation=v("guardian.relation", "")))
    if form.part("liaison"):
        person.liaison.CopyFrom(pb.Liaison(worker_id=v("liaison.worker_id", ""),
                                           name=v("liaison.name", ""),
                                           phone=v("liaison.phone", "")))
    return person


def changed(form: PersonForm, base: PersonForm) -> list[str]:
    """The update-mask paths whose value differs between two forms."""
    return [path for path in UPDATABLE if form.part(path) != base.part(path)]


def merged(mine: PersonForm, original: PersonForm, latest: PersonForm) -> PersonForm:
    """After a conflict: what the worker changed, over the record as it is now."""
    ours = set(changed(mine, original))
    values = {k: v for k, v in latest.values.items() if path_of(k) not in ours}
    values.update({k: v for k, v in mine.values.items() if path_of(k) in ours})
    values["resident_id"] = latest.values.get("resident_id", "")
    groups = mine.groups if "priority_groups" in ours else latest.groups
    return PersonForm(values, list(groups))


def options(t: Callable[..., str], form: PersonForm) -> dict[str, list[tuple[str, str]]]:
    """The choices of the form's selects, radios and checkboxes: (value, words)."""
    codes = [*NEED_CODES, *sorted({v for k, v in form.values.items()
                                   if k.endswith("].code") and v and v not in NEED_CODES})]
    groups = [*PRIORITY_GROUPS, *sorted(set(form.groups) - set(PRIORITY_GROUPS))]
    return {
        "certified": [("true", t("persons.certified_yes")), ("false", t("persons.certified_no"))],
        "category": [("", t("persons.choose")),
                     *[(str(c), t(f"persons.category.{c}")) for c in CATEGORIES]],
        "grade": [("", t("persons.choose")),
                  *[(str(g), t(f"persons.grade.{g}")) for g in GRADES]],
        "preferred_channel": [("", t("persons.choose")),
                              *[(str(c), t(f"persons.channel.{c}")) for c in CHANNELS]],
        "living_situation": [(str(s), t(f"persons.living.{s}")) for s in LIVING],
        "priority_groups": [(g, group_words(t, g)) for g in groups],
        "need_code": [("", t("persons.need_none")), *[(c, need_words(t, c)) for c in codes]],
    }


def group_words(t: Callable[..., str], group: str) -> str:
    return t(f"persons.group.{group}") if group in PRIORITY_GROUPS else group


def need_words(t: Callable[..., str], code: str) -> str:
    return t(f"persons.need.{code}") if code in NEED_CODES else code


def kind_words(t: Callable[..., str], kind: str) -> str:
    return t(f"persons.kind.{kind}") if kind in SERVICE_KINDS else kind


def labels(t: Callable[..., str], form: PersonForm) -> dict[str, str]:
    """Each field's name in the error summary."""
    found = {key: t("persons.f." + key.replace(".", "_")) for key in TEXT_FIELDS}
    found.update({"priority_groups": t("persons.f.priority_groups"),
                  "needs": t("persons.f.needs"), "guardian": t("persons.fs.guardian"),
                  "liaison": t("persons.fs.liaison")})
    for i in range(form.rows()):
        found[f"needs[{i}].code"] = t("persons.need_row_code", n=i + 1)
        found[f"needs[{i}].description"] = t("persons.need_row_text", n=i + 1)
    return found


def shown_errors(language: str, fields: dict[str, str],
                 names: dict[str, str]) -> dict[str, FieldError]:
    """A BadRequest's violations under the form's field names: UpdatePerson's person.x is x;
    a priority group's error goes to the group checkboxes."""
    renamed: dict[str, str] = {}
    for name, text in fields.items():
        key = name.removeprefix("person.")
        key = "priority_groups" if key.startswith("priority_groups[") else key
        renamed.setdefault(key, text)
    return field_errors(language, renamed, names)


def yuan(fen: int) -> str:
    """Integer fen as yuan: ¥1,234.50."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"
