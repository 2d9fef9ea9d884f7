"""Reading one cell the way people write it (SPEC §14 "Values are read...").

`read_cell(field, raw, reading)` turns a CSV text or an XLSX cell into a value the records
service accepts for the field: full-width digits and letters (NFKC), `¥1,200` and
`1,200円`, dates as 2026-11-30, 2026/11/30, 30.11.2026 (day first when `reading.day_first`),
2026年11月30日 and 令和8年11月30日, Excel date cells and serials, booleans in English and
Japanese, options by key or by label in any locale. Links, links and users come back
unresolved as a `Ref` (the importer resolves them in bulk). The records service still
validates the result (`karte.fields.normalise`); this module only reads.

A cell that cannot be read raises `CellProblem`: a code (`import.date`...), an English
sentence saying the value and what is expected, and the sentence's template and values
(`template % details`) so a page can say it in another language. docs/import-values.md
lists the codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from karte.fields import normalise
from karte.meta.model import Entity, Field, Pack
from karte.transfer import cell_dates, cells

MULTI_SEPARATOR = ";"


@dataclass(frozen=True)
class Reading:
    """How the cells of one file are read."""

    zone: ZoneInfo = ZoneInfo("UTC")   # datetimes without an offset are local to it
    day_first: bool = False            # 30.11.2026 and 30/11/2026 are read day first

    @classmethod
    def of(cls, pack: Pack, day_first: bool | None = None) -> Reading:
        """The pack's timezone; dates day first as the pack's locale and country write
        them (en-US and ja month/year first, en-GB, de, fr day first) unless said."""
        if day_first is None:
            day_first = cell_dates.locale_day_first(pack.locale, pack.country)
        return cls(ZoneInfo(pack.timezone or "UTC"), day_first)


@dataclass(frozen=True)
class Ref:
    """A link, links or user cell as written: the texts (ids, a unique value, a title, an
    email) the importer looks up. Several (links) are separated by ";"."""

    texts: tuple[str, ...]


class CellProblem(ValueError):
    """A cell that cannot be read: `code` ("import.date"), `message` (English), and
    `template` % `details` for a translation."""

    def __init__(self, code: str, template: str, **details: Any):
        self.code, self.template, self.details = code, template, details
        self.message = template % details
        super().__init__(self.message)


def read_cell(field: Field, raw: Any, reading: Reading) -> Any:
    """The value of one cell for `field`: None ([] for multi_enum and links) when empty;
    raises CellProblem when the cell cannot be read as the field's type."""
    if type(raw) is str and raw.startswith('="') and raw.endswith('"') and len(raw) > 2:
        raw = raw[2:-1]           # ="0123": how CSV exports keep Excel from eating zeros
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return [] if field.type in ("multi_enum", "links") else None
    reader = _READERS.get(field.type)
    if reader is None:
        raise CellProblem("import.not_importable",
                          'The field "%(field)s" (%(type)s) cannot be imported: leave this '
                          "column out.", field=field.name, type=field.type)
    return reader(field, raw, reading)


def importable(entity: Entity, *, read_only: bool = False) -> list[Field]:
    """The fields an import may set, in the entity's order: not formulas, rollups, files,
    lines (imported as rows of their own) or system columns, nor the fields the engine adds
    to a part (its parent link, its position). `read_only` fields only when asked: SPEC
    §3.1 lets imports set them, through the service's `moving=True`."""
    return [f for f in entity.fields.values()
            if f.type not in ("formula", "rollup", "file", "lines")
            and not (f.read_only and not f.declared)
            and (read_only or not f.read_only)]


# ------------------------------------------------------------------ per type

def _string(field: Field, raw: Any, reading: Reading) -> str:
    text = cells.as_text(raw)
    return text.replace("\r\n", "\n").strip() if field.type == "text" else text.strip()


def _integer(field: Field, raw: Any, reading: Reading) -> int:
    if type(raw) is str and raw.isascii() and raw.isdigit():   # the common case
        return int(raw)
    number = _number(field, raw)
    if number != number.to_integral_value():
        raise CellProblem("import.integer",
                          'Cannot read "%(value)s" as a whole number: write it with digits '
                          "only, e.g. 1200 or 1,200.", value=cells.shown(raw))
    return int(number)


def _decimal(field: Field, raw: Any, reading: Reading) -> Decimal:
    return _number(field, raw)


def _number(field: Field, raw: Any) -> Decimal:
    number = cells.number(raw, percent=field.type == "percent",
                          money=field.type in ("money", "decimal", "integer"))
    if number is None:
        example = {"percent": "12.5 or 12.5%", "money": "1200, 1,200, ¥1,200 or 1,200円"}
        raise CellProblem("import.number",
                          'Cannot read "%(value)s" as a number: write %(example)s.',
                          value=cells.shown(raw),
                          example=example.get(field.type, "1200, 1,200 or -1,234.5"))
    return number


def _boolean(field: Field, raw: Any, reading: Reading) -> bool:
    value = cells.boolean(raw)
    if value is None:
        raise CellProblem("import.boolean",
                          'Cannot read "%(value)s" as yes or no: write yes/no, true/false, '
                          "1/0 or はい/いいえ.", value=cells.shown(raw))
    return value


def _date(field: Field, raw: Any, reading: Reading) -> dt.date:
    value = cell_dates.date(raw, reading.day_first)
    if value is None:
        raise CellProblem("import.date", 'Cannot read "%(value)s" as a date: write %(example)s.',
                          value=cells.shown(raw), example=_date_example(reading))
    return value


def _datetime(field: Field, raw: Any, reading: Reading) -> dt.datetime:
    value = cell_dates.moment(raw, reading.day_first)
    if value is None:
        raise CellProblem("import.datetime",
                          'Cannot read "%(value)s" as a date and time: write %(example)s.',
                          value=cells.shown(raw),
                          example="2026-11-30 14:05 or 2026/11/30 14:05")
    return value if value.tzinfo else value.replace(tzinfo=reading.zone)


def _date_example(reading: Reading) -> str:
    return ("2026-11-30, 2026/11/30 or 30.11.2026" if reading.day_first
            else "2026-11-30 or 2026/11/30")


def _enum(field: Field, raw: Any, reading: Reading) -> str:
    key = cells.option(field, raw)
    if key is None:
        raise CellProblem("import.enum",
                          '"%(value)s" is not an option of "%(field)s": write one of '
                          "%(allowed)s.", value=cells.shown(raw), field=field.name,
                          allowed=cells.allowed(field))
    return key


def _multi_enum(field: Field, raw: Any, reading: Reading) -> list[str]:
    keys: list[str] = []
    unknown: list[str] = []
    for part in cells.split(field, raw):
        key = cells.option(field, part)
        if key is None:
            unknown.append(part)
        elif key not in keys:
            keys.append(key)
    if unknown:
        raise CellProblem("import.multi_enum",
                          '"%(value)s" is not an option of "%(field)s": write options '
                          'separated by ";", among %(allowed)s.', value="; ".join(unknown),
                          field=field.name, allowed=cells.allowed(field))
    return [key for key in field.option_keys if key in keys]


def _checked(code: str, template: str, clean: Callable[[str], str]
             ) -> Callable[[Field, Any, Reading], str]:
    """A reader that cleans the text then lets the field's own normaliser judge it, its
    refusal becoming a CellProblem."""
    def read(field: Field, raw: Any, reading: Reading) -> str:
        text = clean(cells.nfkc(cells.as_text(raw)).strip())
        try:
            return str(normalise(field, text))
        except ValueError as error:
            reason = getattr(error, "values", {}).get("reason", str(error))
            raise CellProblem(code, template, value=cells.shown(raw),
                              reason=reason) from None
    return read


def _phone(field: Field, raw: Any, reading: Reading) -> str:
    text = cells.nfkc(cells.as_text(raw)).strip()
    return text[4:].strip() if text.lower().startswith("tel:") else text


def _ref(field: Field, raw: Any, reading: Reading) -> Ref:
    if field.type == "links":
        parts = tuple(cells.parts(cells.as_text(raw)))
    else:
        parts = (cells.as_text(raw).strip(),)
    return Ref(tuple(p for p in parts if p))


_READERS: dict[str, Callable[[Field, Any, Reading], Any]] = {
    "string": _string,
    "text": _string,
    "integer": _integer,
    "decimal": _decimal,
    "money": _decimal,
    "percent": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "email": _checked("import.email",
                      'Cannot read "%(value)s" as an email address: %(reason)s',
                      cells.no_mailto),
    "url": _checked("import.url", 'Cannot read "%(value)s" as a web address: %(reason)s',
                    cells.with_scheme),
    "phone": _phone,
    "enum": _enum,
    "multi_enum": _multi_enum,
    "link": _ref,
    "links": _ref,
    "user": _ref,
}

