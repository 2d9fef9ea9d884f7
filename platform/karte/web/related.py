"""A card's related lists (SPEC §3.3): the records linking to the card's record, a page
of each, with a count capped at COUNT_CAP.

Their cost must not grow with the number of related records nor with how many lists a
card has beyond one page query each: a list whose first page is not full is its own
count (no count query), and the link titles and user names of every list on a card are
looked up together (`display.references_of`: one query per target entity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import abort
from markupsafe import Markup

from karte.meta.model import Entity, Field
from karte.store.lookup import can_read
from karte.store.permissions import rights
from karte.store.records.sums import sums
from karte.web import actor, list_table, records, registry
from karte.web.derived import numeric
from karte.web.display import Refs, Shown, references_of
from karte.web.field_access import seen

RELATED_PAGE = 10
COUNT_CAP = 1000


def relations(entity: Entity) -> list[tuple[Entity, Field]]:
    """The card's related lists: `card.related`, then every many-to-many (links) field
    pointing here (SPEC's `card.related` names link fields only)."""
    pack = registry()
    found = [(pack.entities[child], pack.entities[child].fields[name])
             for child, _, name in (ref.partition(".") for ref in entity.card.related)]
    found += [(other, f) for other in pack.entities.values() for f in other.fields.values()
              if f.type == "links" and f.to == entity.name]
    return found


def relation_or_404(entity: Entity, child: str, field: str) -> tuple[Entity, Field]:
    for other, f in relations(entity):
        if other.name == child and f.name == field:
            return other, f
    abort(404)


def _rows(child: Entity, field: Field, record: Mapping[str, Any],
          page: int) -> dict[str, Any]:
    """One page of the child records linking here that the user may read, without the
    titles its links show (`refs`, filled in by the caller)."""
    op = "contains" if field.type == "links" else "="
    where = {"field": field.name, "op": op, "value": record["id"]}
    offset = (page - 1) * RELATED_PAGE
    rows = records().query(child.name, where=where, limit=RELATED_PAGE, offset=offset,
                           actor=actor())
    counted = not (0 < len(rows) < RELATED_PAGE or (not rows and page == 1))
    total = (records().count(child.name, where=where, actor=actor(), cap=COUNT_CAP)
             if counted else offset + len(rows))    # not full: the last page, count known
    columns = [name for name in seen(child, dict.fromkeys((child.title_field,
                                                           *child.list.columns)))
               if name != field.name and child.lookup(name) is not None]
    return {"child": child, "field": field, "rows": rows, "total": total, "page": page,
            "sums": _sums(child, columns, where, rows, counted),
            "columns": [child.lookup(name) for name in columns], "names": columns,
            "capped": counted and total >= COUNT_CAP, "more": page * RELATED_PAGE < total,
            "may_create": bool(rights(records().store, child, actor()).create)}


def _sums(child: Entity, columns: list[str], where: dict[str, Any],
          rows: list[dict[str, Any]], counted: bool) -> dict[str, Decimal]:
    """The total of each money column over the whole related list (issue 12): summed by
    the database when the list has more than this page, else over the page's rows."""
    money = [name for name in columns if child.fields.get(name) is not None
             and child.fields[name].type == "money"]
    if not money:
        return {}
    if counted:
        return sums(records().store, records().engine, child.name, money, where,
                    actor=actor(), cap=COUNT_CAP)
    return {name: sum((row[name] for row in rows if row.get(name) is not None),
                      Decimal(0)) for name in money}


def shown(lists: list[dict[str, Any]]) -> list[Shown]:
    """What the lists' cells show, for `references_of`."""
    return [(rel["child"], rel["rows"], rel["names"]) for rel in lists]


@dataclass(frozen=True)
class _Column:
    """A related list's column as `list_table` builds its cells."""

    name: str
    field: Field
    numeric: bool
    title: bool


def finish(rel: dict[str, Any], refs: Refs) -> dict[str, Any]:
    """The list with its references and its rows' `<tr>`s, built in Python as a list
    page's are (`list_table`: each column's way to show chosen once, not per cell)."""
    child = rel["child"]
    columns = [_Column(f.name, f, numeric(f), f.name == child.title_field)
               for f in rel["columns"]]
    body: list[Markup] = list_table.rows(child, columns, rel["rows"], refs, pick=False,
                                         ticked=False)
    rel.update(refs=refs, body=body)
    return rel


def related_list(child: Entity, field: Field, record: Mapping[str, Any],
                 page: int = 1) -> dict[str, Any]:
    """One page of one related list, with its references."""
    rel = _rows(child, field, record, page)
    return finish(rel, references_of(shown([rel])))


def related_lists(entity: Entity, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The first page of every related list the user may read; the caller `finish`es
    them with the references of the whole card (one lookup for all)."""
    return [_rows(child, f, record, 1) for child, f in relations(entity)
            if can_read(records().store, child.name, actor())]
