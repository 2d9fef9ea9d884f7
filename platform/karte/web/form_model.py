"""The form as a page shows it: one `Widget` per field, conditions judged, choices found.

Which fields are inputs, which are shown read-only and why, which are hidden by
`visible_if` (their text still travels as hidden inputs: nothing typed is lost), which are
required now (`required_if`), and what a link offers: a <select> of every readable target
when there are few (works without JavaScript), else a type-ahead combobox whose typed
title the server resolves (static/js/typeahead.js; without script, its "Find" button opens
the search-then-pick page, `karte.web.typeahead.choose`). Every record named carries its
subtitle (`karte.web.subtitles`), so two "Lyons Ltd" differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from karte.fields import is_empty, record_id
from karte.meta.conditions import Condition, Context, evaluate, fields_used
from karte.meta.model import Entity, Field
from karte.store import field_rights, lookup
from karte.store.errors import NotFound
from karte.store.records.write import blank, default_of
from karte.web import active_users, actor, records, registry, subtitles, text
from karte.web.derived import how
from karte.web.display import Refs, references, show
from karte.web.form_fetch import links as fetch_links
from karte.web.form_files import PENDING, REMOVE, upload
from karte.web.form_values import MANY, QUERY, editable, stored_form, uploadable

SELECT_MAX = 50
"""A link offers a <select> (no JavaScript needed) up to this many readable targets; more
get a type-ahead combobox (issue 12: no <select> of 100 names, no 100 checkboxes)."""


class Lookup:
    """Record titles for pickers, limited to what the signed-in user may read."""

    def __init__(self) -> None:
        self.store, self.user = records().store, actor()
        self._counts: dict[str, int] = {}

    def title(self, entity: str, id: int) -> str | None:
        return lookup.titles(self.store, entity, [id], self.user).get(id)

    def search(self, entity: str, typed: str) -> list[tuple[int, str]]:
        return lookup.pick(self.store, entity, typed, self.user)

    def noun(self, entity: str, plural: bool = False) -> str:
        target = registry().entities[entity]
        return text(target.plural if plural else target.label).lower()

    def few(self, entity: str) -> bool:
        """Whether every readable target fits in a <select>."""
        if entity not in self._counts:
            self._counts[entity] = records().count(entity, actor=self.user, cap=SELECT_MAX + 1)
        return self._counts[entity] <= SELECT_MAX

    def every(self, entity: str) -> list[tuple[int, str]]:
        found = lookup.pick(self.store, entity, "", self.user, limit=SELECT_MAX)
        return sorted(found, key=lambda item: (item[1].casefold(), item[0]))


class Conditions:
    """Judges conditions as the records service does (same evaluator, same tokens), but
    follows a link only to records the user may read."""

    def __init__(self, user: Any, timezone: str) -> None:
        self.ctx = Context.current(user.id if user is not None else None, timezone)
        self._seen: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def _fetch(self, entity: str, id: int) -> Mapping[str, Any] | None:
        if (entity, id) not in self._seen:
            try:
                found = records().get(entity, id, include_deleted=True, actor=actor())
            except NotFound:
                found = None
            self._seen[(entity, id)] = found
        return self._seen[(entity, id)]

    def holds(self, cond: Condition | None, record: Mapping[str, Any]) -> bool:
        return cond is not None and evaluate(cond, record, self.ctx, self._fetch)


@dataclass
class Widget:
    """One field on the form: an input, or a value shown read-only with the reason."""

    field: Field
    label: str
    help: str
    raw: Any                      # the text in the input (a list for many-valued fields)
    errors: list[str]
    visible: bool
    required: bool
    editable: bool
    live: bool                    # a condition reads it: a change re-renders the form
    display: Markup = Markup("")  # read-only value
    note: str = ""                # why it is read-only
    # `dataclasses.field`: the attribute `field` above shadows the import for type checkers
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    search: bool = False          # a picker that searches (too many targets to list)
    text: str = ""                # the picker's text box
    titles: dict[str, str] = dataclasses.field(default_factory=dict)   # chosen id -> title
    subtitles: dict[str, str] = dataclasses.field(default_factory=dict)  # chosen id -> subtitle
    derived: str = ""             # where a formula's or fetched value comes from, in words
    grid: Any = None              # a `lines` field's rows (karte.web.lines_form.Grid)
    upload: Any = None            # a file field's files and input (karte.web.form_files)

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def group(self) -> bool:
        """Several inputs (checkboxes) under one label."""
        return self.field.type in MANY and not self.search

    def attrs(self, name: str | None = None) -> Markup:
        """id, name and the ARIA links to the field's help and errors."""
        described = " ".join(part for part, present in ((f"e-{self.name}", self.errors),
                                                        (f"h-{self.name}", self.help))
                             if present)
        found = Markup('id="f-{}" name="{}"').format(self.name, name or self.name)
        if described:
            found += Markup(' aria-describedby="{}"').format(described)
        if self.required:
            found += Markup(' aria-required="true"')
        if self.errors:
            found += Markup(' aria-invalid="true"')
        return found

    @property
    def values(self) -> list[str]:
        return list(self.raw) if isinstance(self.raw, list | tuple) else [str(self.raw)]

    @property
    def hidden(self) -> list[tuple[str, str]]:
        """What a hidden (by `visible_if`) input keeps sending, so nothing is lost."""
        if not self.editable:
            return []
        if self.upload is not None:
            return [*((PENDING + self.name, token) for token, _ref in self.upload.pending),
                    *((REMOVE + self.name, id) for id in sorted(self.upload.removed))]
        if self.field.type in MANY:
            return [(self.name, ""), *((self.name, v) for v in self.values)]
        if self.search:
            return [(self.name, str(self.raw)), (QUERY + self.name, self.text)]
        return [(self.name, str(self.raw))]


@dataclass
class Section:
    label: str
    widgets: list[Widget]


def fresh(entity: Entity, ctx: Context) -> dict[str, Any]:
    """A record not yet saved: empty, with defaults and each workflow's initial stage."""
    record = blank(entity)
    for name, f in entity.fields.items():
        if f.default is not None:
            try:
                record[name] = default_of(f, ctx, registry().country)
            except ValueError:
                pass                 # the service reports a broken default on save
    for workflow in registry().workflows_of(entity.name):
        record[workflow.field] = workflow.initial
    return record


def _why_locked(f: Field) -> str:
    if f.type == "formula":
        return _("Calculated when the record is saved.")
    if f.type == "rollup":
        return _("Kept up to date from the records it adds up.")
    if f.series is not None:
        return _("Numbered automatically when the record is created.")
    if f.workflow is not None:
        return _("Changes through a move (the stage bar or the board).")
    if f.read_only:
        return _("Set by the system.")
    return _("Cannot be changed on this record now.")


class FormModel:
    """The fields of one form: `inputs` are parsed from a POST, `sections` are shown."""

    def __init__(self, entity: Entity, record: dict[str, Any] | None,
                 conditions: Conditions, look: Lookup) -> None:
        self.entity, self.record, self.conditions, self.lookup = entity, record, conditions, look
        self.base = record if record is not None else fresh(entity, conditions.ctx)
        # fields of the user's role: hidden ones are not on the form, read-only ones are
        # shown and never posted (the service would refuse them, SPEC §3.4)
        self.unseen = field_rights.hidden(look.store, entity, look.user)
        self.fixed = field_rights.read_only(look.store, entity, look.user)
        self.inputs = [f for f in entity.fields.values()
                       if (editable(f) or uploadable(f)) and f.name not in self.fixed
                       and not self._locked(f)]
        self._input_names = {f.name for f in self.inputs}
        self.live_fields = frozenset().union(*(
            fields_used(c) for f in entity.fields.values()
            for c in (f.visible_if, f.required_if) if c is not None),
            fetch_links(entity, self._input_names))
        self.has_conditions = bool(self.live_fields)
        self.live_url = url_for("forms.live", entity=entity.name)

    def _locked(self, f: Field) -> bool:
        """`read_only_if` holds on the record as stored (as the service judges it); a
        record being created has nothing to protect yet."""
        return self.record is not None and self.conditions.holds(f.read_only_if, self.record)

    def _live_total(self, f: Field) -> bool:
        """A formula or rollup of a record with lines: shown on a new record too, where the
        grid's live values fill it in (karte/web/lines_pages.py)."""
        return f.type in ("formula", "rollup") and any(
            other.type == "lines" for other in self.entity.fields.values())

    def sections(self, raw: Mapping[str, Any], values: Mapping[str, Any],
                 errors: Mapping[str, list[str]]) -> list[Section]:
        self.errors = errors          # a `lines` grid places its rows' errors in cells
        state = {**self.base, **stored_form(self.entity, values, registry().country)}
        refs = references(self.entity, [state])
        found = []
        for section in self.entity.card.sections:
            widgets = [w for name in section.fields
                       if name in self.entity.fields and name not in self.unseen
                       if (w := self._widget(self.entity.fields[name], raw, state, errors,
                                             refs)) is not None]
            if widgets:
                found.append(Section(text(section.label), widgets))
        return found

    def _widget(self, f: Field, raw: Mapping[str, Any], state: Mapping[str, Any],
                errors: Mapping[str, list[str]], refs: Refs) -> Widget | None:
        holds = self.conditions.holds
        is_input = f.name in self._input_names
        visible = f.visible_if is None or holds(f.visible_if, state) or bool(errors.get(f.name))
        if not is_input and (not visible or (self.record is None and not self._live_total(f)
                                             and is_empty(state.get(f.name)))):
            return None
        widget = Widget(f, text(f.label), text(f.help) if f.help else "",
                        raw.get(f.name, [] if f.type in MANY else ""),
                        list(errors.get(f.name, [])), visible,
                        f.required or holds(f.required_if, state), is_input,
                        f.name in self.live_fields)
        widget.derived = how(self.entity, f)
        if not is_input:
            widget.display, widget.note = show(f, state.get(f.name), refs), _why_locked(f)
            if (editable(f) or uploadable(f)) and f.name in self.fixed:
                widget.note = _("Your role may not change this field.")
        else:
            CHOICES.get(f.type, lambda *args: None)(self, widget, raw, refs)
        return widget

    # ------------------------------------------------------------ choices per type

    def _options(self, widget: Widget, raw: Mapping[str, Any], refs: Refs) -> None:
        options = [(o.key, text(o.label)) for o in widget.field.options]
        offered = {key for key, _label in options}
        widget.choices = options + [(v, v) for v in widget.values if v and v not in offered]

    def _files(self, widget: Widget, raw: Mapping[str, Any], refs: Refs) -> None:
        widget.upload = upload(self.entity, widget.field, self.record, widget.raw)

    def _users(self, widget: Widget, raw: Mapping[str, Any], refs: Refs) -> None:
        people = [(str(id), name) for id, name in active_users()]
        widget.choices = _keeping(people, widget.values, refs.users)

    def _targets(self, widget: Widget, raw: Mapping[str, Any], refs: Refs) -> None:
        target = widget.field.to_entity
        known = dict(refs.titles.get(target, {}))
        ids = (record_id(v) for v in widget.values)
        unknown = [id for id in ids if id is not None and id not in known]
        if unknown:
            known.update(lookup.titles(self.lookup.store, target, unknown, self.lookup.user))
        if self.lookup.few(target):
            found = self.lookup.every(target)
            subs = subtitles.of_ids(registry().entities[target], [id for id, _t in found])
            every = [(str(id), _labelled(title or f"#{id}", subs.get(id, "")))
                     for id, title in found]
            widget.choices = _keeping(every, widget.values, known)
            return
        widget.search = True
        widget.titles = {v: _title(known, v) for v in widget.values if v}
        subs = subtitles.of_ids(registry().entities[target],
                                [i for v in widget.titles if (i := record_id(v)) is not None])
        widget.subtitles = {v: subs[i] for v in widget.titles
                            if (i := record_id(v)) is not None and subs.get(i)}
        if widget.field.type == "link":
            typed = raw.get(QUERY + widget.name)
            widget.text = typed if typed is not None else (
                _title(known, widget.raw) if widget.raw else "")


def _labelled(title: str, subtitle: str) -> str:
    """A <select> option: the title, then the subtitle that tells twins apart."""
    return f"{title} — {subtitle}" if subtitle else title


def _title(known: Mapping[int, str], value: str) -> str:
    id = record_id(value)
    if id is None:
        return str(value)
    title = known.get(id)
    return (title or f"#{id}") if title is not None else _("(no access) #%(id)d", id=id)


def _keeping(choices: list[tuple[str, str]], chosen: list[str],
             known: Mapping[int, str]) -> list[tuple[str, str]]:
    """The choices plus any chosen value they lack (an inactive user, a record out of
    reach), so saving the form never drops a value the user did not touch."""
    offered = {value for value, _label in choices}
    extra = [(v, _title(known, v)) for v in chosen if v and v not in offered]
    return choices + extra


CHOICES = {
    "enum": FormModel._options, "multi_enum": FormModel._options, "user": FormModel._users,
    "link": FormModel._targets, "links": FormModel._targets, "file": FormModel._files,
}
