"""Input validation: marshmallow schemas generated from the Registry, plus the record rules.

Per-type rules live once, in `karte.fields` (its normalisers); the marshmallow field here
only calls them, so a form, the API and an import report the same message. What marshmallow
cannot know is checked around it: names the entity does not have, values only the system
may set, `required` / `required_if` on the record as it would be saved, and `read_only_if`
on the record as it was. Every finding is a `Problem` keyed by field name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma

from karte.fields import is_empty, normalise
from karte.meta.conditions import fields_used
from karte.meta.model import SYSTEM_FIELD_DEFS, Entity, Field, Pack, Rule, Stage, Workflow
from karte.meta.moves import rule_where
from karte.problems import Problem, did_you_mean

Judge = Callable[[Any, Mapping[str, Any]], bool]
"""judge(condition, record) -> whether the condition holds on that record."""


class KarteField(ma.fields.Field[Any]):
    """One marshmallow field for every Karte type: the type table's normaliser does the
    work and its ValueError becomes the field's error message."""

    def __init__(self, field: Field, country: str | None):
        super().__init__(allow_none=True, data_key=field.name, attribute=field.name)
        self.karte_field = field
        self.country = country

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return normalise(self.karte_field, value, self.country)
        except (ValueError, ArithmeticError) as error:
            raise ma.ValidationError(str(error) or "Not a valid value.") from None


def label(field: Field) -> str:
    """The English label: messages are English until the UI translates them."""
    return field.label.get("en")


def noun(entity: Entity, plural: bool = False) -> str:
    """The entity in words for a message ("deal", "deals"), English like `label`."""
    return (entity.plural if plural else entity.label).get("en").lower()


def _input_fields(entity: Entity) -> dict[str, Field]:
    """Fields a value may be given for (formulas and rollups are computed, never input)."""
    return {name: f for name, f in entity.fields.items() if not f.derived}


class Schemas:
    """The marshmallow schema of each entity, built on first use and kept."""

    def __init__(self, pack: Pack):
        self.pack = pack
        self._cache: dict[str, ma.Schema] = {}
        self._inputs_cache: dict[str, tuple[list[tuple[str, Field]], frozenset[str]]] = {}

    def schema(self, entity: Entity) -> ma.Schema:
        schema = self._cache.get(entity.name)
        if schema is None:
            # Attribute names are prefixed so a field called "load" or "fields" cannot
            # shadow the Schema's own members; data_key/attribute keep the real name.
            declared: dict[str, ma.fields.Field[Any]] = {
                f"f_{name}": KarteField(f, self.pack.country)
                for name, f in _input_fields(entity).items()}
            schema_class = ma.Schema.from_dict(declared, name=f"{entity.name}_schema")
            schema = self._cache[entity.name] = schema_class()
        return schema

    def _inputs(self, entity: Entity) -> tuple[list[tuple[str, Field]], frozenset[str]]:
        """The input fields in the entity's order, and their names, worked out once."""
        found = self._inputs_cache.get(entity.name)
        if found is None:
            fields = list(_input_fields(entity).items())
            found = self._inputs_cache[entity.name] = (fields, frozenset(n for n, _ in fields))
        return found

    def load(self, entity: Entity,
             values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
        """Normalised values for the names the entity accepts, and every problem found.
        Each value goes through its type's normaliser in the entity's field order, as the
        schema's `KarteField` would (None stays None, a ValueError is the field's message),
        without marshmallow's per-call machinery: a bulk write loads thousands of rows."""
        fields, names = self._inputs(entity)
        problems = [] if names.issuperset(values) else check_names(entity, values)
        loaded: dict[str, Any] = {}
        country = self.pack.country
        for name, field in fields:
            if name not in values:
                continue
            value = values[name]
            if value is None:
                loaded[name] = None
                continue
            try:
                loaded[name] = normalise(field, value, country)
            except (ValueError, ArithmeticError) as error:
                problems.append(Problem(name, str(error) or "Not a valid value.", "invalid"))
        return loaded, problems


def _name_problem(entity: Entity, name: str) -> Problem | None:
    field = entity.fields.get(name)
    if field is not None and field.derived:
        return Problem(name, f"{label(field)} is set by the system (a {field.type} computes "
                             "it).", "read_only")
    if field is not None:
        return None
    if name in SYSTEM_FIELD_DEFS:
        return Problem(name, f"{label(SYSTEM_FIELD_DEFS[name])} is set by the system.",
                       "read_only")
    hint = did_you_mean(name, _input_fields(entity))
    return Problem(str(name), f'no field "{name}" on {entity.name}{hint}', "unknown_field")


def check_names(entity: Entity, values: Mapping[str, Any]) -> list[Problem]:
    """Unknown names (with a suggestion), system columns and formulas given as input."""
    return [p for name in values if (p := _name_problem(entity, name)) is not None]


def differs(old: Any, new: Any) -> bool:
    """Whether saving `new` over `old` is a change (None, "" and [] are all empty)."""
    return not (old == new or (is_empty(old) and is_empty(new)))


Guard = Callable[[Entity, Field, Mapping[str, Any], Judge, bool], Problem | None]


def _stage_guard(entity: Entity, field: Field, before: Mapping[str, Any], judge: Judge,
                 trusted: bool) -> Problem | None:
    if field.workflow is None or trusted:
        return None
    return Problem(field.name, f"{label(field)} changes only through a move (the stage bar "
                               "or the board).", "stage")


def _read_only_guard(entity: Entity, field: Field, before: Mapping[str, Any], judge: Judge,
                     trusted: bool) -> Problem | None:
    if not field.read_only or trusted:
        return None
    return Problem(field.name, f"{label(field)} is set by the system.", "read_only")


def _read_only_if_guard(entity: Entity, field: Field, before: Mapping[str, Any],
                        judge: Judge, trusted: bool) -> Problem | None:
    if field.read_only_if is None or not before or not judge(field.read_only_if, before):
        return None
    return Problem(field.name, f"{label(field)} cannot be changed on this "
                               f"{noun(entity)} now.", "read_only")


GUARDS: tuple[Guard, ...] = (_stage_guard, _read_only_guard, _read_only_if_guard)


def check_protected(entity: Entity, loaded: Mapping[str, Any], before: Mapping[str, Any],
                    judge: Judge, trusted: bool) -> list[Problem]:
    """Values only a move or the system may change: stage fields, `read_only`, and on
    update `read_only_if` as it holds on the record before the edit. On create (`before`
    is {}) there is nothing yet to protect from `read_only_if`: an import or a form may
    create a record already in that state. A value equal to `before` is no change, so a
    client may post back what it read."""
    problems = []
    for name, value in loaded.items():
        field = entity.fields[name]
        if not (field.workflow or field.read_only or field.read_only_if is not None):
            continue      # no guard applies (checked first: a bulk create runs this a lot)
        if not differs(before.get(name), value):
            continue
        found = (guard(entity, field, before, judge, trusted) for guard in GUARDS)
        problem = next((p for p in found if p is not None), None)
        if problem is not None:
            problems.append(problem)
    return problems


_ASKED: dict[int, tuple[Entity, list[tuple[str, Field]]]] = {}


def _asked(entity: Entity) -> list[tuple[str, Field]]:
    """The fields `required` or `required_if` asks something of, worked out once per
    entity (a bulk create checks thousands of records). Keyed by the entity object: the
    Registry's objects are frozen and an entry holds its entity, so its id is not reused."""
    found = _ASKED.get(id(entity))
    if found is None or found[0] is not entity:
        if len(_ASKED) > 10_000:      # packs built again and again (tests): start afresh
            _ASKED.clear()
        found = _ASKED[id(entity)] = (entity, [
            (name, f) for name, f in entity.fields.items()
            if not f.derived and (f.required or f.required_if is not None)])
    return found[1]


def check_required(entity: Entity, record: Mapping[str, Any], changed: set[str] | None,
                   judge: Judge) -> list[Problem]:
    """`required` fields that would be saved empty — all of them on create (`changed` is
    None), the ones being changed on update — and every field whose `required_if` holds on
    the record as it would be saved."""
    problems = []
    for name, field in _asked(entity):
        if not is_empty(record.get(name)):
            continue
        asked = field.required and (changed is None or name in changed)
        if asked or (field.required_if is not None and judge(field.required_if, record)):
            problems.append(Problem(name, f"{label(field)} is required.", "required"))
    return problems


def _stage_now(workflow: Workflow, record: Mapping[str, Any]) -> Stage | None:
    return next((s for s in workflow.stages if s.key == record.get(workflow.field)), None)


def _rule_asked(rule: Rule, changed: set[str] | None) -> bool:
    return rule.when is not None and (changed is None or bool(changed & fields_used(rule.when)))


def _stage_problems(entity: Entity, workflow: Workflow, stage: Stage,
                    record: Mapping[str, Any], changed: set[str] | None, judge: Judge,
                    locale: str) -> list[Problem]:
    thing, name = noun(entity), stage.label.get("en")
    problems = [Problem(field, f"{label(entity.fields[field])} is required while the {thing} "
                               f"is in {name}.", "required")
                for field in stage.requires
                if (changed is None or field in changed) and field in entity.fields
                and is_empty(record.get(field))]
    problems += [Problem(rule_where(rule, workflow.field), rule.message.get(None, locale)
                         or f"This {noun} does not meet the rules of {name}.", "rule")
                 for rule in stage.rules
                 if _rule_asked(rule, changed) and not judge(rule.when, record)]
    return problems


def check_stages(entity: Entity, workflows: tuple[Workflow, ...], record: Mapping[str, Any],
                 changed: set[str] | None, judge: Judge, locale: str) -> list[Problem]:
    """A record's current stage keeps its requirements (SPEC §4): a write may not leave a
    field the stage `requires` empty, nor break one of the stage's `rules`. Checked for
    every field on create (`changed` is None) and when the stage itself changes (a move or
    an import with moves), else for the fields being changed — so a rule that reads
    `$today`, or a linked record edited elsewhere, is not re-judged by unrelated edits."""
    problems = []
    for workflow in workflows:
        stage = _stage_now(workflow, record)
        if stage is None:
            continue
        scope = None if changed is None or workflow.field in changed else changed
        problems += _stage_problems(entity, workflow, stage, record, scope, judge, locale)
    return problems
