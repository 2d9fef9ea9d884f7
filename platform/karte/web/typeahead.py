"""Finding things as you type (issue 12): the top search's suggestions, the options of a
link picker, and the picker's search-then-pick page for browsers without JavaScript.

- `GET /search/suggest?q=` — a few records per readable entity (the quick search's own
  query: index-backed, `karte.store.search_index`), grouped by entity, each with its
  subtitle: the listbox under the top search (static/js/typeahead.js moves through it).
  Without htmx it is the /search page.
- `options(entity, typed)` — a picker's options: `lookup.pick` (the title index, at most
  PICKER_LIMIT, within the read scope) and their subtitles, read in one query.
- `POST /<entity>/form/choose` — the form posted by a picker's "Find" button (no script):
  the matches for the text typed in that picker as buttons that post the whole form,
  every value typed so far included, back to the live form with the record chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for

from karte.meta.model import Entity
from karte.store import lookup
from karte.store.lookup import can_read
from karte.web import actor, entity_or_404, is_fragment, records, registry, render
from karte.web import subtitles as subtitle
from karte.web.form_values import QUERY

blueprint = Blueprint("typeahead", __name__)

SUGGESTED = 4        # records per entity under the top search
PICK = "_pick"       # the picker whose "Find" button posted the form
FIND = "_find"       # the text searched on the pick page (not posted back to the form)


@dataclass(frozen=True)
class Option:
    id: int
    title: str
    subtitle: str


def options(entity: Entity, typed: str) -> list[Option]:
    """The records a picker offers for `typed`, each with its subtitle (one read)."""
    found = lookup.pick(records().store, entity.name, typed, actor())
    subs = subtitle.of_ids(entity, [id for id, _title in found])
    return [Option(id, title or f"#{id}", subs.get(id, "")) for id, title in found]


@blueprint.app_template_global("subtitles")
def subtitles(entity: Entity, rows: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """{id: subtitle} of rows a page already read: search results, duplicate warnings."""
    return subtitle.of_rows(entity, rows)


def _searchable() -> list[Entity]:
    store, user = records().store, actor()
    return [e for e in registry().entities.values()
            if e.list.search and can_read(store, e.name, user)]


@blueprint.get("/search/suggest")
def suggest():
    """The top search's suggestions (a fragment for htmx; the /search page otherwise)."""
    q = request.args.get("q", "").strip()
    if not is_fragment():
        return redirect(url_for("home.search", q=q or None), 303)
    found = [(entity, rows) for entity in (_searchable() if q and "\x00" not in q else [])
             if (rows := records().query(entity.name, search=q, limit=SUGGESTED,
                                         actor=actor()))]
    subs = subtitle.of_groups(found)
    groups = [(entity, [Option(r["id"], _title(entity, r), subs.get(entity.name, {}).get(
        r["id"], "")) for r in rows]) for entity, rows in found]
    return render("search.html", "_partials/search_suggest.html", q=q, groups=groups)


def _title(entity: Entity, row: Mapping[str, Any]) -> str:
    value = row.get(entity.title_field)
    return f"#{row['id']}" if value is None or value == "" else str(value)


# ---------------------------------------------------------------- search, then pick

@blueprint.post("/<entity>/form/choose")
def choose(entity: str):
    """The search-then-pick page of one picker: the whole posted form travels along."""
    from karte.web.forms import typed_model

    ent = entity_or_404(entity)
    model = typed_model(ent)                  # may the user write this record at all?
    name = request.form.get(PICK, "")
    field = ent.fields.get(name)
    if field is None or field.type not in ("link", "links") or \
            name not in {f.name for f in model.inputs}:
        abort(404)
    target = registry().entities[field.to_entity]
    typed = request.form.get(FIND, request.form.get(QUERY + name, ""))
    kept = [(key, value) for key, value in request.form.items(multi=True)
            if key not in (PICK, FIND, QUERY + name)
            and not (key == name and field.type == "link")]
    was = request.form.get(name, "") if field.type == "link" else None
    return render("pick.html", entity=target, q=typed, options=options(target, typed),
                  form_entity=ent, field=field, kept=kept, was=was,
                  FIND=FIND, PICK=PICK,
                  back=url_for("forms.live", entity=ent.name),
                  again=url_for("typeahead.choose", entity=ent.name))
