"""Dashboard pages (SPEC §12, docs/dashboards.md "Pages").

`/dashboard/<name>` shows every widget the signed-in user's role may see, each a tile
(karte.web.tiles) drawn on the server — numbers, ratios, SVG charts with their data
tables, funnels, short lists — so the page works without JavaScript, prints, and can be
bookmarked. `/dashboard/<name>/<widget>` is one widget alone: the fragment a tile's refresh
button asks htmx for, a whole page otherwise. An unknown dashboard or widget is a 404, a
dashboard the role may not open a 403 (`Reports.dashboard`), and a widget the role may not
see is left out of the page (and a 403 alone: `Reports.run` gives None).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app

from karte.meta.dashboards import Dashboard
from karte.web import render, signed_in_actor
from karte.web.tiles import Tile, tile

blueprint = Blueprint("dashboards", __name__)


def _reports() -> Any:
    return current_app.extensions["karte"]["reports"]


def visible() -> list[Dashboard]:
    """The dashboards the signed-in user may open, in the pack's order."""
    return _reports().visible(signed_in_actor())


def tiles(dashboard: Dashboard) -> list[Tile]:
    """The tiles of every widget the user may see, in order."""
    return [tile(result) for result in _reports().results(dashboard, signed_in_actor())]


@blueprint.get("/dashboard/<name>")
def show(name: str):
    dashboard = _reports().dashboard(name, signed_in_actor())
    return render("dashboard.html", dashboard=dashboard, tiles=tiles(dashboard))


@blueprint.get("/dashboard/<name>/<widget>")
def widget(name: str, widget: str):
    user = signed_in_actor()
    dashboard = _reports().dashboard(name, user)
    chosen = dashboard.widget(widget)
    if chosen is None:
        abort(404)
    result = _reports().run(dashboard, chosen, user)
    if result is None:
        abort(403)
    return render("dashboard_widget.html", "_partials/widget.html", dashboard=dashboard,
                  t=tile(result))
