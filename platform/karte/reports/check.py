"""`karte check` runs every widget once against an empty database of the pack's tables, so
a definition the database cannot run (a type it cannot compare, a column it lacks, an
aggregate it refuses) is found when the pack is checked, not by a manager staring at an
error tile. The database is SQLite in memory: nothing is written anywhere."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from karte.meta.dashboards import Dashboard, Widget
from karte.meta.model import Pack
from karte.problems import Problem, at
from karte.reports.service import Reports
from karte.store import Records
from karte.store.tables import build_metadata

CODE = "DSH090"


def plan_problems(pack: Pack) -> list[Problem]:
    """One problem (DSH090, file + widget pointer) per widget whose statement fails."""
    if not pack.dashboards:
        return []
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    try:
        build_metadata(pack, "sqlite").create_all(engine)
        reports = Reports(Records(engine, pack))
        return [problem for dashboard in pack.dashboards.values()
                for widget in dashboard.widgets
                for problem in _run(reports, dashboard, widget)]
    finally:
        engine.dispose()


def _run(reports: Reports, dashboard: Dashboard, widget: Widget) -> list[Problem]:
    try:
        reports.run(dashboard, widget, None)
    except (sa.exc.SQLAlchemyError, KeyError, ValueError, TypeError) as error:
        source = dashboard.source or f"dashboards/{dashboard.name}.json"
        reason = (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]
        return [at(source, widget.pointer,
                   f"the database cannot run this widget ({reason}); check its fields, "
                   "aggregate and group_by against the entity's field types", CODE)]
    return []
