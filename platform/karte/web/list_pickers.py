"""A list filter on a link to a big table is a type-ahead, not a <select> of its first
records (issue 11: a list page of a million-customer CRM read and rendered 200 customers
per link filter on every request, and offered only those).

Up to `SELECT_MAX` readable targets, the filter stays a <select> of all of them (no
JavaScript needed). Beyond, it is the forms' combobox: a hidden `f.<field>` holding the
chosen id and a text box `_q.f.<field>` holding its title; static/js/typeahead.js fills
both from the suggestions (`forms.pick`). Without JavaScript the user types a title and
applies the filters: `resolved` turns the text into the one record it names, the way a
form's picker does, or says which records it could mean.
"""

from __future__ import annotations

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from karte.fields import record_id
from karte.meta.conditions import fold
from karte.meta.model import Entity, Field
from karte.problems import Problem
from karte.store.errors import InvalidQuery
from karte.web.form_model import SELECT_MAX  # as many as a form's link <select> offers
from karte.web.form_values import QUERY  # a picker's text box: `_q.<name>`


def choices(target: str, current: str) -> list[tuple[str, str]] | None:
    """Every readable target, by title, when they are at most SELECT_MAX (plus the one
    chosen now); None when there are more (the filter is a type-ahead then)."""
    from karte.store.lookup import pick, titles
    from karte.web import actor, records

    store = records().store
    found = pick(store, target, "", actor(), SELECT_MAX + 1)
    if len(found) > SELECT_MAX:
        return None
    found.sort(key=lambda item: (item[1].casefold(), item[0]))
    options = [(str(id), title or f"#{id}") for id, title in found]
    id = record_id(current)
    if id is not None and current not in {value for value, _label in options}:
        title = titles(store, target, [id], actor()).get(id)
        options.insert(0, (current, title or f"#{current}"))
    return options


def title_of(target: str, current: str) -> str:
    """The text a type-ahead filter shows for the id chosen now ("" for none; "#id" for
    a record the user may not read)."""
    from karte.store.lookup import titles
    from karte.web import actor, records

    id = record_id(current)
    if id is None:
        return ""
    return titles(records().store, target, [id], actor()).get(id) or f"#{id}"


def resolved(entity: Entity, args: MultiDict) -> MultiDict:
    """`args` with each type-ahead filter's text (`_q.f.<field>`) made into the id it
    names (`f.<field>`): the id chosen while its title is unchanged, else the one record
    whose title is the text (or the only one containing it); an empty text clears the
    filter. InvalidQuery names a text that names no record, or several."""
    typed = [(key, value) for key, value in args.items(multi=True) if key.startswith(QUERY)]
    if not typed:
        return args
    out = MultiDict([(k, v) for k, v in args.items(multi=True) if not k.startswith(QUERY)])
    problems = []
    for key, text in typed:
        param = key[len(QUERY):]
        field = entity.fields.get(param.removeprefix("f."))
        if field is None or field.type not in ("link", "links"):
            continue
        out.poplist(param)
        try:
            id = _named(field, text.strip(), args.get(param, ""))
        except ValueError as error:
            problems.append(Problem(param, str(error)))
            continue
        if id is not None:
            out.add(param, str(id))
    if problems:
        raise InvalidQuery(problems)
    return out


def _named(field: Field, text: str, chosen: str) -> int | None:
    from karte.store.lookup import pick
    from karte.web import actor, records, registry
    from karte.web import text as label

    if not text:
        return None
    target = field.to_entity
    id = record_id(chosen)
    if id is not None and title_of(target, chosen) == text:
        return id
    matches = pick(records().store, target, text, actor())
    exact = [id for id, title in matches if fold(title.strip()) == fold(text)]
    if len(exact) == 1 or len(matches) == 1:
        return exact[0] if exact else matches[0][0]
    things = registry().entities[target]
    if matches:
        raise ValueError(_('%(count)d %(things)s match "%(text)s": type more of the title, or '
                           'choose one from the suggestions.', count=len(matches),
                           things=label(things.plural).lower(), text=text))
    raise ValueError(_('No %(thing)s matches "%(text)s".',
                       thing=label(things.label).lower(), text=text))


