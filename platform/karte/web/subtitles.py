"""A record's subtitle (SPEC §3.3): up to three of its fields shown under its title
wherever it is named among others — search results, picker options, duplicate
warnings — so that two "Lyons Ltd" can be told apart ("Lyon · Sato", "Leeds · Kim").

Fields hidden from the user's role are left out; link targets and user names are looked
up once for all the rows shown (`display.references`: one query per target entity), never
per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from karte.meta.model import Entity
from karte.web import actor, records
from karte.web.display import Refs, references_of, show
from karte.web.field_access import seen

SEPARATOR = " · "


def names(entity: Entity) -> list[str]:
    """The entity's subtitle fields the signed-in user may see."""
    return [n for n in seen(entity, entity.subtitle) if n in entity.fields]


def of_rows(entity: Entity, rows: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """{id: subtitle text} for records already read (with their subtitle fields)."""
    return of_groups([(entity, rows)]).get(entity.name, {})


def of_groups(groups: Iterable[tuple[Entity, Iterable[Mapping[str, Any]]]]
              ) -> dict[str, dict[int, str]]:
    """{entity: {id: subtitle}} for the rows of several entities shown on one page (the
    top search's groups): one query per linked target entity and one for user names,
    however many groups name them."""
    parts = [(entity, list(rows), names(entity)) for entity, rows in groups]
    parts = [part for part in parts if part[1] and part[2]]
    if not parts:
        return {}
    refs = references_of(parts)
    return {entity.name: with_refs(entity, rows, refs, wanted) for entity, rows, wanted in parts}


def with_refs(entity: Entity, rows: Iterable[Mapping[str, Any]], refs: Refs,
              wanted: list[str] | None = None) -> dict[int, str]:
    """{id: subtitle} from references the page already looked up (a list page reads
    its columns' and subtitles' link titles in the same queries): no query here."""
    return {id: SEPARATOR.join(text for _name, text in shown)
            for id, shown in parts(entity, rows, refs, wanted).items()}


def parts(entity: Entity, rows: Iterable[Mapping[str, Any]], refs: Refs,
          wanted: list[str] | None = None) -> dict[int, list[tuple[str, str]]]:
    """{id: [(field, text), ...]}: each record's subtitle field by field, the empty ones
    left out (a list leaves out on wide screens those it shows as columns)."""
    wanted = names(entity) if wanted is None else wanted
    found: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        shown = ((n, show(entity.fields[n], row.get(n), refs).striptags()) for n in wanted
                 if row.get(n) not in (None, "", [], ()))
        found[int(row["id"])] = [(n, text) for n, text in shown if text]
    return found


def of_ids(entity: Entity, ids: Iterable[Any]) -> dict[int, str]:
    """{id: subtitle text} of records known by id (one read for all of them, within the
    user's read scope)."""
    ids = list(ids)
    if not names(entity) or not ids:
        return {}
    return of_rows(entity, records().get_many(entity.name, ids, actor=actor()))
