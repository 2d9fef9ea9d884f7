"""Running record actions (SPEC §3.7; docs/actions.md): the card's buttons and their URL.

An action may run when its `when` holds on the record and the actor's role may: a role
in its `roles` (admin always), or — without `roles` — anyone who may update the record;
an action that changes the record (a `set` or `move` step) needs the update right too.
Otherwise `ActionRefused` lists every reason at once and nothing is written.

The steps then run in order in ONE transaction: `set` is an update (it may write
read_only fields, as `on_enter` may), `move` goes through `Workflows.move` so
transitions, requires and rules hold, `create` makes a record whatever the actor's create
right (the action's roles gate it; the record is stamped with the actor), with lines
copied from this record's lines. When a step fails, everything is rolled back; the later
steps are judged without writing (unless the database itself refused, which ends the
transaction), so the refusal names each failing step with every reason it gives. A run
that succeeds is on the record's timeline ("Create order run by Ann: created Order
SO-2026-0001").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from karte.meta.model import Entity
from karte.meta.record_actions import OPEN_CREATED, LinesCopy, RecordAction, Step
from karte.problems import Problem
from karte.store import Records, audit
from karte.store.actor import Actor, actor_id
from karte.store.errors import (
    Conflict,
    Forbidden,
    RecordError,
    Refused,
    ValidationFailed,
)
from karte.store.permissions import allows, scope
from karte.store.records.write import judge_with, prepare_create, prepare_update
from karte.workflow import actions
from karte.workflow.action_words import reasons, say
from karte.workflow.checks import plan_move
from karte.workflow.messages import Voice, locale_of
from karte.workflow.service import Workflows

Record = dict[str, Any]
LINE_FIELD = "$line."


class ActionRefused(Refused):
    """The action may not run, or one of its steps failed (HTTP 422); nothing was
    written. `problems` holds every reason, in the actor's language."""

    status = 422


@dataclass
class Outcome:
    """A run that succeeded: the record as it is now, the records created, where to go."""

    record: Record
    created: list[tuple[str, Record]] = field(default_factory=list)
    open: tuple[str, int] = ("", 0)


class RecordActions:
    """Which actions a record offers, and running them, over one records service."""

    def __init__(self, records: Records):
        self.records, self.store, self.pack = records, records.store, records.pack

    def voice(self, actor: Actor | None) -> Voice:
        return Voice(self.pack, locale_of(actor, self.pack))

    def action(self, entity: Entity, name: str, actor: Actor | None) -> RecordAction:
        found = next((a for a in entity.actions if a.name == name), None)
        if found is None:
            voice = self.voice(actor)
            raise ValidationFailed([Problem(
                "action", say(voice, "unknown", name=name, entity=voice.entity(entity)),
                "unknown_action")])
        return found

    # ------------------------------------------------------------ may it run?

    def refusals(self, entity: Entity, record: Mapping[str, Any], action: RecordAction,
                 actor: Actor | None, conn: sa.Connection) -> list[Problem]:
        """Every reason the action may not run on `record` now (empty: it may)."""
        voice, role = self.voice(actor), actor.role if actor is not None else ""
        found = []
        listed = action.roles is None or actor is None or role == "admin" or role in action.roles
        may_update = allows(self.store, entity, actor, "update", record)
        if not listed or (action.roles is None and not may_update):
            found.append(Problem("", say(voice, "role", role=role), "forbidden"))
        elif action.changes_record and not may_update:
            found.append(Problem("", say(voice, "change", role=role,
                                         entity=voice.entity(entity)), "forbidden"))
        if action.when is not None:
            judge = judge_with(self.store.context(actor), self.store.fetcher(conn))
            found += [Problem("", reason, "when") for reason in reasons(
                voice, entity, action.when, lambda cond: judge(cond, record))]
        return found

    def available(self, entity: str, record: Mapping[str, Any],
                  actor: Actor | None) -> list[RecordAction]:
        """The actions the actor may run on the record as read: the card's buttons."""
        ent = self.store.entity(entity)
        if not ent.actions:
            return []
        with self.records.engine.connect() as conn:
            return [a for a in ent.actions if not self.refusals(ent, record, a, actor, conn)]

    # ------------------------------------------------------------ running

    def run(self, entity: str, id: Any, name: str, actor: Actor | None = None,
            version: Any = None) -> Outcome:
        """Run the action `name` on the record; see the module's docstring. Raises
        ActionRefused (every reason, nothing written), Conflict (stale `version`) or
        NotFound (no record the actor may read)."""
        ent = self.store.entity(entity)
        action = self.action(ent, name, actor)
        with self.records.transaction() as conn:
            stored = self.store.read_one(conn, ent, id, lock=True,
                                         scope=scope(self.store, ent, actor, "read"))
            if version is not None:
                self.records.update(ent.name, stored["id"], {}, version, conn=conn)
            refused = self.refusals(ent, stored, action, actor, conn)
            if refused:
                raise ActionRefused(refused)
            outcome = Outcome(self.records.get(ent.name, stored["id"], conn=conn))
            problems: list[Problem] = []
            usable = True          # False once the database refused: the transaction is lost
            for step in action.steps:
                if not problems:
                    found, usable = self._step(conn, ent, step, outcome, actor)
                elif usable:
                    found = self._judged(conn, ent, step, outcome.record, actor)
                else:
                    break
                problems += [self._explained(ent, action, step, p, actor) for p in found]
            if problems:
                raise ActionRefused(_once(problems))
            self._log(conn, ent, action, outcome, actor)
        return outcome

    def _step(self, conn: sa.Connection, entity: Entity, step: Step, outcome: Outcome,
              actor: Actor | None) -> tuple[list[Problem], bool]:
        """Run one step; its problems (none: done) and whether the transaction may still
        be read (a refusal by the database aborts it on PostgreSQL)."""
        scope_ = actions.Scope(self.store.context(actor), entity, outcome.record)
        try:
            if step.kind == "set":
                values = actions.resolved(entity, step.values, scope_)
                self.records.update(entity.name, outcome.record["id"], values,
                                    outcome.record["version"], actor, moving=True, conn=conn)
            elif step.kind == "move":
                Workflows(self.records).move(entity.name, outcome.record["id"],
                                             step.stage or "", actor, workflow=step.workflow,
                                             conn=conn)
            else:
                target = self.pack.entities[step.entity or ""]
                values = self._create_values(target, step, scope_)
                made = self.records.create(target.name, values, actor, moving=True,
                                           conn=conn, enforce=False)
                outcome.created.append((target.name, made))
        except (ValidationFailed, Refused, Conflict, Forbidden) as error:
            return error.problems, not _from_database(error)
        if step.kind != "create":      # read as `get` reads it: lines included
            outcome.record = self.records.get(entity.name, outcome.record["id"], conn=conn)
        return [], True

    def _judged(self, conn: sa.Connection, entity: Entity, step: Step, record: Record,
                actor: Actor | None) -> list[Problem]:
        """What a later step would say, judged without writing (after a failed step, so
        that the refusal gives every reason at once)."""
        try:
            return self._judge(conn, entity, step, record, actor)
        except RecordError as error:
            return error.problems

    def _judge(self, conn: sa.Connection, entity: Entity, step: Step, record: Record,
               actor: Actor | None) -> list[Problem]:
        ctx = self.store.context(actor)
        judge = judge_with(ctx, self.store.fetcher(conn))
        scope_ = actions.Scope(ctx, entity, record)
        if step.kind == "set":
            values = actions.resolved(entity, step.values, scope_)
            return prepare_update(self.store, entity, record, values, judge, True)[2]
        if step.kind == "create":
            target = self.pack.entities[step.entity or ""]
            values = self._create_values(target, step, scope_)
            return prepare_create(self.store, target, values, ctx, judge, True)[1]
        flows = Workflows(self.records)
        chosen = flows.workflow_for(entity, step.stage or "", step.workflow, actor)
        if record.get(chosen.field) == step.stage:
            return []
        return plan_move(self.records, conn, chosen, entity, record, step.stage or "", actor,
                         flows.voice(actor), {}).problems

    def _explained(self, entity: Entity, action: RecordAction, step: Step, problem: Problem,
                   actor: Actor | None) -> Problem:
        """A step's problem, saying which step of which action it is about."""
        voice = self.voice(actor)
        label, message = voice.text(action.label), problem.message.rstrip(".")
        if step.kind == "create":
            target = self.pack.entities[step.entity or ""]
            return Problem(f"{target.name}.{problem.where}" if problem.where else target.name,
                           say(voice, "create", action=label, target=voice.entity(target),
                               message=message), "action")
        if step.kind == "move":
            to = next((voice.stage(w.stage(step.stage)) for w in
                       self.pack.workflows_of(entity.name) if step.stage in w.stage_keys),
                      step.stage or "")
            return Problem(problem.where, say(voice, "move", action=label, to=to,
                                              entity=voice.entity(entity), message=message),
                           "action")
        return Problem(problem.where, say(voice, "set", action=label, message=message,
                                          field=_field_label(voice, entity, problem.where)),
                       "action")

    def _create_values(self, target: Entity, step: Step,
                       scope_: actions.Scope) -> dict[str, Any]:
        values = actions.resolved(target, step.values, scope_)
        if step.lines is not None:
            values[step.lines.target] = self._lines(target, step.lines, scope_)
        return values

    def _lines(self, target: Entity, copy: LinesCopy, scope_: actions.Scope) -> list[dict]:
        """One new line per line of this record, in order; `$line.<field>` reads it."""
        part = self.pack.entities[getattr(target.fields[copy.target], "of", "")]
        made = []
        for line in scope_.record.get(copy.source) or ():
            made.append({name: _line_value(line, value) if _is_line(value)
                         else actions.resolve_value(value, part.fields.get(name), scope_)
                         for name, value in copy.values.items()})
        return made

    def _log(self, conn: sa.Connection, entity: Entity, action: RecordAction,
             outcome: Outcome, actor: Actor | None) -> None:
        """The run on the record's timeline, with the records it created; and where the
        user lands (`open`)."""
        created = [{"entity": name, "id": made["id"],
                    "title": made.get(self.pack.entities[name].title_field)}
                   for name, made in outcome.created]
        details = {"name": action.name, "created": audit.jsonable(created)}
        audit.write(conn, self.store.audit, [audit.row(
            entity.name, outcome.record["id"], "action", actor_id(actor),
            self.store.context(actor).now, {audit.ACTION_RUN: [None, details]})])
        last = outcome.created[-1] if outcome.created else None
        outcome.open = ((last[0], last[1]["id"]) if action.open == OPEN_CREATED and last
                        else (entity.name, outcome.record["id"]))


def _from_database(error: BaseException) -> bool:
    """Whether the database itself refused (the error's cause chain holds its error)."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, sa.exc.DBAPIError):
            return True
        cause = cause.__cause__
    return False


def _once(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _is_line(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(LINE_FIELD)


def _line_value(line: Mapping[str, Any], token: str) -> Any:
    value = line.get(token.removeprefix(LINE_FIELD))
    return list(value) if isinstance(value, list | tuple) else value


def _field_label(voice: Voice, entity: Entity, name: str) -> str:
    found = entity.lookup(name)
    return voice.field(found) if found is not None else name


def run_action(records: Records, entity: str, id: Any, name: str, actor: Actor | None = None,
               version: Any = None) -> Outcome:
    """Run a record action (see `RecordActions.run`)."""
    return RecordActions(records).run(entity, id, name, actor, version)
