"""`karte demo`: demo users, then demo records entity by entity, in batches.

Entities are filled in link order so every link points at a real record. Each batch is
written with the records service's `create_many` (validation, audit, stage history, one
transaction) as records placed in their stages (`moving=True`, as an import with moves),
and then the records the `on_enter` actions of those stages make. A batch the service
refuses names its rows: those are drawn again (once as they were, once at the start of
their pipelines) and the rest is written; a record that still cannot be saved is counted
with its reason, and the demo goes on with the others.
"""

from __future__ import annotations

import random
import re
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from karte.meta.model import Entity, Pack
from karte.problems import Problem, counted
from karte.store import Records
from karte.store.errors import ValidationFailed

from .drafts import Builder, Draft
from .files import DemoFiles
from .history import backdate
from .links import Links
from .satisfy import Fetch
from .stages import creations, has_actions
from .values import Values, fakers

if TYPE_CHECKING:
    from karte.files.service import Files

BATCH = 2000
ROW = re.compile(r"^row (\d+)(?:: (.*))?$", re.DOTALL)


def link_order(pack: Pack) -> list[Entity]:
    """Entities ordered so that link targets come first (cycles broken arbitrarily)."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:
            return
        visiting.add(name)
        for field in pack.entities[name].fields.values():
            if field.type in ("link", "links") and field.to_entity in pack.entities:
                visit(field.to_entity)
            elif field.type == "lines" and field.of in pack.entities:
                visit(field.of or "")      # what its lines link to comes first
        done.append(name)

    for name in pack.entities:
        visit(name)
    return [pack.entities[name] for name in done]


def shares(pack: Pack, size: int) -> dict[str, int]:
    """How many records each entity gets: entities that link to others get more."""
    weights = {e.name: 1 + sum(f.type == "link" for f in e.fields.values())
               for e in pack.entities.values() if e.part_of is None}  # lines: with parents
    total = sum(weights.values()) or 1
    counts = {name: max(1, size * weight // total) for name, weight in weights.items()}
    largest = max(counts, key=lambda name: counts[name])
    counts[largest] += size - sum(counts.values())
    return counts


def _by_row(problems: Sequence[Problem]) -> dict[int, list[Problem]] | None:
    """create_many's problems per row (counted from 0); None when one names no row."""
    rows: dict[int, list[Problem]] = {}
    for problem in problems:
        found = ROW.match(problem.where)
        if found is None:
            return None
        rows.setdefault(int(found.group(1)) - 1, []).append(
            Problem(found.group(2) or "", problem.message, problem.code))
    return rows


def _fetcher(records: Records) -> Fetch:
    """Linked records for conditions that follow a link, each read once, on a short
    connection (a reader held open would stand in the batches' way on SQLite)."""
    cache: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def fetch(name: str, id: int) -> Mapping[str, Any] | None:
        if (name, id) not in cache:
            with records.engine.connect() as conn:
                found = records.store.read(conn, records.pack.entities[name], [id],
                                           include_deleted=True)
            cache[(name, id)] = found.get(id)
        return cache[(name, id)]

    return fetch


class Run:
    """One `karte demo`: what was made, and what could not be, with why."""

    def __init__(self, records: Records, seed: int | None, users: list[int],
                 files: Files | None = None):
        self.records, self.pack = records, records.pack
        self.ctx = records.store.context(None)
        self.values = Values(self.pack, random.Random(seed), fakers(seed), users)
        self.links = Links(self.pack)
        demo_files = None if files is None else DemoFiles(
            lambda entity, field, data, name: files.receive(entity, field, data, name, None),
            self.values.rng, users)
        self.builder = Builder(records.store, self.values, self.links, self.ctx,
                               _fetcher(records), demo_files)
        self.created = self.by_actions = self.failures = 0
        self.reasons: Counter[tuple[str, str]] = Counter()

    def entity(self, entity: Entity, count: int, advance: Callable[[int], Any]) -> None:
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            drafts = [d for d in (self._first(entity) for _ in range(size)) if d is not None]
            done = self._insert(entity, drafts)
            self._backdate(entity, done)
            self.created += len(done)
            self._made(entity, done)
            self._actions(entity, done)
            advance(size)

    def _first(self, entity: Entity) -> Draft | None:
        draft = self.builder.draft(entity)
        if draft.problems and draft.placements:
            draft = self.builder.draft(entity, at_start=True)
            draft.tries = 1
        if draft.problems:
            self._fail(draft, draft.problems)
            return None
        return draft

    def _again(self, draft: Draft, problems: list[Problem]) -> Draft | None:
        """A refused draft drawn again (at the start of its pipelines the second time),
        or None when it has had its chances."""
        if draft.origin or draft.tries >= 2:
            self._fail(draft, problems)
            return None
        again = self.builder.draft(draft.entity, at_start=draft.tries >= 1)
        again.tries = draft.tries + 1
        if again.problems:
            self._fail(again, again.problems)
            return None
        return again

    def _insert(self, entity: Entity, drafts: list[Draft]) -> list[tuple[Draft, int]]:
        pending = drafts
        while pending:
            try:
                ids = self.records.create_many(entity.name, [d.values for d in pending],
                                               moving=True, files=True)
                return list(zip(pending, ids, strict=True))
            except sa.exc.DBAPIError as error:   # a refusal the service did not foresee
                reason = str(error.orig).partition("\n")[0]
                refused = Problem("", f"the database refused it: {reason}", "database")
                return self._halves(entity, pending, [refused])
            except ValidationFailed as error:
                rows = _by_row(error.problems)
                if rows is None:
                    return self._halves(entity, pending, error.problems)
                redrawn = [self._again(d, rows[i]) if i in rows else d
                           for i, d in enumerate(pending)]
                pending = [d for d in redrawn if d is not None]
        return []

    def _halves(self, entity: Entity, drafts: list[Draft],
                problems: list[Problem]) -> list[tuple[Draft, int]]:
        """The database refused a batch without naming a row: find the rows by halves."""
        if len(drafts) == 1:
            again = self._again(drafts[0], problems)
            return [] if again is None else self._insert(entity, [again])
        middle = len(drafts) // 2
        return self._insert(entity, drafts[:middle]) + self._insert(entity, drafts[middle:])

    def _backdate(self, entity: Entity, done: list[tuple[Draft, int]]) -> None:
        """The new records get their past (`history`): when they were made and moved."""
        made = [(id, d.placements, d.timeline, (d.mover or self.ctx).user_id)
                for d, id in done if d.timeline is not None]
        with self.records.engine.begin() as conn:
            backdate(conn, self.records.store, entity, made)

    def _made(self, entity: Entity, done: list[tuple[Draft, int]]) -> None:
        ids = [id for _, id in done]
        self.values.ids.setdefault(entity.name, []).extend(ids)
        self.values.remember_locales(entity.name, [(id, d.locale) for d, id in done])
        self.links.remember(entity.name, ids, [d.values for d, _ in done])

    def _actions(self, entity: Entity, done: list[tuple[Draft, int]]) -> None:
        """Run the `create` actions of the stages the new records entered."""
        made: dict[str, list[Draft]] = {}
        for draft, id in done:
            if not has_actions(draft.placements):
                continue
            record = {**self.builder.view(entity, draft.values), "id": id}
            for creation in creations(self.pack, entity, draft.placements, record,
                                      draft.mover or self.ctx):
                target = self.pack.entities[creation.entity]
                made.setdefault(target.name, []).append(Draft(
                    target, dict(creation.values),
                    origin=f"made by an on_enter action of {entity.name}"))
        for name, drafts in made.items():
            target = self.pack.entities[name]
            created = self._insert(target, drafts)
            self.by_actions += len(created)
            self._made(target, created)

    def _fail(self, draft: Draft, problems: list[Problem]) -> None:
        self.failures += 1
        origin = f" ({draft.origin})" if draft.origin else ""
        for problem in problems or [Problem("", "could not be saved")]:
            where = f"{draft.entity.name}.{problem.where}" if problem.where \
                else draft.entity.name
            self.reasons[(where, f"{problem.message}{origin}")] += 1

    def report(self) -> list[Problem]:
        """Why records could not be made: one problem per field and reason, counted."""
        return [Problem(where, f"{message} ({counted(count, 'record')})", "demo")
                for (where, message), count in sorted(self.reasons.items())]


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


def has_records(records: Records, pack: Pack) -> bool:
    return any(records.query(name, limit=1, include_deleted=True) for name in pack.entities)


def fill(engine: sa.Engine, pack: Pack, *, size: int, seed: int | None, if_empty: bool,
         instance: Path, echo: Callable[[str], Any], files: Files | None = None
         ) -> list[Problem]:
    """Create demo users and `size` records in all; print how to sign in. Returns why
    some records could not be made (empty when all were). `files`: the files service
    the demo's files are stored through (`karte demo` gives the app's); default: one
    over the instance's `files/` folder, where the app keeps files by default."""
    import click

    from karte.store.db import refresh_statistics

    records = Records(engine, pack)
    if if_empty and has_records(records, pack):
        echo("Demo data already loaded.")
        echo(login_line(instance, pack))
        return []
    run = Run(records, seed, _demo_users(engine, pack, instance),
              files or _local_files(records, instance))
    counts = shares(pack, size)
    with click.progressbar(length=size, label="Creating demo records") as bar:
        for entity in link_order(pack):
            if entity.name in counts:
                run.entity(entity, counts[entity.name], bar.update)
    refresh_statistics(engine, full=True, tables=list(records.store.tables))
    actions = f" (and {run.by_actions} more by workflow actions)" if run.by_actions else ""
    echo(f"Created {run.created} demo records{actions}.")
    if run.failures:
        echo(f"{counted(run.failures, 'demo record')} could not be created; why is "
             "listed below.")
    echo(login_line(instance, pack))
    return run.report()


def _local_files(records: Records, instance: Path) -> Files:
    """Files kept in the instance's folder (the demo signs no pending upload: any secret)."""
    from karte.config import DEFAULT_MAX_UPLOAD_MB
    from karte.files.service import Files
    from karte.files.storage import storage_for

    return Files(records, storage_for(None, instance), DEFAULT_MAX_UPLOAD_MB,
                 secrets.token_hex(16))


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
