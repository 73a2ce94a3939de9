"""Notice templates: zh-CN by default, an English fallback, and an easy-read variant of each.

The templates live in ``notification/templates.toml`` and are checked when they are loaded, so a
bad template stops the service at start-up rather than at three in the morning:

- every template declares ``fields``, the placeholders it may use, and has a zh-CN and an en text
  (``title`` and ``body``) and an easy-read variant in both;
- every variant uses exactly the declared fields: one the service would not supply, or one a
  variant forgets, is a TemplateError naming the template, the variant and the placeholder;
- placeholders are plain ``{name}``: attribute or index access (``{a.b}``, ``{a[0]}``), format
  specs (``{a:>10}``), conversions (``{a!r}``) and positional ``{}`` / ``{0}`` are refused;
- no field may carry a resident ID number or a phone number.

Rendering never calls ``str.format``: the parsed pieces are joined, so nothing in a template or a
value can reach an attribute of anything. A field the template needs and the caller did not give
fails loudly; extra fields are ignored. Error messages name templates, variants and fields, never
field values (those may be personal data).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from runtime.errors import ServiceError

DEFAULT_LOCALE = "zh-CN"
FALLBACK_LOCALE = "en"
REQUIRED_LOCALES = (DEFAULT_LOCALE, FALLBACK_LOCALE)
EASY_READ = "easy_read"
PARTS = ("title", "body")

# Field names that would carry what never leaves the registry.
FORBIDDEN_FIELD_WORDS = ("resident_id", "id_number", "idcard", "id_card", "certificate", "phone",
                         "mobile")


class TemplateError(ServiceError):
    """A template file that does not hold together, or a render missing a field."""


@dataclass(frozen=True)
class RenderedNotice:
    title: str
    body: str
    locale: str = DEFAULT_LOCALE   # the locale actually used (after any fallback)
    easy_read: bool = False


# A text parsed once: literal pieces and placeholder names, in order.
Piece = tuple[str, str | None]


@dataclass(frozen=True)
class Variant:
    title: tuple[Piece, ...]
    body: tuple[Piece, ...]


@dataclass(frozen=True)
class Template:
    name: str
    fields: frozenset[str]
    variants: Mapping[str, Variant]          # by locale
    easy_read: Mapping[str, Variant]         # by locale

    def variant(self, locale: str, easy_read: bool) -> tuple[str, Variant]:
        table = self.easy_read if easy_read else self.variants
        if locale in table:
            return locale, table[locale]
        return FALLBACK_LOCALE, table[FALLBACK_LOCALE]


def parse_text(template: str, variant: str, text: str) -> tuple[Piece, ...]:
    """Split a text into (literal, placeholder) pieces, refusing anything but ``{name}``."""
    where = f"template {template!r}, variant {variant!r}"
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:
        raise TemplateError(f"{where}: malformed braces ({e})") from None
    pieces: list[Piece] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        shown = ("{" + name + (f"!{conversion}" if conversion else "")
                 + (f":{spec}" if spec else "") + "}")
        if not name.isidentifier():
            raise TemplateError(f"{where}: placeholder {shown!r} is not a plain {{name}} "
                                "(no attribute or index access, no positional fields)")
        if spec or conversion:
            raise TemplateError(f"{where}: placeholder {shown!r} has a format spec or "
                                "conversion; only plain {name} is allowed")
        pieces.append((literal, name))
    return tuple(pieces)


def placeholders(pieces: tuple[Piece, ...]) -> set[str]:
    return {name for _, name in pieces if name is not None}


def _join(pieces: tuple[Piece, ...], fields: Mapping[str, str]) -> str:
    out: list[str] = []
    for literal, name in pieces:
        out.append(literal)
        if name is not None:
            out.append(fields[name])
    return "".join(out)


class TemplateBook:
    """All templates, validated. Build with ``load`` / ``from_text`` / ``from_dict``."""

    def __init__(self, templates: Mapping[str, Template]) -> None:
        self._templates = dict(templates)

    # --- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path | None = None) -> TemplateBook:
        if path is None:
            text = resources.files("notification").joinpath("templates.toml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_text(text)

    @classmethod
    def from_text(cls, text: str) -> TemplateBook:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise TemplateError(f"templates file is not valid TOML: {e}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateBook:
        if not data:
            raise TemplateError("templates file defines no templates")
        return cls({name: _template(name, spec) for name, spec in data.items()})

    # --- use -----------------------------------------------------------------------------------
    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._templates)

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def get(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise TemplateError(f"no template named {name!r}") from None

    def render(self, name: str, fields: Mapping[str, str], locale: str = DEFAULT_LOCALE,
               easy_read: bool = False) -> RenderedNotice:
        template = self.get(name)
        missing = sorted(template.fields - fields.keys())
        if missing:
            raise TemplateError(f"template {name!r} needs field(s) {', '.join(missing)} "
                                "that were not given")
        values: dict[str, str] = {}
        for key in template.fields:
            value = fields[key]
            if not isinstance(value, str):
                raise TemplateError(f"template {name!r}: field {key!r} must be text, "
                                    f"got {type(value).__name__}")
            values[key] = value
        used, variant = template.variant(locale, easy_read)
        return RenderedNotice(_join(variant.title, values), _join(variant.body, values), used,
                              easy_read)


def _template(name: str, spec: Any) -> Template:
    if not isinstance(spec, dict):
        raise TemplateError(f"template {name!r}: must be a table")
    declared = spec.get("fields")
    if (not isinstance(declared, list)
            or not all(isinstance(f, str) and f.isidentifier() for f in declared)):
        raise TemplateError(f"template {name!r}: `fields` must be a list of plain names")
    if len(set(declared)) != len(declared):
        raise TemplateError(f"template {name!r}: `fields` lists a name twice")
    for field_name in declared:
        if any(word in field_name.lower() for word in FORBIDDEN_FIELD_WORDS):
            raise TemplateError(f"template {name!r}: field {field_name!r} would carry a resident "
                                "ID or phone number; notices never include those")
    fields = frozenset(declared)
    plain = {k: v for k, v in spec.items() if k not in ("fields", EASY_READ)}
    easy = spec.get(EASY_READ)
    if easy is None:
        raise TemplateError(f"template {name!r}: variant {EASY_READ!r} is missing")
    if not isinstance(easy, dict):
        raise TemplateError(f"template {name!r}: variant {EASY_READ!r} must be a table")
    return Template(name, fields, _variants(name, "", plain, fields),
                    _variants(name, EASY_READ + ".", easy, fields))


def _variants(name: str, prefix: str, table: dict[str, Any],
              fields: frozenset[str]) -> dict[str, Variant]:
    for locale in REQUIRED_LOCALES:
        if locale not in table:
            raise TemplateError(f"template {name!r}: variant {prefix + locale!r} is missing")
    return {locale: _variant(name, prefix + locale, text, fields)
            for locale, text in table.items()}


def _variant(name: str, variant: str, spec: Any, fields: frozenset[str]) -> Variant:
    if not isinstance(spec, dict):
        raise TemplateError(f"template {name!r}, variant {variant!r}: must be a table "
                            "with title and body")
    unknown = sorted(set(spec) - set(PARTS))
    if unknown:
        raise TemplateError(f"template {name!r}, variant {variant!r}: unknown key(s) "
                            f"{', '.join(unknown)}")
    parsed: dict[str, tuple[Piece, ...]] = {}
    for part in PARTS:
        text = spec.get(part)
        if not isinstance(text, str) or not text.strip():
            raise TemplateError(f"template {name!r}, variant {variant!r}: {part} must be "
                                "non-empty text")
        parsed[part] = parse_text(name, variant, text)
    used = placeholders(parsed["title"]) | placeholders(parsed["body"])
    undeclared = sorted(used - fields)
    if undeclared:
        raise TemplateError(f"template {name!r}, variant {variant!r}: placeholder "
                            f"{{{undeclared[0]}}} is not in the template's fields")
    unused = sorted(fields - used)
    if unused:
        raise TemplateError(f"template {name!r}, variant {variant!r}: does not use field "
                            f"{{{unused[0]}}}; every variant must use the same fields")
    return Variant(parsed["title"], parsed["body"])


@cache
def default_book() -> TemplateBook:
    """The packaged templates, loaded (and validated) once."""
    return TemplateBook.load()


def render(name: str, fields: Mapping[str, str], locale: str = DEFAULT_LOCALE,
           easy_read: bool = False) -> RenderedNotice:
    return default_book().render(name, fields, locale, easy_read)
