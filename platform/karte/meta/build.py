"""Schema-valid raw documents → the frozen Registry (`Pack`).

Building fills in every default SPEC §3.3 names (labels, list columns, search fields,
card sections, related lists), declares each workflow's stage field on its entity, and
parses conditions and formulas against the finished field set. It is tolerant of broken
references: `validate.check_meaning` reports those with their file and pointer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from karte.fields import TYPES, phone_country
from karte.meta import conditions, formulas, parts, rollups, series
from karte.meta.build_dashboards import build_dashboards
from karte.meta.model import (
    Action,
    CardConfig,
    Entity,
    Field,
    ListConfig,
    ListView,
    NavGroup,
    Option,
    Pack,
    Permission,
    Rule,
    Section,
    Stage,
    Text,
    TimelineItem,
    Transition,
    Workflow,
    frozen_map,
    humanise,
)
from karte.meta.raw import Doc, RawPack
from karte.meta.record_actions import build_actions
from karte.problems import Problem, pointer

CONDITION_KEYS = ("visible_if", "required_if", "read_only_if")
MORE = {"en": "More", "ja": "その他"}
FIELD_KEYS = ("required", "unique", "index", "read_only", "max_length", "min_length",
              "pattern", "min", "max", "precision", "scale", "currency", "to", "of",
              "result", "renamed_from", "default", "fetch", "multiple", "max_mb",
              *CONDITION_KEYS)


def _text(raw: Any, name: str) -> Text:
    return Text.of(raw if raw is not None else humanise(name), key=name)


def english_plural(word: str) -> str:
    """A good-enough English plural for a default label ("Category" → "Categories")."""
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _plural(raw: Any, label: Text, name: str) -> Text:
    """The given plural, else the label with its English text(s) pluralised."""
    if raw is not None:
        return Text.of(raw, key=name)
    return Text.of({locale: english_plural(text) if locale in ("", "en") else text
                    for locale, text in label.values.items()}, key=name)


def _options(raw: list[Any] | None) -> tuple[Option, ...]:
    options = []
    for item in raw or ():
        if isinstance(item, str):
            options.append(Option(item, Text.of(humanise(item), key=item)))
        else:
            options.append(Option(item["key"], _text(item.get("label"), item["key"]),
                                  item.get("color")))
    return tuple(options)


def _field(name: str, raw: Mapping[str, Any], currency: str) -> Field:
    kwargs = {key: raw[key] for key in FIELD_KEYS if key in raw}
    field = Field(name=name, type=raw["type"], label=_text(raw.get("label"), name),
                  help=Text.of(raw["help"]) if "help" in raw else None,
                  options=_options(raw.get("options")),
                  retired=frozen_map(raw.get("retired")),
                  accept=tuple(raw["accept"]) if "accept" in raw else None,
                  on_delete=raw.get("on_delete", "restrict"), **kwargs)
    if isinstance(raw.get("series"), str):
        field = _series_field(field, raw["series"])
    if "money" in (field.type, field.result) and not field.currency:
        field = replace(field, currency=currency)
    if field.type == "formula":
        field = replace(field, formula=raw.get("formula"), read_only=True)
    if field.type == "rollup":
        field = replace(field, rollup={k: raw[k] for k in rollups.KEYS if k in raw},
                        read_only=True)
    return field


def _series_field(field: Field, pattern: str) -> Field:
    """A series field is read_only and unique: the engine numbers it (SPEC §3.6). A
    malformed pattern is left for `validate` to report."""
    try:
        parsed = series.parse(pattern)
    except ValueError:
        return field
    return replace(field, series=parsed, read_only=True, unique=True)


def _stage_field(owner: str, workflow: Mapping[str, Any], declared: Field | None,
                 labelled: bool) -> Field:
    """The workflow's stage field: declared by the engine, or the entity's own enum. Its
    label, unless the entity gives one: the workflow's `field_label`, else its `label`
    (text in the pack's languages rather than the field name in English). Stages renamed
    or retired in the workflow are the field's value mappings (store/migrate/values.py)."""
    stages = workflow.get("stages", ())
    options = tuple(Option(s["key"], _text(s.get("label"), s["key"]), s.get("color"))
                    for s in stages)
    name = workflow["field"]
    label = _text(workflow.get("field_label", workflow.get("label")), name)
    retired = frozen_map(workflow.get("retired"))
    renamed = frozen_map({s["renamed_from"]: s["key"] for s in stages if s.get("renamed_from")})
    if declared is not None:
        return replace(declared, workflow=owner, index=True,
                       options=declared.options or options,
                       label=declared.label if labelled else label,
                       retired=retired, renamed_values=renamed)
    return Field(name=name, type="enum", label=label, options=options, index=True,
                 workflow=owner, declared=False, retired=retired, renamed_values=renamed)


def _plain_fields(raw: RawPack, currency: str) -> dict[str, dict[str, Field]]:
    fields = {name: {fname: _field(fname, fraw, currency)
                     for fname, fraw in doc.data.get("fields", {}).items()}
              for name, doc in raw.entities.items()}
    for owner, doc in raw.workflows.items():
        entity = raw.entities.get(doc.data.get("entity"))
        entity_fields = fields.get(doc.data.get("entity"))
        if entity is not None and entity_fields is not None and doc.data.get("field"):
            name = doc.data["field"]
            labelled = "label" in (entity.data.get("fields", {}).get(name) or {})
            entity_fields[name] = _stage_field(owner, doc.data, entity_fields.get(name),
                                               labelled)
    for name, doc in raw.entities.items():
        parent = raw.entities.get(doc.data.get("part_of"))
        parts.add_part_fields(doc.data.get("part_of"), fields[name],
                              parent.data.get("label") if parent is not None else None)
    return fields


def _default_title(fields: Mapping[str, Field]) -> str:
    if "name" in fields:
        return "name"
    textual = [f.name for f in fields.values() if f.type == "string"]
    return textual[0] if textual else next(iter(fields), "id")


def _list_config(raw: Mapping[str, Any], fields: Mapping[str, Field], title: str) -> ListConfig:
    others = [name for name in fields if name != title and TYPES[fields[name].type].orderable]
    searchable = [name for name, f in fields.items()
                  if name == title or TYPES[f.type].textual]
    filters = [name for name, f in fields.items()
               if f.type in ("enum", "boolean", "user") or f.workflow]
    return ListConfig(
        columns=tuple(raw.get("columns") or [title, *others[:4]]),
        sort=raw.get("sort", "-updated_at"),
        filters=tuple(raw.get("filters", filters)),
        search=tuple(raw.get("search") or searchable),
        page_size=raw.get("page_size", 50),
    )


def _card_config(raw: Mapping[str, Any], entity: str, fields: Mapping[str, Field],
                 related: list[str]) -> CardConfig:
    sections = [Section(_text(s.get("label"), "section"), tuple(s.get("fields", ())))
                for s in raw.get("sections", ())]
    placed = {name for section in sections for name in section.fields}
    rest = tuple(name for name, f in fields.items() if name not in placed and f.declared)
    if rest:
        label = Text.of(MORE if sections else _text(None, entity).values, key="more")
        sections.append(Section(label, rest))
    return CardConfig(tuple(sections), tuple(raw.get("related", related)))


def _permissions(raw: Mapping[str, Any] | None) -> Mapping[str, Permission]:
    return frozen_map({key: _permission(value) for key, value in (raw or {}).items()})


def _permission(raw: Mapping[str, Any]) -> Permission:
    """Field lists as tuples (the Registry is frozen); rights as written."""
    lists = {key: tuple(raw[key]) for key in ("hidden", "read_only") if key in raw}
    return Permission(**{**raw, **lists})


def _reverse_links(fields: Mapping[str, Mapping[str, Field]]) -> dict[str, list[str]]:
    reverse: dict[str, list[str]] = {}
    for source, entity_fields in fields.items():
        for f in entity_fields.values():
            if f.type == "link" and f.to and f.declared:  # not a part's parent link
                reverse.setdefault(f.to, []).append(f"{source}.{f.name}")
    return reverse


def _entity(name: str, doc: Doc, fields: dict[str, Field], related: list[str]) -> Entity:
    data = doc.data
    title = data.get("title_field") or _default_title(fields)
    timeline = data.get("timeline_item")
    return Entity(
        name=name,
        label=_text(data.get("label"), name),
        plural=_plural(data.get("plural"), _text(data.get("label"), name), name),
        title_field=title,
        fields=frozen_map(fields),
        list=_list_config(data.get("list", {}), fields, title),
        card=_card_config(data.get("card", {}), name, fields, related),
        duplicates=tuple(tuple(rule["fields"]) for rule in data.get("duplicates", ())),
        unique=tuple(tuple(names) for names in data.get("unique", ())),
        permissions=_permissions(data.get("permissions")),
        timeline_item=(TimelineItem(timeline["at"], timeline["summary"], timeline.get("done"))
                       if timeline else None),
        subtitle=tuple(data.get("subtitle", ())),
        removed=tuple(data.get("remove", ())),
        source=doc.file,
        part_of=data.get("part_of"),
    )


def _with_expressions(entity: Entity, entities: Mapping[str, Entity],
                      problems: list[Problem]) -> Entity:
    """Parse each field's conditions and formula against the finished Registry."""
    fields = {}
    for name, f in entity.fields.items():
        where = pointer("fields", name)
        parsed: dict[str, Any] = {}     # Field keeps parsed expressions as Any
        for key in CONDITION_KEYS:
            raw = getattr(f, key)
            if raw is not None:
                parsed[key], found = conditions.parse(raw, entity, entities, entity.source,
                                                      f"{where}/{key}")
                problems += found
        if f.type == "formula" and isinstance(f.formula, str):
            parsed["formula"], found = formulas.parse(f.formula, entity, entity.source,
                                                      f"{where}/formula", f.result, entities)
            problems += found
        if f.type == "rollup" and isinstance(f.rollup, dict):
            parsed["rollup"], found = rollups.parse(f.rollup, f.result, entity, name, entities)
            parsed["result"] = getattr(parsed["rollup"], "result", f.result)
            problems += found
        fields[name] = replace(f, **parsed) if parsed else f
    built = replace(entity, fields=frozen_map(fields))
    problems += formulas.cycles(built)
    return built


def _views(raw: Any, entity: Entity, entities: Mapping[str, Entity],
           problems: list[Problem]) -> tuple[ListView, ...]:
    """The entity's declared list views, their conditions parsed (SPEC §3.7)."""
    return tuple(
        ListView(view["name"], _text(view.get("label"), view["name"]),
                 _conditions_of(view, "where", entity, entities, entity.source,
                                pointer("views", index), problems),
                 tuple(view.get("columns", ())), view.get("sort"))
        for index, view in enumerate(raw or ()))


def _conditions_of(raw: Mapping[str, Any], key: str, entity: Entity | None,
                   entities: Mapping[str, Entity], file: str, where: str,
                   problems: list[Problem]) -> Any:
    if raw.get(key) is None or entity is None:
        return None
    parsed, found = conditions.parse(raw[key], entity, entities, file, f"{where}/{key}")
    problems += found
    return parsed


def _stages(doc: Doc, entity: Entity | None, entities: Mapping[str, Entity],
            problems: list[Problem]) -> tuple[Stage, ...]:
    stages = []
    for index, raw in enumerate(doc.data["stages"]):
        rules = []
        for rule_index, rule in enumerate(raw.get("rules", ())):
            where = pointer("stages", index, "rules", rule_index)
            when = _conditions_of(rule, "when", entity, entities, doc.file, where, problems)
            rules.append(Rule(when, Text.of(rule.get("message", ""), key="rule")))
        stages.append(Stage(raw["key"], _text(raw.get("label"), raw["key"]),
                            raw.get("max_days"), raw.get("final"),
                            tuple(raw.get("requires", ())), tuple(rules), raw.get("color"),
                            raw.get("renamed_from")))
    return tuple(stages)


def _workflow(name: str, doc: Doc, entities: Mapping[str, Entity],
              problems: list[Problem]) -> Workflow:
    data = doc.data
    entity = entities.get(data["entity"])
    stages = _stages(doc, entity, entities, problems)
    transitions = tuple(
        Transition(t["from"], t["to"], tuple(t.get("roles", ())),
                   _conditions_of(t, "when", entity, entities, doc.file,
                                  pointer("transitions", i), problems))
        for i, t in enumerate(data.get("transitions", ())))
    on_enter = {stage: tuple(Action("set", frozen_map(a["set"])) if "set" in a else
                             Action("create", frozen_map(a.get("values", {})), a["create"])
                             for a in actions)
                for stage, actions in data.get("on_enter", {}).items()}
    moves = data.get("moves", {})
    return Workflow(
        name=name, entity=data["entity"], field=data["field"],
        label=_text(data.get("label"), name), stages=stages,
        initial=data.get("initial") or (stages[0].key if stages else ""),
        skip=moves.get("skip", True), back=moves.get("back", True),
        reopen=moves.get("reopen", False), transitions=transitions,
        on_enter=frozen_map(on_enter), source=doc.file,
        retired=frozen_map(data.get("retired")),
        board_fields=(tuple(data["board"]["fields"])
                      if "fields" in data.get("board", {}) else None))


def _roles(raw: Mapping[str, Any] | None) -> Mapping[str, Mapping[str, Permission]]:
    return frozen_map({role: _permissions(scopes) for role, scopes in (raw or {}).items()})


def build_pack(raw: RawPack) -> tuple[Pack, list[Problem]]:
    """The Registry for schema-valid documents, and the problems found while parsing
    conditions and formulas."""
    problems: list[Problem] = []
    meta = raw.pack.data or {}
    currency = meta.get("currency", "USD")
    fields = _plain_fields(raw, currency)
    reverse = _reverse_links(fields)
    plain = rollups.default_results({name: _entity(name, doc, fields[name],
                                                   reverse.get(name, []))
                                     for name, doc in raw.entities.items()})
    entities = {name: _with_expressions(e, plain, problems) for name, e in plain.items()}
    problems += rollups.cycles(entities)
    entities = {name: replace(e, actions=build_actions(raw.entities[name].data.get("actions"),
                                                       e, plain, problems),
                              views=_views(raw.entities[name].data.get("views"), e, plain,
                                           problems))
                for name, e in entities.items()}
    workflows = {name: _workflow(name, doc, plain, problems)
                 for name, doc in raw.workflows.items()}
    dashboards, found = build_dashboards(raw.dashboards, entities, workflows)
    problems += found
    pack = Pack(
        name=meta.get("name", raw.root.name), label=_text(meta.get("label"), raw.root.name),
        root=raw.root, entities=frozen_map(entities), workflows=frozen_map(workflows),
        roles=_roles(meta.get("roles")), locale=meta.get("locale", "en"),
        country=phone_country(meta.get("country"), meta.get("timezone")), currency=currency,
        timezone=meta.get("timezone", "UTC"), template_dirs=tuple(raw.template_dirs),
        nav=(tuple(NavGroup(_text(group["label"], "menu"), tuple(group["items"]))
                   for group in meta["nav"]) if "nav" in meta else None),
        dashboards=frozen_map(dashboards), definitions=frozen_map(_definitions(raw)))
    return pack, problems


def _definitions(raw: RawPack) -> dict[str, Any]:
    """What the schema history records and the schema fingerprint hashes. Dashboards are
    left out: they shape no table, so editing one must not ask for a migration (nor make
    a dump "of other definitions")."""
    return {"pack": {k: v for k, v in (raw.pack.data or {}).items() if k != "$schema"},
            "entities": {n: _unschema(d.data) for n, d in sorted(raw.entities.items())},
            "workflows": {n: _unschema(d.data) for n, d in sorted(raw.workflows.items())}}


def _unschema(data: Any) -> Any:
    return {k: v for k, v in data.items() if k != "$schema"} if isinstance(data, dict) else data
