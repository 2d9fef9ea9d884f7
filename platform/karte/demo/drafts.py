"""One demo record at a time, built to pass the records service's checks on the first try.

A draft gets its stages first (`stages.place`), then links that agree with each other
(`links`), then a value for each field the stages, `required` and chance ask for, then
what the `on_enter` actions of the stages it entered write. It is then settled: fields
whose `visible_if` is false are emptied and fields whose `required_if` holds are filled,
until nothing changes. Last, each rule of its stages is judged with the engine's condition
evaluator and, when it fails, values that make it hold are proposed (`satisfy`). Whatever
still fails becomes the draft's problems: field, and why, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from faker import Faker

from karte.fields import is_empty
from karte.meta.conditions import Context, evaluate
from karte.meta.model import Entity, Field
from karte.meta.moves import rule_where
from karte.problems import Problem
from karte.store.records.store import Store
from karte.store.records.write import blank, compute_formulas, default_of, prepare_create

from .files import DemoFiles
from .history import Timeline, draw
from .links import Links
from .satisfy import Change, Fetch, Satisfier
from .stages import (
    Placement,
    creations,
    has_actions,
    held_back,
    needed,
    place,
    set_values,
)
from .values import NoValue, Values

ROUNDS = 4            # settling visible_if / required_if, and proposing values for rules
OPTIONAL_SHARE = 0.75  # how often an optional field gets a value
SKIPPED = frozenset({"formula", "rollup", "file"})
COMBINATION_TRIES = 30
PROVISIONAL_ID = 1    # `$record` while a draft has no id yet: any id passes prepare_create


@dataclass
class Draft:
    """The values of one record to create, or the problems that keep it from being made."""

    entity: Entity
    values: dict[str, Any]
    placements: list[Placement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    origin: str = ""       # for records an action makes: which action
    tries: int = 0
    mover: Context | None = None     # whose moves took it to its stages (`$me`)
    timeline: Timeline | None = None  # when it was made and entered its stages
    locale: str = ""                 # the language its text was drawn in (Faker's)


@dataclass
class _Plan:
    """What the draft's stages ask of its fields."""

    needed: set[str]
    held: set[str]
    fixed: set[str] = field(default_factory=set)


class Builder:
    """Makes drafts for any entity of the pack."""

    def __init__(self, store: Store, values: Values, links: Links, ctx: Context, fetch: Fetch,
                 files: DemoFiles | None = None):
        self.store, self.pack = store, store.pack
        self.values, self.links, self.ctx, self.fetch = values, links, ctx, fetch
        self.files = files
        self.satisfier = Satisfier(values, ctx, fetch)
        self._defaults: dict[str, dict[str, Any]] = {}
        self._combos: dict[tuple[str, tuple[str, ...]], set[tuple[Any, ...]]] = {}

    def judge(self, cond: Any, view: Mapping[str, Any]) -> bool:
        return evaluate(cond, view, self.ctx, self.fetch)

    def view(self, entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as it would be saved: defaults for fields not given, formulas."""
        seen = {**blank(entity), **self.defaults(entity), **record}
        compute_formulas(entity, seen)
        return seen

    def defaults(self, entity: Entity) -> dict[str, Any]:
        found = self._defaults.get(entity.name)
        if found is None:
            found = self._defaults[entity.name] = {}
            for name, f in entity.fields.items():
                try:
                    if f.default is not None:
                        found[name] = default_of(f, self.ctx, self.pack.country)
                except ValueError:
                    continue
        return found

    # ------------------------------------------------------------ a draft

    def draft(self, entity: Entity, at_start: bool = False) -> Draft:
        placements = [place(w, self.values.rng, at_start)
                      for w in self.pack.workflows_of(entity.name)]
        timeline = draw(placements, self.values.now, self.values.rng)
        outer, self.values.anchor = self.values.anchor, timeline.created.date()
        try:
            return self._drafted(entity, placements, timeline)
        finally:
            self.values.anchor = outer      # a line's draft inside its parent's

    def _drafted(self, entity: Entity, placements: list[Placement],
                 timeline: Timeline) -> Draft:
        fake = self.values.fake()
        plan = _Plan(needed(placements), held_back(placements))
        mover = self._mover()
        draft = Draft(entity, {}, placements, mover=mover, timeline=timeline)
        fake = self._fill(draft, plan, fake)
        draft.locale = fake.locales[0]
        for placement in placements:
            draft.values[placement.workflow.field] = placement.stage.key
        if has_actions(placements):
            sets = set_values(self.pack, entity, placements, self.view(entity, draft.values),
                              mover, draft.timeline.entered if draft.timeline else None)
            draft.values.update(sets)
            plan.fixed.update(sets)
        self._settle(draft, plan, fake)
        self._rules(draft, plan, fake)
        self._actions(draft)
        return draft

    def _mover(self) -> Context:
        """A demo user moved the record: `$me` in its actions is them. (Conditions are
        judged as the records service judges the saved record: as the system.)"""
        users = self.values.users
        return replace(self.ctx, user_id=self.values.rng.choice(users) if users else None)

    def _wanted(self, f: Field, plan: _Plan) -> bool:
        if f.series is not None or (f.fetch is not None and f.name not in plan.needed):
            return False          # numbered by the series; copied through its link
        if f.name in plan.held and not f.required:
            return False
        if f.required or f.unique or f.name in plan.needed:
            return True
        return not f.read_only and self.values.rng.random() < OPTIONAL_SHARE

    def _needs(self, f: Field, plan: _Plan) -> bool:
        return f.required or f.name in plan.needed

    def _fill(self, draft: Draft, plan: _Plan, fake: Faker) -> Faker:
        """Fill the draft's fields; the Faker its text was drawn with: its links' language
        when they have one (a Japanese customer's deals are Japanese), else `fake`."""
        entity, record = draft.entity, draft.values

        def pick(link: Field, among: Any) -> int | None:
            if among is not None and not among:
                return None
            return self._value(draft, link, plan, fake, among)

        self.links.choose(entity, record, lambda f: self._wanted(f, plan), pick)
        fake = self.values.follow(entity, record, fake)
        for f in entity.fields.values():
            if f.type == "lines":
                record[f.name] = self._lines(draft, f, f.name in plan.held)
            elif f.name in plan.held and not f.required:
                record[f.name] = None        # nor a default nor an implied link fills it
            elif f.workflow or f.type == "link" or f.name in record:
                continue
            elif f.type in SKIPPED:
                self._skipped(draft, f, plan)
            elif self._wanted(f, plan):
                record[f.name] = self._value(draft, f, plan, fake)
        for combo in entity.unique:
            self._combination(draft, combo, plan, fake, pick)
        self._below_price(entity, record)
        return fake

    def _below_price(self, entity: Entity, record: dict[str, Any]) -> None:
        """A money field named like a cost stays at or below the record's price (a field
        named like a price): a product does not cost more than it sells for."""
        price = next((record[name] for name, f in entity.fields.items()
                      if f.type == "money" and "price" in name
                      and record.get(name) is not None), None)
        if price is None:
            return
        for name, f in entity.fields.items():
            if f.type == "money" and "cost" in name and record.get(name) is not None \
                    and record[name] > price:
                lower = self.values.number(f, high=price)
                if lower is not None:
                    record[name] = lower

    def _combination(self, draft: Draft, combo: tuple[str, ...], plan: _Plan, fake: Faker,
                     pick: Any) -> None:
        """An entity-level `unique` combination no other demo record has: drawn again
        (its links among the candidates) while it clashes."""
        entity, record = draft.entity, draft.values
        seen = self._combos.setdefault((entity.name, combo), set())
        for _ in range(COMBINATION_TRIES):
            key = tuple(record.get(n) for n in combo)
            if None in key or key not in seen:
                break
            for name in combo:
                record[name] = None
            self.links.choose(entity, record,
                              lambda f: f.name in combo or self._wanted(f, plan), pick)
            for name in combo:
                if entity.fields[name].type != "link" and record.get(name) is None:
                    record[name] = self._value(draft, entity.fields[name], plan, fake)
        key = tuple(record.get(n) for n in combo)
        if None in key:
            return
        if key in seen:
            draft.problems.append(Problem(combo[0], "every combination of "
                                          f"{', '.join(combo)} is used by another record",
                                          "demo"))
        seen.add(key)

    def _lines(self, draft: Draft, f: Field, held: bool) -> list[dict[str, Any]]:
        """1 to 5 lines (within the field's `min` and `max`; only `min` while a later
        stage requires them), each drafted like a record of the part; the parent link and
        position are the engine's."""
        part = self.pack.entities.get(f.of or "")
        if part is None:
            return []
        low = max(f.min or 0, 1)
        high = max(low, min(5, f.max if f.max is not None else 5))
        count = (f.min or 0) if held or f.max == 0 else self.values.rng.randint(low, high)
        lines = []
        for n in range(1, count + 1):
            line = self.draft(part)
            draft.problems += [Problem(f"{f.name}[{n}].{p.where}", p.message, p.code)
                               for p in line.problems if p.where not in (part.part_of,
                                                                         "position")]
            lines.append({k: v for k, v in line.values.items()
                          if k not in (part.part_of, "position")})
        return lines

    def _skipped(self, draft: Draft, f: Field, plan: _Plan) -> None:
        """A file field gets one of the demo's stored files (when it is wanted and one
        fits); formulas and rollups are computed."""
        if f.type != "file" or f.name in draft.values:
            return
        refs = self.files.refs(draft.entity, f) if self.files and self._wanted(f, plan) \
            else []
        if refs:
            draft.values[f.name] = refs
        elif self._needs(f, plan):
            why = ("no demo file (PDF, JPEG, PNG) fits its accept and max_mb" if self.files
                   else "demo data has no files here; attach them by hand")
            draft.problems.append(Problem(f.name, why, "demo"))

    def _value(self, draft: Draft, f: Field, plan: _Plan, fake: Faker,
               among: Any = None) -> Any:
        """A value, or None — with a problem when the field must have one."""
        try:
            if among is not None:
                return self.values.pick(draft.entity, f, among)
            return self.values.value(draft.entity, f, fake, need=self._needs(f, plan))
        except NoValue as error:
            if self._needs(f, plan):
                draft.problems.append(Problem(f.name, str(error), "demo"))
            return None

    # ------------------------------------------------------------ conditions

    def _may_clear(self, f: Field, plan: _Plan, view: Mapping[str, Any]) -> bool:
        return not (f.required or f.workflow or f.name in plan.needed or f.name in plan.fixed
                    or (f.required_if is not None and self.judge(f.required_if, view)))

    def _settle(self, draft: Draft, plan: _Plan, fake: Faker) -> None:
        """Empty hidden fields and fill required ones until nothing changes; a field
        required by a condition that no value can be found for gets the condition
        turned false where the record allows (a self-link asked for before any record
        exists to point at)."""
        conditional = [f for f in draft.entity.fields.values()
                       if f.visible_if is not None or f.required_if is not None]
        if not conditional:
            return
        reasons: dict[str, str] = {}
        for _ in range(ROUNDS):
            if not self._settle_once(draft, plan, fake, conditional, reasons):
                break
        view = self.view(draft.entity, draft.values)
        draft.problems += [Problem(f.name, reasons.get(f.name, "no demo value found"), "demo")
                           for f in conditional if f.required_if is not None
                           and is_empty(view.get(f.name)) and self.judge(f.required_if, view)]

    def _settle_once(self, draft: Draft, plan: _Plan, fake: Faker, conditional: list[Field],
                     reasons: dict[str, str]) -> bool:
        """One pass over the conditional fields; whether anything changed."""
        record, changed = draft.values, False
        view = self.view(draft.entity, record)
        for f in conditional:
            empty = is_empty(view.get(f.name))
            if not empty and f.visible_if is not None and \
                    not self.judge(f.visible_if, view) and self._may_clear(f, plan, view):
                record[f.name] = view[f.name] = None
                changed = True
            elif empty and f.required_if is not None and self.judge(f.required_if, view):
                try:
                    record[f.name] = self.values.value(draft.entity, f, fake, need=True)
                except NoValue as error:
                    reasons[f.name] = str(error)
                    self.satisfier.make(f.required_if, self._change(draft, plan, fake), False)
                view = self.view(draft.entity, record)
                changed = True
        return changed

    def _rules(self, draft: Draft, plan: _Plan, fake: Faker) -> None:
        """Make every rule of the draft's stages hold, or say which does not. The rules of
        the stages it walked through are met too where they can be (a won deal was once
        qualified); only its current stages' rules must hold."""
        entity, record = draft.entity, draft.values
        rules = [(p, stage, rule) for p in draft.placements for stage in p.path
                 for rule in stage.rules if rule.when is not None]
        for _ in range(ROUNDS if rules else 0):
            view = self.view(entity, record)
            failing = [(p, s, rule) for p, s, rule in rules if not self.judge(rule.when, view)]
            if not failing:
                return
            change = self._change(draft, plan, fake)
            for _placement, _stage, rule in sorted(failing, key=lambda f: f[1] is f[0].stage):
                self.satisfier.make(rule.when, change)
            self._settle(draft, plan, fake)
        view = self.view(entity, record)
        draft.problems += [
            Problem(rule_where(rule, p.workflow.field),
                    f'no demo values found that meet the rule of stage "{stage.key}": '
                    f"{rule.message.get(None, self.pack.locale) or 'its condition'}", "rule")
            for p, stage, rule in rules
            if stage is p.stage and not self.judge(rule.when, view)]

    def _actions(self, draft: Draft) -> None:
        """The records the `create` actions will make must be valid too: the engine
        refuses a move whose actions fail, so such a draft goes back to the start."""
        if draft.problems or not has_actions(draft.placements):
            return
        record = {**self.view(draft.entity, draft.values), "id": PROVISIONAL_ID}
        for creation in creations(self.pack, draft.entity, draft.placements, record,
                                  draft.mover or self.ctx):
            target = self.pack.entities[creation.entity]
            _, found = prepare_create(self.store, target, creation.values, self.ctx,
                                      self.judge, True)
            draft.problems += [Problem(f"{target.name}.{p.where}" if p.where else target.name,
                                       f"an on_enter action of {draft.entity.name} cannot "
                                       f"create this {target.name}: {p.message}", "action")
                               for p in found]

    def _change(self, draft: Draft, plan: _Plan, fake: Faker) -> Change:
        entity, record = draft.entity, draft.values

        def may_set(name: str) -> bool:
            f = entity.fields.get(name)
            return f is not None and not f.workflow and f.type not in SKIPPED \
                and name not in plan.fixed

        def set_link(link: Field, value: int) -> None:
            self.links.assign(entity, record, link, value)

        def may_clear(name: str) -> bool:
            return self._may_clear(entity.fields[name], plan, self.view(entity, record))

        return Change(entity, record, fake, may_set, may_clear, set_link)
