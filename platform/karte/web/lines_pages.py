"""Pages of parts and lines (SPEC §3.5): the live values of a form's grid, the card's
table of lines with its totals, and the part's own pages.

- `POST /<entity>/form/preview` takes the whole form as typed and answers with the derived
  values only — each line's formulas, the grid's totals, the parent's formulas and rollups —
  as htmx out-of-band swaps (nothing is written; every value is computed on the server).
- A part has a read-only list page (`/<part>/`, from the list blueprint) for reporting, but
  no card, form or board: its card URL leads to the parent's card, its form URLs are a 404
  that says where lines are edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, abort, redirect, request, url_for
from markupsafe import Markup

from karte.meta.model import Entity, Field
from karte.store.errors import NotFound
from karte.web import actor, entity_or_404, records, registry, render, text
from karte.web.display import references, show
from karte.web.forms import _parse, typed_model
from karte.web.lines_errors import change_label
from karte.web.lines_form import GridText, install
from karte.web.lines_values import (
    NUMERIC,
    columns,
    computed,
    kind,
    part_of,
    stored_lines,
    totals,
)

blueprint = Blueprint("lines", __name__)
PART_REFUSED = frozenset({"forms.new", "forms.edit", "forms.live", "forms.delete",
                          "cards.timeline", "cards.related", "cards.history",
                          "cards.add_note", "cards.quick_add", "lists.bulk_delete",
                          "boards.move"})


# ---------------------------------------------------------------- card table

@dataclass
class LinesTable:
    field: Field
    part: Entity
    columns: list[Field]
    rows: list[list[Markup]]
    totals: dict[str, Markup]

    def numeric(self, f: Field) -> bool:
        return kind(f) in NUMERIC


def lines_table(entity: Entity, f: Field, record: Mapping[str, Any]) -> LinesTable:
    """The card's table of one `lines` field, in position order, with its totals."""
    part = part_of(f)
    lines = sorted(record.get(f.name) or (), key=lambda line: line.get("position") or 0)
    refs = references(part, lines)
    shown = columns(part)
    rows = [[show(c, line.get(c.name), refs) for c in shown] for line in lines]
    return LinesTable(f, part, shown, rows, totals(part, lines))


# ---------------------------------------------------------------- live values

def _aggregate(agg: str, values: list[Any]) -> Any:
    numbers = [Decimal(str(v)) for v in values if v is not None]
    if agg == "count":
        return len(values)
    if not numbers:
        return 0 if agg == "sum" else None
    if agg == "sum":
        return sum(numbers, Decimal(0))
    if agg == "avg":
        return sum(numbers, Decimal(0)) / len(numbers)
    return min(numbers) if agg == "min" else max(numbers)


def _rollups(entity: Entity, state: dict[str, Any], grids: Mapping[str, list[dict]],
             holds: Any) -> None:
    """Rollups over a grid's lines, on the lines as typed (the store keeps the stored
    value; this is the preview of what saving would store)."""
    for name, f in entity.fields.items():
        rollup = getattr(f, "rollup", None)
        lines = grids.get(getattr(rollup, "of", ""))
        if rollup is None or lines is None:
            continue
        where = getattr(rollup, "where", None)
        chosen = [line for line in lines if where is None or holds(where, line)]
        field = getattr(rollup, "field", None)
        values = [line.get(field) if field else 1 for line in chosen]
        state[name] = _aggregate(rollup.agg, values)


def preview_state(entity: Entity, model: Any, parsed: Any) -> tuple[dict, dict[str, list]]:
    """The parent's values and each grid's lines as saving them would compute them."""
    from karte.store.records.write import compute_formulas
    from karte.web.form_values import stored_form

    grids: dict[str, list[dict]] = {}
    for name, typed in parsed.raw.items():
        f = entity.fields.get(name)
        if f is not None and f.type == "lines" and isinstance(typed, GridText):
            part, stored = part_of(f), stored_lines(model.base.get(name))
            grids[name] = [computed(part, row.cells, stored.get(row.id)) for row in typed.rows
                           if row.number is not None]
    plain = {n: v for n, v in parsed.values.items() if n not in grids}
    state = {**model.base, **stored_form(entity, plain, registry().country)}
    _rollups(entity, state, grids, model.conditions.holds)
    compute_formulas(entity, state)
    return state, grids


@blueprint.post("/<entity>/form/preview")
def preview(entity: str):
    """The derived values of the form as typed, as out-of-band swaps (nothing written)."""
    ent = entity_or_404(entity)
    model = typed_model(ent)
    parsed = _parse(model)
    state, grids = preview_state(ent, model, parsed)
    refs = references(ent, [state])
    derived = [(f.name, show(f, state.get(f.name), refs)) for f in ent.fields.values()
               if f.type in ("formula", "rollup")]
    cells, sums = [], []
    for name, typed in parsed.raw.items():
        if not isinstance(typed, GridText):
            continue
        part = part_of(ent.fields[name])
        lines = grids[name]
        line_refs = references(part, lines)
        numbered = [row for row in typed.rows if row.number is not None]
        for row, line in zip(numbered, lines, strict=True):
            cells += [(f"{name}-{row.index}-{c.name}", show(c, line.get(c.name), line_refs))
                      for c in columns(part) if c.type in ("formula", "rollup")]
        sums += [(f"{name}-{cell}", value) for cell, value in totals(part, lines).items()]
    return render("_partials/lines_preview.html", derived=derived, cells=cells, sums=sums)


# ---------------------------------------------------------------- a part's own pages

def _guard() -> Any:
    """A part's card goes to its parent's card; its forms and card pieces are refused."""
    args = request.view_args or {}
    name = args.get("entity")
    entity = registry().entities.get(name) if isinstance(name, str) else None
    if entity is None or entity.part_of is None:
        return None
    if request.endpoint == "cards.show":
        try:
            line = records().get(entity.name, args["id"], actor=actor())
        except NotFound:
            abort(404)
        parent = line.get(entity.part_of)
        return redirect(url_for("cards.show", entity=entity.part_of, id=parent), 303)
    if request.endpoint in PART_REFUSED:
        from karte.web.errors import problem_page

        return problem_page(404, [("", _refusal(entity))])
    return None


def _refusal(entity: Entity) -> str:
    from flask_babel import gettext as _

    parent = registry().entities[entity.part_of or ""]
    return _("%(lines)s are edited on the form of their %(parent)s, not on their own.",
             lines=text(entity.plural), parent=text(parent.label).lower())


def init_app(app: Flask) -> None:
    install()
    app.before_request(_guard)
    app.jinja_env.globals.update(lines_table=lines_table, change_label=change_label)

