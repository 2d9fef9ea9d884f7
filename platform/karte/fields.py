"""The field-type table: one entry per type in SPEC §3.2.

Each entry says how the type is stored (SQLAlchemy column type), how a value typed by a
person or sent by the API becomes the stored value (its normaliser, which raises
`ValueError` with a message a person can act on), which condition operators fit it and
how it behaves in lists. A new type is one entry here; tests iterate over `TYPES`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import email_validator
import phonenumbers
import sqlalchemy as sa
from babel.core import get_global
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator


class FieldSpec(Protocol):
    """What the field-type table reads of a field definition. The bottom layer takes any
    object of this shape (the Registry's `karte.meta.model.Field` is one), so it needs
    nothing from the layers above it."""

    @property
    def type(self) -> str: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def min_length(self) -> int | None: ...
    @property
    def pattern(self) -> str | None: ...
    @property
    def min(self) -> Any: ...
    @property
    def max(self) -> Any: ...
    @property
    def precision(self) -> int | None: ...
    @property
    def scale(self) -> int | None: ...
    @property
    def option_keys(self) -> tuple[str, ...]: ...
    @property
    def result(self) -> str | None: ...


TEXT_OPS = frozenset({"=", "!=", "in", "not_in", "contains", "starts_with", "empty",
                      "not_empty"})
ORDER_OPS = frozenset({"=", "!=", ">", ">=", "<", "<=", "empty", "not_empty"})
NUMBER_OPS = ORDER_OPS | {"in", "not_in"}
CHOICE_OPS = frozenset({"=", "!=", "in", "not_in", "empty", "not_empty"})
SET_OPS = frozenset({"contains", "empty", "not_empty"})
EMPTY_OPS = frozenset({"empty", "not_empty"})
ALL_OPS = TEXT_OPS | NUMBER_OPS | SET_OPS
PHONE_LENGTH = 32
EXTENSION = " ext. "
MAX_ID = 2**63 - 1
"""The largest id a 64-bit key holds (PostgreSQL BIGINT, SQLite INTEGER): a larger number
names no record, and the database would raise instead of finding none."""
TEXT_LIMIT = 100_000
"""Characters a `text` field holds when its definition sets no `max_length`."""
NUL = "\x00"
NUL_MESSAGE = "Remove the invisible NUL character from this text; it cannot be saved."
OFF_CALENDAR = "This date is outside the calendar (years 1 to 9999)."
Ordered = TypeVar("Ordered", bound=int | Decimal | dt.date)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as naive UTC on every database, returned timezone-aware (UTC)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None,
                           dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None,
                             dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value

    def result_processor(self, dialect: sa.Dialect, coltype: Any
                         ) -> Callable[[Any], dt.datetime | None]:
        """`process_result_value` after the database type's own conversion, as one
        function per value (TypeDecorator's generic one costs two more calls per value:
        list pages read two or three timestamps a row)."""
        convert = self.impl_instance.result_processor(dialect, coltype)
        utc = dt.UTC

        def process(value: Any) -> dt.datetime | None:
            if convert is not None:
                value = convert(value)
            if value is not None and value.tzinfo is None:
                return value.replace(tzinfo=utc)  # type: ignore[no-any-return]
            return value  # type: ignore[no-any-return]
        return process


BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


@dataclass(frozen=True)
class FieldType:
    name: str
    column: Callable[[FieldSpec], sa.types.TypeEngine[Any]] | None   # None: not a column (links)
    normalise: Callable[[Any, FieldSpec, str | None], Any]
    ops: frozenset[str]
    numeric: bool = False
    scalar: bool = True          # may be unique / indexed / defaulted
    textual: bool = False        # searched by the list's search box by default
    orderable: bool = True


class Unfit(ValueError):
    """A refusal whose sentence has numbers in it: the English sentence (`str`), plus its
    template and values, so a page in another language can say it again (a fixed sentence
    is a plain ValueError, its text the catalogue's key)."""

    def __init__(self, template: str, **values: Any):
        super().__init__(template % values)
        self.template, self.values = template, values


def _too_long(limit: int, text: str) -> Unfit:
    return Unfit("Use at most %(limit)d characters (this has %(count)d).", limit=limit,
                 count=len(text))


# Types whose values are never empty, answered without comparing to [] (a bulk write asks
# this of every value of every row).
_NEVER_EMPTY = frozenset({int, bool, float, Decimal, dt.date, dt.datetime, dict, tuple})


def _empty(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return not value.strip()
    if kind is list:
        return not value
    if kind in _NEVER_EMPTY:
        return False
    return (isinstance(value, str) and not value.strip()) or value == []


def _string(value: Any, field: FieldSpec, country: str | None) -> str:
    if not isinstance(value, str | int | Decimal) or isinstance(value, bool):
        raise ValueError("Enter text.")
    text = str(value).strip()
    limit = field.max_length or 255
    if len(text) > limit:
        raise _too_long(limit, text)
    if field.min_length and len(text) < field.min_length:
        raise ValueError(f"Use at least {field.min_length} characters.")
    if field.pattern and not re.fullmatch(field.pattern, text):
        raise ValueError(f"Does not match the expected format ({field.pattern}).")
    return text


def _text(value: Any, field: FieldSpec, country: str | None) -> str:
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    text = value.replace("\r\n", "\n").strip()
    limit = field.max_length or TEXT_LIMIT
    if len(text) > limit:
        raise _too_long(limit, text)
    return text


def _bounded(value: Ordered, field: FieldSpec) -> Ordered:
    if field.min is not None and value < _bound(field.min, value):
        raise ValueError(f"Must be at least {field.min}.")
    if field.max is not None and value > _bound(field.max, value):
        raise ValueError(f"Must be at most {field.max}.")
    return value


def _bound(bound: Any, like: Any) -> Any:
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(bound) if isinstance(bound, str) else bound
    return Decimal(str(bound)) if isinstance(like, Decimal) else bound


def _finite(value: Any, message: str) -> Decimal:
    """A finite Decimal from a number or typed text ("1,200" too), else ValueError."""
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, str):
        value = value.strip().replace(",", "")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(message) from None
    if not number.is_finite():
        raise ValueError(message)
    return number


def _integer(value: Any, field: FieldSpec, country: str | None) -> int:
    number = _finite(value, "Enter a whole number.")
    if number != number.to_integral_value():
        raise ValueError("Enter a whole number.")
    if abs(number) >= 2**63:
        raise ValueError("This number is too large.")
    return _bounded(int(number), field)


def _decimal_with(precision: int, scale: int) -> Callable[[Any, FieldSpec, str | None], Decimal]:
    def normalise(value: Any, field: FieldSpec, country: str | None) -> Decimal:
        number = _finite(value, "Enter a number.")
        digits = field.scale if field.scale is not None else scale
        total = field.precision or precision
        if number.adjusted() < total - digits:
            number = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        if number.adjusted() >= total - digits:
            raise Unfit("This number is too large (%(digits)d digits at most before the "
                        "decimal point).", digits=total - digits)
        return _bounded(number + 0, field)
    return normalise


def _boolean(value: Any, field: FieldSpec, country: str | None) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "1": True, "yes": True, "on": True,
             "false": False, "0": False, "no": False, "off": False}
    key = str(value).strip().lower()
    if key not in words:
        raise ValueError("Choose yes or no.")
    return words[key]


def _date(value: Any, field: FieldSpec, country: str | None) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("Enter a date without a time (YYYY-MM-DD).")
    if isinstance(value, dt.date):
        return _bounded(value, field)
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("Enter a date as YYYY-MM-DD.") from None
    return _bounded(day, field)


def _datetime(value: Any, field: FieldSpec, country: str | None) -> dt.datetime:
    moment: dt.datetime
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError("Enter a date and time as YYYY-MM-DDTHH:MM.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(OFF_CALENDAR) from None
    return _bounded(moment, field)


def _email(value: Any, field: FieldSpec, country: str | None) -> str:
    try:
        return _valid_email(str(value).strip())
    except email_validator.EmailNotValidError as error:
        raise Unfit("Not a valid email address: %(reason)s", reason=str(error)) from None


_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _valid_email(text: str) -> str:
    """The address normalised. email_validator takes ~0.2 ms an address, mostly on the
    domain, which the addresses of a file share: a plain ASCII local part (RFC 5322's
    dot-atom, which the library accepts as it is) is checked here and its domain once
    (`_valid_domain`); any other address goes to the library whole."""
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and domain.isascii() \
            and _DOT_ATOM.fullmatch(local):
        return f"{local}@{_valid_domain(domain)}".lower()
    return str(email_validator.validate_email(text, check_deliverability=False)
               .normalized.lower())


@functools.lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> str:
    return str(email_validator.validate_email(f"a@{domain}", check_deliverability=False)
               .domain)


def _phone(value: Any, field: FieldSpec, country: str | None) -> str:
    """E.164 where the number parses (a national number read in `country`), with its
    extension (`+81312345678 ext. 12`); any other text is kept as typed, trimmed — a phone
    number is never refused for its form."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError("Enter text.")
    text = str(value).strip()
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        with_extension = f"{e164}{EXTENSION}{number.extension}" if number.extension else e164
        if len(with_extension) <= PHONE_LENGTH:
            return with_extension  # an extension is part of the number: never dropped
    if len(text) > PHONE_LENGTH:
        raise _too_long(PHONE_LENGTH, text)
    return text


def phone_country(country: str | None, timezone: str | None) -> str | None:
    """The region national phone numbers are read in: the pack's `country`, else the
    country of its `timezone` (CLDR's zone → territory table, via Babel), else none."""
    if country:
        return country
    if not timezone:
        return None
    zone = get_global("zone_aliases").get(timezone, timezone)
    territory = get_global("zone_territories").get(zone)
    return territory if territory and len(territory) == 2 and territory != "ZZ" else None


def _url(value: Any, field: FieldSpec, country: str | None) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("Enter a web address starting with http:// or https://.")
    if len(text) > 2048:
        raise ValueError("Use at most 2048 characters.")
    return text


def _enum(value: Any, field: FieldSpec, country: str | None) -> str:
    key = str(value).strip()
    if key not in field.option_keys:
        raise ValueError(f'"{key}" is not one of the options: {", ".join(field.option_keys)}.')
    return key


def _multi_enum(value: Any, field: FieldSpec, country: str | None) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("Choose a list of options.")
    chosen = {_enum(item, field, country) for item in value}
    return [key for key in field.option_keys if key in chosen]


def record_id(value: Any) -> int | None:
    """The id `value` names (a whole number, or its digits as text), or None when it can
    name no record: not a number, not above 0, or beyond 64 bits."""
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdecimal()) or len(text) > len(str(MAX_ID)):
            return None
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None


def _record_id(value: Any, field: FieldSpec, country: str | None) -> int:
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool):
        raise ValueError("Choose a record.")
    number = record_id(value)
    if number is None:
        raise ValueError("Choose a record (an id number).")
    return number


def _record_ids(value: Any, field: FieldSpec, country: str | None) -> list[int]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError("Choose a list of records.")
    return sorted({_record_id(item, field, country) for item in value})


def _read_only(value: Any, field: FieldSpec, country: str | None) -> Any:
    raise ValueError("This value is computed and cannot be set.")


FILE_KEYS = frozenset({"id", "name", "size", "type", "sha256", "uploaded_by", "uploaded_at"})
"""The keys of one file reference, exactly: what a `file` field keeps per file."""
FILE_ID = re.compile(r"f_[A-Za-z0-9_-]{22}")
SHA256 = re.compile(r"[0-9a-f]{64}")
FILE_MESSAGE = "Attach files through the upload form."


def file_ref(item: Any) -> dict[str, Any]:
    """One file reference checked key by key: the records service stores only references
    the files service made (`karte.files`), never a shape a client made up."""
    if not isinstance(item, dict) or set(item) != FILE_KEYS:
        raise ValueError(FILE_MESSAGE)
    name, size, by, at = item["name"], item["size"], item["uploaded_by"], item["uploaded_at"]
    if not (isinstance(item["id"], str) and FILE_ID.fullmatch(item["id"])
            and isinstance(item["sha256"], str) and SHA256.fullmatch(item["sha256"])
            and isinstance(name, str) and 0 < len(name) <= 200
            and isinstance(item["type"], str) and "/" in item["type"]
            and type(size) is int and size >= 0
            and (by is None or type(by) is int) and isinstance(at, str)):
        raise ValueError(FILE_MESSAGE)
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        raise ValueError(FILE_MESSAGE) from None
    if when.tzinfo is None:
        raise ValueError(FILE_MESSAGE)
    return dict(item)


def _files(value: Any, field: FieldSpec, country: str | None) -> list[dict[str, Any]]:
    """A `file` value: a list of file references (`FILE_KEYS`), each file once. (How many
    a field that is not `multiple` may hold is the records service's to judge: it knows
    what the record held before, `karte.store.records.write.file_counts`.)"""
    if not isinstance(value, list | tuple):
        raise ValueError(FILE_MESSAGE)
    refs = [file_ref(item) for item in value]
    if len({ref["id"] for ref in refs}) != len(refs):
        raise ValueError("The same file is attached twice.")
    return refs


def _lines(value: Any, field: FieldSpec, country: str | None) -> list[dict[str, Any]]:
    """A `lines` value: a list of objects, one per line (each is validated by the part's
    own fields in `karte.store.records.lines`)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
        raise ValueError("Give the lines as a list of objects, one per line.")
    return [dict(line) for line in value]


def _varchar(length: int) -> Callable[[FieldSpec], sa.types.TypeEngine[Any]]:
    return lambda field: sa.String(length)


def _formula_column(field: FieldSpec) -> sa.types.TypeEngine[Any]:
    """A formula or rollup stores its value as its `result` type does (decimal:
    NUMERIC(18, 4))."""
    column = TYPES[field.result].column if field.result else None
    return sa.Numeric(18, 4) if field.result == "decimal" or column is None else column(field)


TYPES: dict[str, FieldType] = {t.name: t for t in (
    FieldType("string", lambda f: sa.String(f.max_length or 255), _string, TEXT_OPS,
              textual=True),
    FieldType("text", lambda f: sa.Text(), _text, TEXT_OPS, orderable=False),
    FieldType("integer", lambda f: sa.BigInteger(), _integer, NUMBER_OPS, numeric=True),
    FieldType("decimal", lambda f: sa.Numeric(f.precision or 18, 2 if f.scale is None
                                              else f.scale),
              _decimal_with(18, 2), NUMBER_OPS, numeric=True),
    FieldType("money", lambda f: sa.Numeric(18, 2), _decimal_with(18, 2), NUMBER_OPS,
              numeric=True),
    FieldType("percent", lambda f: sa.Numeric(7, 2), _decimal_with(7, 2), NUMBER_OPS,
              numeric=True),
    FieldType("boolean", lambda f: sa.Boolean(), _boolean, CHOICE_OPS - {"in", "not_in"}),
    FieldType("date", lambda f: sa.Date(), _date, ORDER_OPS),
    FieldType("datetime", lambda f: UTCDateTime(), _datetime, ORDER_OPS),
    FieldType("email", _varchar(254), _email, TEXT_OPS, textual=True),
    FieldType("phone", _varchar(PHONE_LENGTH), _phone, TEXT_OPS, textual=True),
    FieldType("url", _varchar(2048), _url, TEXT_OPS),
    FieldType("enum", _varchar(64), _enum, CHOICE_OPS),
    FieldType("multi_enum", lambda f: JSON, _multi_enum, SET_OPS, scalar=False,
              orderable=False),
    FieldType("link", lambda f: BIGINT, _record_id, CHOICE_OPS),
    FieldType("links", None, _record_ids, SET_OPS, scalar=False, orderable=False),
    FieldType("user", lambda f: BIGINT, _record_id, CHOICE_OPS),
    FieldType("formula", _formula_column, _read_only, NUMBER_OPS, numeric=True),
    FieldType("rollup", _formula_column, _read_only, NUMBER_OPS, numeric=True),
    FieldType("file", lambda f: JSON, _files, EMPTY_OPS, scalar=False, orderable=False),
    FieldType("lines", None, _lines, EMPTY_OPS, scalar=False, orderable=False),
)}


def field_type(field: FieldSpec) -> FieldType:
    return TYPES[field.type]


is_empty = _empty
"""is_empty(value): empty as `required`, `requires` and the `empty` operator understand
it (one function, not a call through another: a bulk write asks it of every value)."""


def has_nul(value: Any) -> bool:
    """Whether text — alone or anywhere in lists, tuples and dicts of it — holds a NUL
    character: PostgreSQL cannot store one and SQLite's text functions stop at it, so
    neither database is given one."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return False
    return any(has_nul(item) for item in value)


def normalise(field: FieldSpec, value: Any, country: str | None = None) -> Any:
    """The stored form of `value`, or None when empty; raises ValueError with a message."""
    if _empty(value):
        return None
    if has_nul(value):
        raise ValueError(NUL_MESSAGE)
    return TYPES[field.type].normalise(value, field, country)
