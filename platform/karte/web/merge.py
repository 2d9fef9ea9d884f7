"""`/<entity>/merge?ids=A,B` (SPEC §14): two records side by side, a choice per differing
field (the survivor's value by default, or the one that is not empty), the survivor
swapped by a link, what the merge re-points; one POST merges (`Records.merge`). The form
carries both versions: a record changed meanwhile shows the page again (409) with the
user's choices kept and what changed named. Refusals (rights) are the error page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from karte.meta.model import Entity, Field
from karte.store.errors import Conflict, ValidationFailed
from karte.store.records.merge import Pointing
from karte.store.records.merging import differing
from karte.web import actor, entity_or_404, records, registry, render, signed_in_actor, text
from karte.web.display import references
from karte.web.messages import field_errors

blueprint = Blueprint("merges", __name__)


def _ids() -> tuple[int, int]:
    """The two ids of `?ids=A,B` (or `ids=A&ids=B`, as the duplicates page's checkboxes
    send them); the first is the survivor."""
    raw = ",".join(request.values.getlist("ids"))
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        abort(400)
    if len(ids) != 2:
        abort(400, _("Choose exactly two records to merge."))
    return ids[0], ids[1]


def choices(fields: list[Field], keep: Mapping[str, Any], other: Mapping[str, Any],
            taken: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The differing fields, each with the side chosen (the user's, else the default)."""
    rows = []
    for f, default in differing(fields, keep, other):
        chosen = (taken or {}).get(f.name, default)
        rows.append({"field": f, "keep": keep.get(f.name), "other": other.get(f.name),
                     "chosen": chosen if chosen in ("keep", "other") else default})
    return rows


def pointing_text(entity: Entity, p: Pointing) -> str:
    """One line of the preview, in words."""
    pack = registry()
    if p.kind == "note":
        return ngettext("%(num)d note", "%(num)d notes", p.count)
    if p.kind == "stage_move":
        return ngettext("%(num)d stage history entry", "%(num)d stage history entries",
                        p.count)
    source = pack.entities[p.entity or ""]
    what = text(source.plural if p.count != 1 else source.label)
    field = text(source.fields[p.field or ""].label)
    words = {"link": _("%(num)d %(what)s (by %(field)s)", num=p.count, what=what, field=field),
             "timeline": _("%(num)d timeline items: %(what)s", num=p.count, what=what),
             "line": _("%(num)d lines (%(what)s), added after the survivor's", num=p.count,
                       what=what),
             "junction": _("%(num)d %(what)s listing it in %(field)s", num=p.count,
                           what=what, field=field)}
    return words[p.kind]


def _page(ent: Entity, keep: int, other: int, status: int = 200,
          taken: Mapping[str, str] | None = None, **extra: Any):
    found = records().merge_preview(ent.name, keep, other, actor=actor())
    survivor, merged = found["keep"], found["other"]
    rows = choices(found["fields"], survivor, merged, taken)
    context = {"errors": {}, "conflict": None, **extra}
    return render("merge.html", status=status, entity=ent, keep=survivor, other=merged,
                  rows=rows, same=len(found["fields"]) - len(rows),
                  refs=references(ent, [survivor, merged]),
                  pointing=[pointing_text(ent, p) for p in found["pointing"]], **context)


@blueprint.route("/<entity>/merge", methods=["GET"])
def show(entity: str):
    ent = entity_or_404(entity)
    signed_in_actor()
    keep, other = _ids()
    return _page(ent, keep, other)


@blueprint.route("/<entity>/merge", methods=["POST"])
def merge(entity: str):
    ent = entity_or_404(entity)
    signed_in_actor()
    keep, other = _ids()
    form = request.form
    taken = {k.removeprefix("take_"): v for k, v in form.items() if k.startswith("take_")}
    found = records().merge_preview(ent.name, keep, other, actor=actor())
    values = {row["field"].name: row["other"]
              for row in choices(found["fields"], found["keep"], found["other"], taken)
              if row["chosen"] == "other"}
    try:
        survivor = records().merge(ent.name, keep, other, values, actor(),
                                   versions=(form.get("keep_version"),
                                             form.get("other_version")))
    except Conflict as error:
        changed = [text(ent.fields[name].label) for name in error.changed
                   if name in ent.fields]
        return _page(ent, keep, other, 409, taken, conflict=changed)
    except ValidationFailed as error:
        return _page(ent, keep, other, 422, taken, errors=field_errors(error, ent))
    title = survivor.get(ent.title_field) or f"#{survivor['id']}"
    flash(_("Merged: %(title)s now holds everything of #%(other)d.", title=title,
            other=other))
    return redirect(url_for("cards.show", entity=ent.name, id=survivor["id"]), 303)
