"""Realistic demo records for any pack (`karte demo`), in English and Japanese.

Nothing here knows an entity by name: values come from each field's type, its limits and
a few hints in its name (`email`, `first_name`, `city`...). Entities are filled in link
order so every link points at a real record; all writes go through the records service.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from faker import Faker

from karte.fields import normalise
from karte.meta.model import Entity, Field, Pack, Workflow
from karte.store.errors import ValidationFailed

LOCALES = ("en_US", "ja_JP")
BATCH = 2000
NAME_HINTS: tuple[tuple[str, Callable[[Faker], str]], ...] = (
    ("first_name", lambda f: f.first_name()),
    ("last_name", lambda f: f.last_name()),
    ("job", lambda f: f.job()[:60]),
    ("city", lambda f: f.city()),
    ("country", lambda f: f.country()),
    ("address", lambda f: f.address().replace("\n", ", ")),
    ("street", lambda f: f.street_address()),
    ("zip", lambda f: f.postcode()),
    ("postcode", lambda f: f.postcode()),
    ("invoice", lambda f: f.numerify("INV-######")),
    ("sku", lambda f: f.bothify("??-####").upper()),
    ("code", lambda f: f.bothify("??-####").upper()),
    ("subject", lambda f: f.sentence(nb_words=5).rstrip(".")),
    ("title", lambda f: f.catch_phrase() if f.locale_tag == "en_US" else f.sentence(4)),
    ("name", lambda f: f.company()),
)
POOL = 400
PHONE_FORMATS = {"en_US": "+1 ### 555 ####", "ja_JP": "+81 3-####-####"}


def _constrained(field: Field) -> bool:
    """Whether a generated value might break the field's own limits."""
    return bool(field.pattern or field.min_length or field.max_length or
                field.type in ("phone", "email", "url"))


def _fakers(seed: int | None) -> dict[str, Faker]:
    fakers = {}
    for offset, tag in enumerate(LOCALES):
        fake = Faker(tag)
        fake.seed_instance(None if seed is None else seed + offset)
        fake.locale_tag = tag
        fakers[tag] = fake
    return fakers


class Generator:
    """Values for one field of one record, chosen by type, limits and name hints."""

    def __init__(self, pack: Pack, rng: random.Random, fakers: dict[str, Faker],
                 users: list[int]):
        self.pack, self.rng, self.fakers, self.users = pack, rng, fakers, users
        self.ids: dict[str, list[int]] = {}
        self.serial = 0
        self.today = dt.date.today()
        self.pools: dict[tuple[str, str], list[str]] = {}

    def pooled(self, fake: Faker, key: str, make: Callable[[Faker], str]) -> str:
        """A value from a pool of POOL values made once per locale: Faker is far slower
        than the rest of a demo record, and a few hundred names per kind look real."""
        pool = self.pools.get((fake.locale_tag, key))
        if pool is None:
            pool = self.pools[(fake.locale_tag, key)] = [make(fake) for _ in range(POOL)]
        return self.rng.choice(pool)

    def record(self, entity: Entity) -> dict[str, Any]:
        fake = self.fakers[self.rng.choices(LOCALES, weights=(7, 3))[0]]
        self.serial += 1
        values = {}
        for field in entity.fields.values():
            if field.read_only or field.workflow or field.type in ("formula", "file"):
                continue
            wanted = field.required or field.required_if is not None or field.unique
            if not wanted and self.rng.random() > 0.75:
                continue
            value = self.value(field, fake)
            if value is not None:
                values[field.name] = value
        for workflow in self.pack.workflows_of(entity.name):
            self._stage(entity, workflow, values, fake)
        return values

    def _stage(self, entity: Entity, workflow: Workflow, values: dict[str, Any],
               fake: Faker) -> None:
        """Spread records over a pipeline's stages (fewer further on, some closed), with
        the fields each stage requires filled in, so boards look like a working week."""
        open_stages = [s for s in workflow.stages if not s.final]
        weights = [len(open_stages) - open_stages.index(s) if not s.final
                   else max(1, len(open_stages) // 2) for s in workflow.stages]
        stage = self.rng.choices(workflow.stages, weights=weights)[0]
        values[workflow.field] = stage.key
        for name in stage.requires:
            if values.get(name) in (None, "", []) and name in entity.fields:
                values[name] = self.value(entity.fields[name], fake)

    def value(self, field: Field, fake: Faker) -> Any:
        maker = getattr(self, f"_{field.type}", None)
        value = maker(field, fake) if maker else None
        if value is None or not _constrained(field):
            return value
        try:
            normalise(field, value, self.pack.country)
        except ValueError:
            return None
        return value

    def _string(self, field: Field, fake: Faker) -> str:
        key, make = next(((k, m) for k, m in NAME_HINTS if k in field.name),
                         ("word", lambda f: f.word().capitalize()))
        text = self.pooled(fake, key, make)
        if field.unique:
            text = f"{text}-{self.serial}"
        if field.pattern and not re.fullmatch(field.pattern, text):
            text = fake.bothify("??-####").upper() + (f"-{self.serial}" if field.unique else "")
        return text[: field.max_length or 255]

    def _text(self, field: Field, fake: Faker) -> str:
        return self.pooled(fake, "paragraph", lambda f: f.paragraph(nb_sentences=3))

    def _integer(self, field: Field, fake: Faker) -> int:
        low = int(field.min) if field.min is not None else 1
        return self.rng.randint(low, int(field.max) if field.max is not None else low + 99)

    def _decimal(self, field: Field, fake: Faker) -> Decimal:
        low = Decimal(str(field.min)) if field.min is not None else Decimal(0)
        high = Decimal(str(field.max)) if field.max is not None else low + 1000
        return (low + (high - low) * Decimal(self.rng.random())).quantize(Decimal("0.01"))

    def _money(self, field: Field, fake: Faker) -> Decimal:
        return Decimal(self.rng.randrange(5, 2000) * 100)

    def _percent(self, field: Field, fake: Faker) -> Decimal:
        return Decimal(self.rng.randrange(0, 21) * 5)

    def _boolean(self, field: Field, fake: Faker) -> bool:
        return self.rng.random() < 0.5

    def _date(self, field: Field, fake: Faker) -> dt.date:
        return self.today + dt.timedelta(days=self.rng.randint(-180, 90))

    def _datetime(self, field: Field, fake: Faker) -> dt.datetime:
        seconds = self.rng.randint(0, 180 * 86400)
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)

    def _email(self, field: Field, fake: Faker) -> str:
        user = self.pooled(fake, "user_name", lambda f: f.user_name())
        domain = self.pooled(fake, "domain", lambda f: f.domain_name())
        return f"{user}.{self.serial}@{domain}".lower()

    def _phone(self, field: Field, fake: Faker) -> str:
        return self.pooled(fake, "phone", lambda f: f.numerify(PHONE_FORMATS[f.locale_tag]))

    def _url(self, field: Field, fake: Faker) -> str:
        return f"https://www.{self.pooled(fake, 'domain', lambda f: f.domain_name())}/"

    def _enum(self, field: Field, fake: Faker) -> str:
        return self.rng.choice(field.option_keys)

    def _multi_enum(self, field: Field, fake: Faker) -> list[str]:
        return self.rng.sample(list(field.option_keys), k=min(2, len(field.options)))

    def _link(self, field: Field, fake: Faker) -> int | None:
        targets = self.ids.get(field.to)
        return self.rng.choice(targets) if targets else None

    def _links(self, field: Field, fake: Faker) -> list[int]:
        targets = self.ids.get(field.to) or []
        return self.rng.sample(targets, k=min(len(targets), self.rng.randint(0, 3)))

    def _user(self, field: Field, fake: Faker) -> int | None:
        return self.rng.choice(self.users) if self.users else None


def link_order(pack: Pack) -> list[Entity]:
    """Entities ordered so that link targets come first (cycles broken arbitrarily)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:
            return
        visiting.add(name)
        for field in pack.entities[name].fields.values():
            if field.type in ("link", "links") and field.to in pack.entities:
                visit(field.to)
        done.append(name)

    for name in pack.entities:
        visit(name)
    return [pack.entities[name] for name in done]


def shares(pack: Pack, size: int) -> dict[str, int]:
    """How many records each entity gets: entities that link to others get more."""
    weights = {e.name: 1 + sum(f.type == "link" for f in e.fields.values())
               for e in pack.entities.values()}
    total = sum(weights.values()) or 1
    counts = {name: max(1, size * weight // total) for name, weight in weights.items()}
    largest = max(counts, key=counts.get)
    counts[largest] += size - sum(counts.values())
    return counts


def _demo_users(engine: sa.Engine, pack: Pack, instance: Path) -> list[int]:
    """admin@example.com and one <role>@example.com per role, sharing one password kept
    in the instance folder so `make run` can print the login on every start."""
    from karte.auth.users import add_user

    path = instance / "demo-login.txt"
    password = path.read_text().strip() if path.exists() else secrets.token_urlsafe(12)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return [add_user(engine, pack, f"{role}@example.com", role, password=password,
                     name=role.capitalize())
            for role in pack.role_names]


def has_records(records, pack: Pack) -> bool:
    return any(records.query(name, limit=1, include_deleted=True) for name in pack.entities)


def fill(engine: sa.Engine, pack: Pack, *, size: int, seed: int | None, if_empty: bool,
         instance: Path, echo: Callable[[str], Any]) -> None:
    """Create demo users and `size` records in all; print how to sign in."""
    import click

    from karte.store.db import refresh_statistics
    from karte.store.records import Records

    records = Records(engine, pack)
    if if_empty and has_records(records, pack):
        echo("Demo data already loaded.")
    else:
        users = _demo_users(engine, pack, instance)
        generator = Generator(pack, random.Random(seed), _fakers(seed), users)
        counts = shares(pack, size)
        with click.progressbar(length=size, label="Creating demo records") as bar:
            for entity in link_order(pack):
                _fill_entity(records, generator, entity, counts[entity.name], bar.update)
        refresh_statistics(engine, full=True)
        echo(f"Created {size} demo records.")
    echo(login_line(instance, pack))


def login_line(instance: Path, pack: Pack) -> str:
    """How to sign in: the demo users' login, or how to add a user when the database
    holds records that did not come from `karte demo`."""
    path = instance / "demo-login.txt"
    if not path.exists():
        return ("This database was not filled by `karte demo`; add a user with "
                "`karte user add EMAIL --role admin --password-stdin`.")
    return (f"Sign in as admin@example.com with password {path.read_text().strip()} "
            f"(also: one user per role, e.g. {pack.role_names[-1]}@example.com, "
            "same password).")


def _fill_entity(records, generator: Generator, entity: Entity, count: int,
                 advance: Callable[[int], Any]) -> None:
    ids: list[int] = []
    for start in range(0, count, BATCH):
        rows = [generator.record(entity) for _ in range(min(BATCH, count - start))]
        try:
            ids += records.create_many(entity.name, rows, moving=True)
        except ValidationFailed:
            # A stage rule the generator could not satisfy: these rows start at the
            # beginning of their pipelines instead.
            for row in rows:
                for workflow in records.pack.workflows_of(entity.name):
                    row.pop(workflow.field, None)
            ids += records.create_many(entity.name, rows)
        advance(len(rows))
    generator.ids[entity.name] = ids
