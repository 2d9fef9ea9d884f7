"""Definition checks: JSON Schema per file, then meaning (SPEC §2, §6.1).

Every problem has a stable code (DEF0xx: pack.json and entity files, WF0xx: workflow
files, DSH0xx: dashboard files; CODES says what each means), a `file: /json/pointer`
location and, where a name looks misspelt, a did-you-mean. The checks are small functions
in tables run over every entity, field, workflow and dashboard, so one run reports every
problem, never just the first.

The checks live by what they check: `schema` (JSON Schema and its wording), `fields`,
`entities`, `workflows` and `dashboards` (meaning) over a `context`; this module
holds the codes, the checks that span the whole pack, and the two entry points that
`load.check_pack` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from karte.meta.model import Pack, Workflow
from karte.meta.raw import RawPack
from karte.meta.validate.context import Ctx
from karte.meta.validate.dashboards import DASHBOARD_CODES, check_dashboard
from karte.meta.validate.entities import ENTITY_CHECKS
from karte.meta.validate.field_rights import FIELD_RIGHTS_CHECKS, WARNINGS
from karte.meta.validate.file_fields import FILE_WARNINGS
from karte.meta.validate.known_valid import KnownValid, doc_key
from karte.meta.validate.parts import check_parts
from karte.meta.validate.schema import schema_problems
from karte.meta.validate.surface import check_nav
from karte.meta.validate.workflows import check_workflow
from karte.problems import Problem, at, pointer

CODES = {
    "DEF000": "the pack folder does not exist",
    "DEF001": "a file is not valid JSON (with line and column)",
    "DEF002": "a file cannot be read or is not UTF-8",
    "DEF003": "the base pack named by pack.json \"extends\" does not exist",
    "DEF004": "packs extend each other in a cycle",
    "DEF005": "\"extends\": true names no entity of a base pack",
    "DEF006": "\"remove\" names a field the base entity does not have",
    "DEF007": "a folder named like a pack folder (dashbords/, workflow/) is not read",
    "DEF008": "a definition file in the wrong place (a subfolder, the top, templates/)",
    "DEF010": "unknown key (schema)",
    "DEF011": "wrong JSON type (schema)",
    "DEF012": "value is not one of the allowed ones, e.g. an unknown field type (schema)",
    "DEF013": "a required key is missing (schema)",
    "DEF014": "malformed name or text, e.g. a name with capitals (schema)",
    "DEF015": "number, length or size out of range (schema)",
    "DEF016": "object of the wrong shape, e.g. a condition or action (schema)",
    "DEF020": "a field uses a system column's name",
    "DEF021": "a name reserved for the engine (karte…, _…, or an engine URL)",
    "DEF022": "\"name\" differs from the file stem",
    "DEF023": "a link or links field without \"to\"",
    "DEF024": "\"to\" names no entity",
    "DEF025": "a key that does not apply to the field's type",
    "DEF026": "an enum or multi_enum field without options",
    "DEF027": "an option key used twice",
    "DEF028": "a default that does not fit the field",
    "DEF029": "a formula field without \"formula\"",
    "DEF030": "title_field names no field",
    "DEF031": "list columns, sort, filters or search name no field",
    "DEF032": "a field of a type that cannot be used there (sort, search, duplicates, "
              "timeline)",
    "DEF033": "a card section names no field",
    "DEF034": "a name listed twice",
    "DEF035": "card.related is not \"<entity>.<link field>\" pointing at this entity",
    "DEF036": "a duplicates rule names no field",
    "DEF037": "timeline_item names no field",
    "DEF038": "permissions name a role pack.json does not declare",
    "DEF039": "renamed_from clashes with a current field",
    "DEF040": "two tables would have the same name, or a name too long for the database",
    "DEF041": "inconsistent limits (min above max, scale above precision, bad bound)",
    "DEF042": "pattern is not a valid regular expression",
    "DEF043": "a role in pack.json names no entity",
    "DEF046": "retired maps an option that is still listed, or into one that is not",
    "DEF050": "a series field whose numbers do not fit it (max_length) or with a default",
    "DEF051": "a malformed series pattern (unknown token, no counter or several)",
    "DEF052": "a unique combination names no field",
    "DEF053": "a unique combination of fewer than two fields, a field listed twice, or a "
              "field type a unique index cannot hold",
    "DEF070": "a rollup without \"of\" or \"agg\"",
    "DEF071": "a rollup's \"of\" names no lines field, entity or link field",
    "DEF072": "a rollup's \"of\" names a field that is not a link to this entity",
    "DEF073": "a rollup's \"field\" names no field of the aggregated entity",
    "DEF074": "a rollup's \"field\" does not fit its \"agg\" (sum and avg need a number, "
              "min and max a number or a date)",
    "DEF075": "a rollup's \"result\" does not fit its \"agg\" and \"field\"",
    "DEF076": "a rollup's \"where\" reads another record or a token ($today, $me…)",
    "DEF078": "a count with \"field\", or another aggregate without one",
    "DEF079": "rollups (and formulas) whose values depend on themselves across entities",
    "DEF080": "fetch on a field whose value the engine computes (formula, rollup, series, "
              "links, lines, file)",
    "DEF081": "fetch names no field of this entity before the dot",
    "DEF082": "fetch goes through a field that is not a link",
    "DEF083": "fetch names no field of the linked entity",
    "DEF084": "fetch copies a field whose values this field cannot store",
    "DEF085": "fetch goes through a link that is itself fetched, or through itself",
    "DEF090": "hidden or read_only in a role's \"*\" entry (field names belong to one entity)",
    "DEF091": "hidden or read_only names no field of the entity",
    "DEF092": "the title field is hidden from a role",
    "DEF093": "a required field without default is hidden or read_only for a role that may "
              "create",
    "DEF094": "a stage field is hidden from a role",
    "DEF095": "a stage field is read_only for a role (moves change it)",
    "DEF096": "a field both hidden and read_only for one role",
    "DEF098": "warning: a condition of a visible field reads a hidden field",
    "DEF099": "warning: a visible formula or rollup is computed from a hidden field",
    "DEF100": "two actions of an entity have the same name",
    "DEF101": "an action's roles name a role pack.json does not declare",
    "DEF102": "an action's \"set\" names no field, or one that only moves or formulas change",
    "DEF103": "an action value that does not fit its field",
    "DEF104": "an action's \"create\" names no entity",
    "DEF105": "an action's \"create\" values (or lines values) name no field, or miss a "
              "required one",
    "DEF106": "\"$record\" in an action used for something other than a link to its entity",
    "DEF107": "an action's $record.<field> token names no field of the entity",
    "DEF108": "an action's $record.<field> or $line.<field> token does not fit its field",
    "DEF109": "a $line.<field> token outside lines.values, or naming no field of the line",
    "DEF110": "an action's lines.from is not a lines field of the entity",
    "DEF111": "an action's lines.to is not a lines field of the created entity",
    "DEF112": "an action's move names no stage (or workflow) of the entity, or an ambiguous "
              "one",
    "DEF113": "an action opens the created record but creates none",
    "DEF114": "subtitle names no field, the title field, or a text or lines field",
    "DEF115": "two views of an entity have the same name",
    "DEF116": "a view's columns or sort name no field",
    "DEF117": "a nav item names no entity, workflow or dashboard",
    "DEF118": "a file field's accept lists something that is not a MIME type, or a "
              "misspelt one",
    "DEF119": "warning: a file field's max_mb is above the instance's KARTE_MAX_UPLOAD_MB",
    "DEF060": "a part whose parent has no lines field of it",
    "DEF061": "\"part_of\" names no other entity",
    "DEF062": "a lines field without \"of\", or whose \"of\" is not a part of its entity",
    "DEF063": "a part held by two lines fields of its parent",
    "DEF064": "a part with permissions, actions, a role entry or a workflow of its own",
    "DEF065": "a part declares a field named like its parent or \"position\"",
    "DEF066": "a part of a part (parts nest one level only)",
    "DEF067": "a workflow action creates records of a part on their own",
    "WF010": "unknown key (schema)",
    "WF011": "wrong JSON type (schema)",
    "WF012": "value is not one of the allowed ones (schema)",
    "WF013": "a required key is missing (schema)",
    "WF014": "malformed name or text (schema)",
    "WF015": "number, length or size out of range (schema)",
    "WF016": "object of the wrong shape, e.g. an action (schema)",
    "WF020": "\"name\" differs from the file stem",
    "WF021": "\"entity\" names no entity",
    "WF022": "\"field\" is declared on the entity with a type other than enum",
    "WF023": "two workflows own the same field of one entity",
    "WF024": "a stage key used twice",
    "WF025": "\"initial\" names no stage",
    "WF026": "a transition names no stage",
    "WF027": "a transition names a role pack.json does not declare",
    "WF028": "\"requires\" names no field of the entity",
    "WF029": "a stage can never be reached from the initial stage",
    "WF030": "no final stage",
    "WF031": "on_enter names no stage",
    "WF032": "\"set\" names no field, or one that only moves or formulas change",
    "WF033": "an action value that does not fit its field",
    "WF034": "\"create\" names no entity",
    "WF035": "\"create\" values name no field, or miss a required one",
    "WF036": "\"$record\" used for something other than a link to the moved entity",
    "WF037": "the workflow's field uses a reserved name",
    "WF038": "a declared stage field's options are not the stage keys",
    "WF040": "retired maps a stage that is still listed, or into one that is not",
    "WF041": "a stage's renamed_from is a current, retired or repeated key",
    "WF042": "board.fields names no field of the workflow's entity",
    "WF043": "board.fields names a text, lines or file field, or a field twice",
    "WF050": "a $record.<field> token names no field of the moved entity",
    "WF051": "a $record.<field> token's field does not fit the field it is written to",
    **DASHBOARD_CODES,
}

MAX_TABLE_NAME = 63     # PostgreSQL truncates longer identifiers


def check_schemas(raw: RawPack, known_valid: Path | None = None) -> list[Problem]:
    """Each file against its JSON Schema, then each merged overlay document; with
    `known_valid` (a folder), documents that passed before are not checked again
    (`known_valid.py`)."""
    files = {id(doc) for doc in raw.files}
    docs = [*raw.files, *(doc for doc in raw.documents() if id(doc) not in files)]
    remembered = KnownValid(known_valid)
    problems: list[Problem] = []
    passed: list[str] = []
    for doc in docs:
        if not doc.kind:
            continue
        key = doc_key(doc) if known_valid is not None else ""
        found = [] if key and key in remembered else schema_problems(doc)
        problems += found
        if key and not found:
            passed.append(key)
    remembered.keep(passed)
    return problems


def check_meaning(raw: RawPack, pack: Pack, max_upload_mb: int | None = None
                  ) -> list[Problem]:
    """Every semantic problem (SPEC §2, §6.1) of the documents `pack` was built from;
    with `max_upload_mb`, also the file fields that ask for more than that instance takes."""
    ctx = Ctx(raw, pack, max_upload_mb)
    problems = [problem for check in PACK_CHECKS for problem in check(ctx)]
    for name, entity in pack.entities.items():
        doc = raw.entities[name]
        problems += [problem for check in ENTITY_CHECKS for problem in check(ctx, entity, doc)]
    for name, workflow in pack.workflows.items():
        problems += check_workflow(ctx, workflow, raw.workflows[name])
    for name in pack.dashboards:
        problems += check_dashboard(ctx, raw.dashboards[name])
    return problems


# -- checks across the pack ----------------------------------------------------------------

def _tables(ctx: Ctx) -> Iterator[Problem]:
    """Entity tables and `<entity>__<field>` junction tables must all differ."""
    owners = {name: f'entity "{name}"' for name in ctx.pack.entities}
    for entity in ctx.pack.entities.values():
        for field in entity.fields.values():
            if field.type != "links":
                continue
            table = f"{entity.name}__{field.name}"
            where = (entity.source, pointer("fields", field.name))
            if table in owners:
                yield at(*where, f'the junction table "{table}" of this links field has the '
                         f"same name as the table of {owners[table]}", "DEF040")
            elif len(table) > MAX_TABLE_NAME:
                yield at(*where, f'the junction table "{table}" is longer than '
                         f"{MAX_TABLE_NAME} characters; shorten the entity or field name",
                         "DEF040")
            owners.setdefault(table, f"{entity.name}.{field.name}")


def _role_scopes(ctx: Ctx) -> Iterator[Problem]:
    for role, scopes in (ctx.role_scopes or {}).items():
        for name in scopes if isinstance(scopes, dict) else ():
            if name != "*" and name not in ctx.entity_names:
                yield at(ctx.raw.pack.file, pointer("roles", role, name),
                         f'{ctx.unknown_entity(name)}; use an entity name, or "*" for every '
                         "entity", "DEF043")


def _owned_twice(ctx: Ctx) -> Iterator[Problem]:
    owners: dict[tuple[str, str], Workflow] = {}
    for workflow in ctx.pack.workflows.values():
        first = owners.setdefault((workflow.entity, workflow.field), workflow)
        if first is not workflow:
            yield at(workflow.source, "/field", f'{workflow.entity}.{workflow.field} is '
                     f'already the stage field of workflow "{first.name}" ({first.source}); '
                     "give each workflow its own field", "WF023")


PACK_CHECKS: tuple[Callable[[Ctx], Iterator[Problem]], ...] = (
    _tables, _role_scopes, _owned_twice, check_parts, check_nav, *FIELD_RIGHTS_CHECKS)


def is_warning(problem: Problem) -> bool:
    """A warning is printed by `karte check` but does not stop the pack from loading."""
    return problem.code in WARNINGS | FILE_WARNINGS
