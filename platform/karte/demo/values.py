"""One demo value for one field: chosen by type, limits and a few hints in the field's
name (`email`, `first_name`, `city`...), never by entity name.

Every value is returned in its stored form (the field normaliser has accepted it), so a
value that breaks the field's own limits never reaches the records service. A field with
a `pattern` gets text that matches it (rstr's regular-expression generator, with
unbounded repeats kept short so the text fits `max_length`); a `unique` field gets values
no earlier demo record used. When nothing fits, `NoValue` says why.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import rstr
from faker import Faker

from karte.demo import words
from karte.fields import normalise
from karte.meta.model import Entity, Field, Pack

LOCALES = ("en_US", "ja_JP")
POOL = 400
TRIES = 12
GIVE_UP = 3         # a field that gets no value this many times is not tried again
NAME_HINTS: tuple[tuple[str, Callable[[Faker], str] | None], ...] = (
    ("first_name", lambda f: f.first_name()),
    ("last_name", lambda f: f.last_name()),
    ("job", lambda f: f.job()[:60]),
    ("department", words.department),
    ("city", lambda f: f.city()),
    ("country", words.country),
    ("region", words.region),
    ("state", words.region),
    ("prefecture", words.region),
    ("street", words.street),
    ("address", lambda f: f.address().replace("\n", ", ")),
    ("postal", lambda f: f.postcode()),
    ("zip", lambda f: f.postcode()),
    ("postcode", lambda f: f.postcode()),
    ("invoice", lambda f: f.numerify("INV-######")),
    ("sku", lambda f: f.bothify("??-####").upper()),
    ("code", lambda f: f.bothify("??-####").upper()),
    ("step", words.step),
    ("reason", words.lost),
    ("subject", None),      # None: by the kind of record (words.record_kind)
    ("title", None),
    ("name", None),
)
PHONE_FORMATS = {"en_US": "+1 ### 555 ####", "ja_JP": "+81 3-####-####"}
# Typical values per number type (low, high, step) when the field's bounds allow them.
NUMBERS: dict[str, tuple[int, int, int | Decimal]] = {
    "integer": (1, 100, 1), "decimal": (1, 100, Decimal(1)),
    "money": (500, 200_000, 100), "percent": (0, 100, 5)}
DIGITS = {"money": (18, 2), "percent": (7, 2), "decimal": (18, 2)}
DAYS = (-30, 60)        # dates around the day the record was made (`Values.anchor`)
# Unique numbers and dates are drawn from a range this much wider than the typical one.
WIDE_NUMBERS, WIDE_DAYS = 10_000, 100
TOKEN_ALPHABET = string.digits + string.ascii_uppercase


class NoValue(Exception):
    """No value fits the field; the message says why, for the admin."""


def fakers(seed: int | None) -> dict[str, Faker]:
    found = {}
    for offset, tag in enumerate(LOCALES):
        fake = Faker(tag)
        fake.seed_instance(None if seed is None else seed + offset)
        found[tag] = fake
    return found


class _ShortRepeats(rstr.Rstr):
    """rstr's generator with `*`, `+` and `{n,}` repeating at most `limit` extra times."""

    def __init__(self, rng: random.Random, limit: int):
        super().__init__(rng)
        self.limit = limit

    def _handle_repeat(self, start_range: int, end_range: int, value: str) -> str:
        return super()._handle_repeat(start_range, min(end_range, start_range + self.limit),
                                      value)


def _token(number: int, width: int) -> str:
    """`number` in digits and capitals, at least `width` long: short unique text."""
    text = ""
    while number:
        number, digit = divmod(number, len(TOKEN_ALPHABET))
        text = TOKEN_ALPHABET[digit] + text
    return text.rjust(max(width, 1), "0")


def _date_bound(bound: Any) -> dt.date | None:
    return dt.date.fromisoformat(bound) if isinstance(bound, str) else bound


def _window(floor: Any, ceiling: Any, start: Any, span: Any) -> tuple[Any, Any]:
    """[start, start + span] moved inside [floor, ceiling] and cut to it: typical values
    where the bounds allow them, else values next to the bound that excludes them."""
    low = max(floor, min(start, ceiling - span))
    return low, min(ceiling, low + span)


class Values:
    """Values for the fields of demo records; remembers unique values and link targets."""

    def __init__(self, pack: Pack, rng: random.Random, fakes: dict[str, Faker],
                 users: list[int]):
        self.pack, self.rng, self.fakers, self.users = pack, rng, fakes, users
        self.ids: dict[str, list[int]] = {}
        self.today = dt.date.today()
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.anchor = self.today    # the day the record being drawn was made (`history`)
        self.pools: dict[tuple[str, str], list[str]] = {}
        self.used: dict[tuple[str, str], set] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.misses: Counter[tuple[str, str]] = Counter()
        self.broken: dict[tuple[str, str], str] = {}   # fields given up on, and why
        self.xegers = [_ShortRepeats(rng, limit) for limit in (6, 2, 0, 20)]
        self.kinds: dict[str, str] = {}     # entity -> words.record_kind
        self.locales: dict[str, set[int]] = {}  # entity -> ids drawn in LOCALES[1]

    def fake(self) -> Faker:
        return self.fakers[self.rng.choices(LOCALES, weights=(7, 3))[0]]

    def remember_locales(self, entity: str, made: list[tuple[int, str]]) -> None:
        """Which new records were drawn in a language other than the first (a set of
        ids per entity: the majority language needs no memory)."""
        others = self.locales.setdefault(entity, set())
        others.update(id for id, locale in made if locale and locale != LOCALES[0])

    def follow(self, entity: Entity, record: dict[str, Any], fake: Faker) -> Faker:
        """The language of the record's first link that has one: a record about a
        Japanese customer is written in Japanese. `fake` when it links to nothing."""
        for f in entity.fields.values():
            if f.type == "link" and isinstance(record.get(f.name), int):
                japanese = record[f.name] in self.locales.get(f.to_entity, ())
                return self.fakers[LOCALES[1] if japanese else LOCALES[0]]
        return fake

    def pooled(self, fake: Faker, key: str, make: Callable[[Faker], str]) -> str:
        """A value from a pool of POOL values made once per locale: Faker is far slower
        than the rest of a demo record, and a few hundred names per kind look real."""
        pool = self.pools.get((fake.locales[0], key))
        if pool is None:
            pool = self.pools[(fake.locales[0], key)] = [make(fake) for _ in range(POOL)]
        return self.rng.choice(pool)

    def count(self, entity: Entity, field: Field) -> int:
        """A fresh number per field: what makes unique text unique."""
        key = (entity.name, field.name)
        self.counters[key] = self.counters.get(key, 0) + 1
        return self.counters[key]

    # ------------------------------------------------------------ the one entry point

    def value(self, entity: Entity, field: Field, fake: Faker, need: bool = False) -> Any:
        """A valid value (stored form) for `field`, unused when it is unique; NoValue
        when none can be made. `need`: a list type gets at least one item."""
        key = (entity.name, field.name)
        if key in self.broken:
            raise NoValue(self.broken[key])
        choices = self.choices(field)
        if choices is not None:
            return self._choose(entity, field, choices, need)
        maker = MAKERS.get(field.type)
        if maker is None:
            raise NoValue(f"demo data has no {field.type} values; fill it in by hand")
        for attempt in range(TRIES):
            value = self.stored(field, maker(self, entity, field, fake, attempt))
            if value is not None and self.claim(entity, field, value):
                return value
        if field.unique:
            raise NoValue("no unused value found (the field is unique, and the values "
                          "that fit its limits are taken)")
        self.misses[key] += 1
        if self.misses[key] >= GIVE_UP:
            self.broken[key] = self._why(field)
        raise NoValue(self._why(field))

    def stored(self, field: Field, value: Any) -> Any:
        """The value as the records service would store it, or None when it refuses it."""
        if value is None or field.type in ("link", "links", "user"):
            return value
        try:
            return normalise(field, value, self.pack.country)
        except (ValueError, ArithmeticError):
            return None

    def claim(self, entity: Entity, field: Field, value: Any) -> bool:
        """Whether `value` may be used (and, for a unique field, mark it taken)."""
        if not field.unique:
            return True
        used = self.used.setdefault((entity.name, field.name), set())
        if value in used:
            return False
        used.add(value)
        return True

    def _why(self, field: Field) -> str:
        limits = ", ".join(f"{key} {getattr(field, key)}" for key in
                           ("pattern", "min_length", "max_length", "min", "max")
                           if getattr(field, key) is not None)
        return (f"no demo value fits this {field.type} field ({limits}); "
                "fill it in by hand" if limits else
                f"no demo value fits this {field.type} field; fill it in by hand")

    # ------------------------------------------------------------ finite choices

    def choices(self, field: Field) -> Sequence[Any] | None:
        """Every value a choice-like field may take (None: not a choice field)."""
        if field.type in ("link", "links"):
            return self.ids.get(field.to_entity, [])
        if field.type in ("enum", "multi_enum"):
            return field.option_keys
        return {"boolean": (True, False), "user": self.users}.get(field.type)

    def _choose(self, entity: Entity, field: Field, choices: Sequence[Any],
                need: bool) -> Any:
        if not choices:
            what = f"{field.to} records" if field.to else "options or users"
            raise NoValue(f"there are no {what} to choose from")
        if field.type in ("links", "multi_enum"):
            most = min(len(choices), 3 if field.type == "links" else 2)
            picked = self.rng.sample(choices, k=self.rng.randint(int(need), most))
            return sorted(picked) if field.type == "links" else \
                [key for key in choices if key in picked]
        return self.pick(entity, field, choices)

    def pick(self, entity: Entity, field: Field, choices: Sequence[Any]) -> Any:
        """One of `choices`; for a unique field one not used yet."""
        for _ in range(TRIES):
            value = self.rng.choice(choices)
            if self.claim(entity, field, value):
                return value
        used = self.used.get((entity.name, field.name), set())
        if len(used) < len(choices):
            start = self.rng.randrange(len(choices))
            for value in (*choices[start:], *choices[:start]):
                if self.claim(entity, field, value):
                    return value
        raise NoValue("every possible value is used by another record (the field is "
                      "unique)")

    # ------------------------------------------------------------ ranges

    def number(self, field: Field, low: Any = None, high: Any = None,
               strict: tuple[bool, bool] = (False, False),
               wide: bool = False) -> Decimal | int | None:
        """A number the field accepts, within [low, high] when given (open ends per
        `strict`): typical for its type where the bounds allow, else next to them.
        `wide` spreads values far apart (unique fields)."""
        typical_low, typical_high, step = NUMBERS[field.type]
        scale = field.scale if field.scale is not None else DIGITS.get(field.type, (0, 0))[1]
        finest = Decimal(1).scaleb(-scale) if field.type != "integer" else Decimal(1)
        floor, ceiling = self._limits(field, finest)
        if low is not None:
            floor = max(floor, Decimal(str(low)) + (finest if strict[0] else 0))
        if high is not None:
            ceiling = min(ceiling, Decimal(str(high)) - (finest if strict[1] else 0))
        span = Decimal(typical_high - typical_low) * (WIDE_NUMBERS if wide else 1)
        lo, hi = _window(floor, ceiling, Decimal(typical_low), span)
        value = self._between(lo, hi, finest if wide else Decimal(step))
        if value is None:
            value = self._between(lo, hi, finest)
        if value is None:
            return None
        return int(value) if field.type == "integer" else value

    def _limits(self, field: Field, finest: Decimal) -> tuple[Decimal, Decimal]:
        precision, scale = DIGITS.get(field.type, (19, 0))
        if field.type == "decimal":
            precision = field.precision or precision
            scale = field.scale if field.scale is not None else scale
        largest = Decimal(10) ** (precision - scale) - finest
        if field.type == "integer":
            largest = Decimal(2**63 - 1)
        floor = Decimal(str(field.min)) if field.min is not None else -largest
        ceiling = Decimal(str(field.max)) if field.max is not None else largest
        return max(floor, -largest), min(ceiling, largest)

    def _between(self, lo: Decimal, hi: Decimal, step: Decimal) -> Decimal | None:
        first = (lo / step).to_integral_value(ROUND_CEILING)
        last = (hi / step).to_integral_value(ROUND_FLOOR)
        if first > last:
            return None
        return Decimal(self.rng.randint(int(first), int(last))) * step

    def date(self, field: Field, low: dt.date | None = None, high: dt.date | None = None,
             strict: tuple[bool, bool] = (False, False), wide: bool = False) -> dt.date | None:
        """A date the field accepts, near the day the record was made where its bounds
        allow (a year-old order was ordered a year ago)."""
        floor = (_date_bound(field.min) or dt.date.min).toordinal()
        ceiling = (_date_bound(field.max) or dt.date.max).toordinal()
        if low is not None:
            floor = max(floor, low.toordinal() + strict[0])
        if high is not None:
            ceiling = min(ceiling, high.toordinal() - strict[1])
        span = (DAYS[1] - DAYS[0]) * (WIDE_DAYS if wide else 1)
        start = max(self.anchor.toordinal() + DAYS[0] - (span // 2 if wide else 0), 1)
        lo, hi = _window(floor, ceiling, start, span)
        if lo > hi:
            return None
        return dt.date.fromordinal(self.rng.randint(lo, hi))

    # ------------------------------------------------------------ text

    def text(self, entity: Entity, field: Field, fake: Faker, attempt: int) -> str | None:
        key, make = self.hint(entity, field)
        text = self.pooled(fake, key, make)
        if field.pattern:
            return self.patterned(field, text if attempt == 0 else None, attempt)
        if not field.unique:
            return self.fit(field, text, fake)
        number, longest = self.count(entity, field), field.max_length or 255
        suffix = f"-{number}"
        if attempt == 0 and len(suffix) < longest:
            return self.fit(field, text[:longest - len(suffix)].rstrip() + suffix, fake)
        return _token(number, field.min_length or 1)

    def hint(self, entity: Entity, field: Field) -> tuple[str, Callable[[Faker], str]]:
        """The pool a text field draws from, by its name and the kind of record: a
        company name, a product name, a deal, a to-do... (`words`)."""
        key, make = next(((k, m) for k, m in NAME_HINTS if k in field.name),
                         ("word", lambda f: f.word().capitalize()))
        if make is not None:
            return key, make
        kind = self.kinds.get(entity.name)
        if kind is None:
            kind = self.kinds[entity.name] = words.record_kind(entity)
        if key == "name" and kind != "product":
            return "company", lambda f: f.company()
        return f"title:{kind}", words.title(kind)

    def notes(self, entity: Entity, field: Field) -> tuple[str, Callable[[Faker], str]]:
        """The pool a long text field draws from: an address, a reason, else notes."""
        key, make = next(((k, m) for k, m in NAME_HINTS if k in field.name
                          and k in ("street", "address", "reason")), (None, None))
        if key is not None and make is not None:
            return key, make
        kind = self.kinds.get(entity.name)
        if kind is None:
            kind = self.kinds[entity.name] = words.record_kind(entity)
        return f"notes:{kind}", words.notes(kind)

    def patterned(self, field: Field, hint: str | None, attempt: int) -> str | None:
        """The hint when it matches the pattern, else text rstr makes from the pattern."""
        if hint is not None and self.stored(field, hint) is not None:
            return hint
        xeger = self.xegers[attempt % len(self.xegers)]
        try:
            return xeger.xeger(field.pattern or "")
        except Exception:  # noqa: BLE001 - rstr cannot build every construct (lookbehind,
            return None    # conditionals...); the field then gets NoValue, not a crash

    def fit(self, field: Field, text: str, fake: Faker) -> str:
        """`text` cut or lengthened to the field's min/max length."""
        longest = field.max_length or (255 if field.type == "string" else None)
        while field.min_length and len(text) < field.min_length:
            text = f"{text} {self.pooled(fake, 'paragraph', _paragraph)}"
        if longest is not None and len(text) > longest:
            text = text[:longest].rstrip()
        return text.ljust(field.min_length or 0, "x")


def _paragraph(fake: Faker) -> str:
    return fake.paragraph(nb_sentences=3)


def _unique_suffix(values: Values, entity: Entity, field: Field, attempt: int) -> str:
    return f"{values.count(entity, field)}" if field.unique or attempt else ""


def _email(values: Values, entity: Entity, field: Field, fake: Faker, attempt: int) -> str:
    user = values.pooled(fake, "user_name", lambda f: f.user_name())
    domain = values.pooled(fake, "domain", lambda f: f.domain_name())
    return f"{user}.{values.count(entity, field)}@{domain}".lower()


def _phone(values: Values, entity: Entity, field: Field, fake: Faker, attempt: int) -> str:
    if field.unique or attempt:
        return fake.numerify(PHONE_FORMATS[fake.locales[0]])
    return values.pooled(fake, "phone", lambda f: f.numerify(PHONE_FORMATS[f.locales[0]]))


def _url(values: Values, entity: Entity, field: Field, fake: Faker, attempt: int) -> str:
    domain = values.pooled(fake, "domain", lambda f: f.domain_name())
    return f"https://www.{domain}/{_unique_suffix(values, entity, field, attempt)}"


def _text(values: Values, entity: Entity, field: Field, fake: Faker, attempt: int) -> str:
    text = values.pooled(fake, *values.notes(entity, field))
    if field.unique or attempt:
        text = f"{values.count(entity, field)}. {text}"
    return values.fit(field, text, fake)


def _number(values: Values, entity: Entity, field: Field, fake: Faker,
            attempt: int) -> Decimal | int | None:
    return values.number(field, wide=field.unique)


def _datetime(values: Values, entity: Entity, field: Field, fake: Faker,
              attempt: int) -> dt.datetime:
    seconds = values.rng.randint(0, 180 * 86400)
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=seconds)


Maker = Callable[[Values, Entity, Field, Faker, int], Any]
MAKERS: dict[str, Maker] = {
    "string": Values.text,
    "text": _text,
    "integer": _number,
    "decimal": _number,
    "money": _number,
    "percent": _number,
    "date": lambda values, entity, field, fake, attempt: values.date(field, wide=field.unique),
    "datetime": _datetime,
    "email": _email,
    "phone": _phone,
    "url": _url,
}
