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

from dataclasses import dataclass

from flask import Blueprint, abort, request, url_for

from karte.meta.dashboards import Dashboard
from karte.web import render, reports, signed_in_actor, text
from karte.web.tiles import Tile, period, tile

blueprint = Blueprint("dashboards", __name__)
HEADINGS = {"3": "h3"}       # `?heading=3`: a tile inside a section (home) is an h3


@dataclass(frozen=True)
class Pending:
    """A tile that loads itself (home): its heading and the widget's own URL."""

    id: str
    label: str
    url: str
    period: str
    wide: bool


def visible() -> list[Dashboard]:
    """The dashboards the signed-in user may open, in the pack's order."""
    return reports().visible(signed_in_actor())


def tiles(dashboard: Dashboard) -> list[Tile]:
    """The tiles of every widget the user may see, in order."""
    return [tile(result) for result in reports().results(dashboard, signed_in_actor())]


def pending(dashboard: Dashboard) -> list[Pending]:
    """The widgets the user may see, not yet run: home shows each as a tile that asks for
    its figures once it scrolls into view (htmx), and as a link without JavaScript — so
    home costs no dashboard query, and a slow widget holds up no other."""
    user = signed_in_actor()
    return [Pending(f"home-{dashboard.name}-{w.name}", text(w.label),
                    url_for("dashboards.widget", name=dashboard.name, widget=w.name,
                            heading="3"), period(w), w.wide)
            for w in dashboard.widgets if reports().shown(dashboard, w, user)]


@blueprint.get("/dashboard/<name>")
def show(name: str):
    dashboard = reports().dashboard(name, signed_in_actor())
    return render("dashboard.html", dashboard=dashboard, tiles=tiles(dashboard))


@blueprint.get("/dashboard/<name>/<widget>")
def widget(name: str, widget: str):
    user = signed_in_actor()
    dashboard = reports().dashboard(name, user)
    chosen = dashboard.widget(widget)
    if chosen is None:
        abort(404)
    result = reports().run(dashboard, chosen, user)
    if result is None:
        abort(403)
    return render("dashboard_widget.html", "_partials/widget.html", dashboard=dashboard,
                  t=tile(result), tile_heading=HEADINGS.get(request.args.get("heading", ""),
                                                            "h2"))
