"""The one way to move a record between stages (SPEC §4): card stage bar, kanban drag,
API and import all call `Workflows.move`, so the rules hold everywhere.

A move is judged first (`checks.plan_move`: every reason at once, in the mover's
language); if anything is wrong, `MoveRefused` is raised and nothing is written. Otherwise
the carried values, the `set` actions and the new stage are saved in one `update`
(`moving=True`: its audit row is a "move"), the `create` actions make their records, and
the `karte_stage_move` row is written — all in one transaction, so any failure (a unique
value taken meanwhile, a stale version) rolls every part back.

A move is an update (SPEC §4): the mover needs the `update` right on the record as stored
(NotFound when they may not even read it, Forbidden otherwise). The `on_enter` actions are
the pack's declared consequences and run whatever the mover's other rights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from karte.meta import moves
from karte.meta.model import Entity, Workflow
from karte.problems import Problem
from karte.store import Records, field_rights
from karte.store.actor import Actor, actor_id
from karte.store.db import snapshot
from karte.store.errors import Forbidden, ValidationFailed
from karte.store.permissions import check_record, read_for, scope
from karte.store.records.write import judge_with
from karte.workflow import actions, history, reports
from karte.workflow import board as kanban
from karte.workflow.checks import Plan, plan_move, source_index
from karte.workflow.errors import MoveRefused
from karte.workflow.messages import Voice, locale_of

Record = dict[str, Any]


class Workflows:
    """Moves, stage history and pipeline reports of one pack, over its records service."""

    def __init__(self, records: Records):
        self.records, self.pack, self.store = records, records.pack, records.store

    # ------------------------------------------------------------ which workflow

    def voice(self, actor: Actor | None) -> Voice:
        return Voice(self.pack, locale_of(actor, self.pack))

    def workflow(self, name: str | Workflow) -> Workflow:
        if isinstance(name, Workflow):
            return name
        try:
            return self.pack.workflows[name]
        except KeyError:
            raise ValidationFailed([Problem("workflow", f'There is no workflow "{name}".',
                                            "unknown_workflow")]) from None

    def workflow_for(self, entity: Entity, to: str, name: str | None = None,
                     actor: Actor | None = None) -> Workflow:
        """The workflow a move to `to` belongs to: `name` when given, else the entity's
        only workflow having that stage (ValidationFailed when none or several do)."""
        voice, noun = self.voice(actor), self.voice(actor).entity(entity)
        owned = self.pack.workflows_of(entity.name)
        if name is not None:
            chosen = self.workflow(name)
            if chosen not in owned:
                raise _invalid("workflow", voice.say("wrong_workflow", name=name, entity=noun))
            owned = (chosen,)
        if not owned:
            raise _invalid("workflow", voice.say("no_workflow", entity=noun))
        having = [w for w in owned if to in w.stage_keys]
        if len(having) > 1:
            raise _invalid("workflow", voice.say("ambiguous", key=str(to), entity=noun,
                                                 names=voice.join(w.name for w in having)))
        if not having:
            keys = voice.join(k for w in owned for k in w.stage_keys)
            raise _invalid(owned[0].field, voice.say("unknown_stage", key=str(to),
                                                     entity=noun, keys=keys))
        return having[0]

    # ------------------------------------------------------------ moves

    def can_move(self, entity: str, record: Any, to: str, actor: Actor | None = None,
                 values: Mapping[str, Any] | None = None,
                 workflow: str | None = None) -> list[Problem]:
        """Every reason the move would be refused now (empty: allowed). `record` is a
        record (as read) or its id. Nothing is written. A record the actor may not read
        raises NotFound; one they may not update gives the Forbidden problem as the reason."""
        ent = self.store.entity(entity)
        chosen = self.workflow_for(ent, to, workflow, actor)
        with self.records.engine.connect() as conn:
            stored = self.store.read_one(conn, ent, _id_of(record),
                                         scope=scope(self.store, ent, actor, "read"))
            try:
                check_record(self.store, conn, ent, actor, "update", stored["id"], "move")
            except Forbidden as error:
                return error.problems
            # a record as the actor read it lacks their hidden fields, and a record from a
            # list has no lines (SPEC §3.5): the stored ones count
            current = {**stored, **record} if isinstance(record, Mapping) else stored
            if current.get(chosen.field) == to:
                return []
            return plan_move(self.records, conn, chosen, ent, current, to, actor,
                             self.voice(actor), values or {}).problems

    def move(self, entity: str, id: Any, to: str, actor: Actor | None = None,
             values: Mapping[str, Any] | None = None, version: Any = None,
             workflow: str | None = None, *, conn: sa.Connection | None = None) -> Record:
        """Move a record to stage `to`, saving `values` with it; returns the record as
        saved. Raises MoveRefused (every reason, nothing written), Conflict (stale
        `version`), NotFound, or ValidationFailed (no such stage or workflow). `conn=`
        joins the caller's transaction (a record action's steps)."""
        ent = self.store.entity(entity)
        chosen = self.workflow_for(ent, to, workflow, actor)
        with self._joined(conn) as conn:
            current = read_for(self.store, conn, ent, id, actor, "update", lock=True,
                               verb="move")
            if version is not None:
                self.records.update(ent.name, id, {}, version, actor, conn=conn)
            if current.get(chosen.field) == to:
                return self._stay(conn, ent, current, actor, values)
            plan = plan_move(self.records, conn, chosen, ent, current, to, actor,
                             self.voice(actor), values or {})
            if plan.problems:
                raise MoveRefused(plan.problems, plan.missing, plan.only_missing)
            return self._apply(conn, ent, plan, actor)

    @contextmanager
    def _joined(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        """The caller's transaction, else a new one."""
        if conn is not None:
            yield conn
        else:
            with self.records.transaction() as own:
                yield own

    def _stay(self, conn: sa.Connection, entity: Entity, current: Record,
              actor: Actor | None, values: Mapping[str, Any] | None) -> Record:
        """Moving to the stage a record is in is no move (no history, no actions); values
        sent along are saved as an ordinary edit, never dropped."""
        if not values:
            return current
        return self.records.update(entity.name, current["id"], values, current["version"],
                                   actor, conn=conn)

    def _apply(self, conn: sa.Connection, entity: Entity, plan: Plan,
               actor: Actor | None) -> Record:
        workflow, before = plan.workflow, plan.record
        changes = {**plan.carried, **plan.sets, workflow.field: plan.target.key}
        try:
            moved = self.records.update(entity.name, before["id"], changes, before["version"],
                                        actor, moving=True, conn=conn)
        except ValidationFailed as error:
            raise MoveRefused(error.problems) from error
        for creation in plan.creations:
            self._create(conn, plan, creation, actor)
        history.write_move(conn, self.store.tables, workflow, before, plan.target.key,
                           actor_id(actor), moved["updated_at"])
        return moved

    def _create(self, conn: sa.Connection, plan: Plan, creation: actions.Creation,
                actor: Actor | None) -> None:
        """Run one `create` action; a refusal the plan could not foresee (a unique value
        taken meanwhile) refuses the move, saying which action failed."""
        try:
            self.records.create(creation.entity, creation.values, actor, moving=True,
                                conn=conn, enforce=False)
        except ValidationFailed as error:
            voice = self.voice(actor)
            does = voice.say("action_create",
                             target=voice.entity(self.pack.entities[creation.entity]))
            raise MoveRefused([Problem(f"{creation.entity}.{p.where}", voice.say(
                "action", to=voice.stage(plan.target), does=does, message=p.message),
                "action") for p in error.problems]) from error

    def next_stages(self, entity: str, record: Mapping[str, Any], actor: Actor | None = None,
                    workflow: str | None = None) -> list[str]:
        """Stages the actor may move the record to, by the policy, roles and transition
        conditions (requires and rules are judged when the move is tried): the stage bar
        and the board offer these. None when the actor may not update the record."""
        chosen = self._only(entity, workflow)
        source, role = source_index(chosen, record), actor.role if actor else None
        with self.records.engine.connect() as conn:
            if not self._may_update(conn, chosen, record, actor):
                return []
            judge = judge_with(self.store.context(actor), self.store.fetcher(conn))
            record = self._whole(conn, chosen, record, actor)
            return [stage.key for index, stage in enumerate(chosen.stages)
                    if index != source and moves.refusal(
                        chosen, source, index, role, lambda cond: judge(cond, record)) is None]

    def _whole(self, conn: sa.Connection, workflow: Workflow, record: Mapping[str, Any],
               actor: Actor | None) -> Mapping[str, Any]:
        """The record with the fields hidden from the actor read back, when a transition's
        `when` may read them: moves are judged on the record as stored, not as shown."""
        entity = self.pack.entities[workflow.entity]
        unseen = field_rights.hidden(self.store, entity, actor)
        if not unseen or not any(t.when for t in workflow.transitions) \
                or unseen <= set(record):
            return record
        stored = self.store.read(conn, entity, [record["id"]]).get(record["id"], {})
        return {**stored, **record}

    def _may_update(self, conn: sa.Connection, workflow: Workflow,
                    record: Mapping[str, Any], actor: Actor | None) -> bool:
        """The stored record is readable and updatable by the actor (judged in SQL)."""
        if actor is None:
            return True
        entity = self.pack.entities[workflow.entity]
        table = self.store.table(entity)
        query = sa.select(table.c.id).where(
            table.c.id == record.get("id"), scope(self.store, entity, actor, "read"),
            scope(self.store, entity, actor, "update"))
        return conn.scalar(query) is not None

    def _only(self, entity: str, workflow: str | None) -> Workflow:
        owned = self.pack.workflows_of(self.store.entity(entity).name)
        if workflow is None and len(owned) == 1:
            return owned[0]
        chosen = self.workflow(workflow or "")
        if chosen not in owned:
            raise _invalid("workflow", f'Workflow "{workflow}" does not move {entity}.')
        return chosen

    # ------------------------------------------------------------ history and reports

    def history(self, entity: str, id: Any, workflow: str | None = None,
                actor: Actor | None = None) -> list[dict]:
        """The record's stage moves, newest first (its creation row last); NotFound for a
        record the actor may not read."""
        ent = self.store.entity(entity)
        with self.records.engine.connect() as conn:
            record = self.store.read_one(conn, ent, id, include_deleted=True,
                                         scope=scope(self.store, ent, actor, "read"))
            return history.moves(conn, self.store.tables, ent.name, record["id"], workflow)

    def overdue(self, workflow: str | Workflow, now: dt.datetime | None = None
                ) -> sa.ColumnElement[bool]:
        """SQL: the record is overdue in its stage of `workflow` (see history.overdue)."""
        return history.overdue(self.workflow(workflow), self.store.tables, _now(now))

    def entered_at(self, workflow: str | Workflow) -> sa.ColumnElement[dt.datetime]:
        return history.entered_at(self.workflow(workflow), self.store.tables)

    def stage_counts(self, workflow: str | Workflow, money_field: str | None = None,
                     now: dt.datetime | None = None,
                     actor: Actor | None = None,
                     only_counts: bool = False, cap: int | None = None) -> dict[str, dict]:
        """Per stage: count, money sum, overdue count — of the records the actor may read
        (None: the system, every record); `only_counts`: the counts alone (home), each
        stopping at `cap` when given."""
        chosen = self.workflow(workflow)
        entity = self.pack.entities[chosen.entity]
        with self.records.engine.connect() as conn:
            return reports.stage_counts(conn, self.store.tables, chosen, entity, _now(now),
                                        money_field, scope(self.store, entity, actor, "read"),
                                        field_rights.hidden(self.store, entity, actor),
                                        only_counts, cap)

    def board(self, workflow: str | Workflow, actor: Actor | None = None, where: Any = None,
              search: str | None = None, limit: int = 20, money_field: str | None = None,
              now: dt.datetime | None = None,
              closed: Collection[str] = ()) -> list[kanban.Column]:
        """A kanban board: per stage its numbers and first `limit` cards (overdue ones
        flagged; none for the `closed` stages), all limited to what the actor may read
        and to `where` / `search`."""
        chosen = self.workflow(workflow)
        return kanban.board(self.records, chosen, kanban.Filter(where, search, actor),
                           _now(now), limit, money_field, closed)

    def column(self, workflow: str | Workflow, stage: str, actor: Actor | None = None,
               where: Any = None, search: str | None = None, limit: int = 20,
               offset: int = 0, money_field: str | None = None,
               now: dt.datetime | None = None) -> kanban.Column:
        """One stage of a board from `offset` on ("Load more", the full column page)."""
        chosen = self.workflow(workflow)
        if stage not in chosen.stage_keys:
            raise _invalid(chosen.field, f'Workflow "{chosen.name}" has no stage "{stage}".')
        shown = kanban.Filter(where, search, actor)
        with snapshot(self.records.engine) as conn:
            numbers = kanban.counts(self.records, chosen, shown, _now(now), money_field,
                                    conn=conn)
            return kanban.column(self.records, chosen, chosen.stage(stage), shown, numbers,
                                _now(now), limit, offset, conn=conn)

    def funnel(self, workflow: str | Workflow) -> dict[str, int]:
        return self._report(reports.funnel, workflow)

    def median_time_in_stage(self, workflow: str | Workflow) -> dict[str, float | None]:
        return self._report(reports.median_time_in_stage, workflow)

    def win_rate(self, workflow: str | Workflow) -> float | None:
        return self._report(reports.win_rate, workflow)

    def _report(self, report: Any, workflow: str | Workflow) -> Any:
        with self.records.engine.connect() as conn:
            return report(conn, self.store.tables, self.workflow(workflow))


def _invalid(where: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(where, message, "invalid_move")])


def _id_of(record: Any) -> Any:
    return record.get("id") if isinstance(record, Mapping) else record


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def can_move(service: Records | Workflows, entity: str, record: Any, to: str,
             actor: Actor | None = None, values: Mapping[str, Any] | None = None,
             workflow: str | None = None) -> list[Problem]:
    """Every reason a move would be refused (empty: allowed), from a records service or a
    workflows service."""
    flows = service if isinstance(service, Workflows) else Workflows(service)
    return flows.can_move(entity, record, to, actor, values, workflow)
