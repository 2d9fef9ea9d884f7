"""What the 1M-record benchmark (bench/bench_million.py) found, fixed so that nothing per
request grows with a table's size — checked as behaviour (plans and results), on SQLite and
PostgreSQL; timings stay in bench/ and docs/performance.md.

- The last pages of a list (`?page=last`, `last-1`, ...) are read from the end of the
  sort, the same index backwards, instead of `OFFSET` over every row before them.
- Home's "my open work" reads (user field, updated_at or the dated item's `at`, id) and
  stops after its rows, instead of sorting every record the user owns.
- Home's board counts stop at a cap: per stage a LIMITed read of the stage index, never
  a GROUP BY over every live record.
- Overdue counts and a board's overdue flags read a range of (stage, entered the stage
  at, id): the overdue records alone, no stage history.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from karte.store import stage_totals
from karte.store.records.query import filtered, order_by

ROWS = 3000

ENTITIES = {
    "item": {
        "label": {"en": "Item", "ja": "品目"}, "plural": {"en": "Items", "ja": "品目"},
        "title_field": "title",
        "fields": {"title": {"type": "string", "required": True},
                   "score": {"type": "integer"},
                   "due_on": {"type": "date"},
                   "owner": {"type": "user"}},
        "list": {"columns": ["title", "score", "due_on"], "sort": "-score",
                 "search": ["title"], "page_size": 5, "filters": ["score", "due_on"]}},
}


FLOW = {"entity": "item", "field": "stage",
        "stages": [{"key": "new", "max_days": 3}, {"key": "doing", "max_days": 10},
                   {"key": "done", "final": "won"}]}


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, {"flow": FLOW}, config={"KARTE_LIST_COUNT_CAP": 12})


def _fill(app, rows: int) -> list[int]:
    """`rows` items, raw (fast): scores with duplicates and empty ones, every 10th deleted,
    owned by 4 users, spread over the stages; the users' ids."""
    services = app.extensions["karte"]
    table = services["records"].store.table(services["pack"].entities["item"])
    users = [app.user("admin", f"u{i}@example.com") for i in range(4)]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    with services["engine"].begin() as conn:
        conn.execute(table.insert(), [
            {"title": f"t{i:05d}", "score": None if i % 7 == 0 else i % 13,
             "due_on": None if i % 5 == 0 else dt.date(2024, 1, 1) + dt.timedelta(i % 40),
             "owner": users[i % 4], "stage": ("new", "doing", "done")[i % 3],
             "created_at": start, "_stage_at": start,
             "updated_at": start + dt.timedelta(seconds=i),
             "deleted_at": start if i % 10 == 9 else None}
            for i in range(rows)])
        # written behind the records service: its board counters are rebuilt as
        # `karte recompute stage-totals` would
        stage_totals.rebuild(conn, services["pack"], services["records"].store.tables)
        conn.exec_driver_sql("ANALYZE item")       # this table only: other schemas are busy
    return users


def _expected(app, sort: str) -> list[int]:
    """Every live item's id in the list order: values in order, empty ones last, ties by
    id (in the sort's direction)."""
    services = app.extensions["karte"]
    table = services["records"].store.table(services["pack"].entities["item"])
    name, descending = sort.lstrip("-"), sort.startswith("-")
    with services["engine"].connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c[name])
                            .where(table.c.deleted_at.is_(None))).all()
    present = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]),
                     reverse=descending)
    empty = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=descending)
    return [r[0] for r in present + empty]


@pytest.mark.parametrize("sort", ["score", "-score", "due_on", "-due_on", "title", "-id"])
def test_reading_backwards_gives_the_pages_at_the_end_of_the_order(app, sort):
    _fill(app, 400)
    records = app.extensions["karte"]["records"]
    expected = _expected(app, sort)
    for offset in (0, 7, 150, len(expected) - 3):
        got = records.query("item", sort=sort, limit=20, offset=offset, reverse=True)
        end = len(expected) - offset
        assert [r["id"] for r in got][::-1] == expected[max(0, end - 20):end], (sort, offset)


def _plan(conn: sa.Connection, query: sa.Select[Any]) -> str:
    compiled = query.compile(dialect=conn.dialect,
                             compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        return "\n".join(r[0] for r in rows)
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
    return "\n".join(r[-1] for r in rows)


def _reads_an_index_in_order(plan: str, dialect: str) -> bool:
    if dialect == "sqlite":
        return "TEMP B-TREE" not in plan
    lines = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    return (not any(line.startswith(("Sort ", "Seq Scan", "Incremental Sort"))
                    for line in lines)
            and any("Index" in line for line in lines))


@pytest.mark.parametrize("sort", [None, "score", "due_on", "-due_on", "-id"])
def test_the_last_page_reads_the_sort_index_backwards(app, sort):
    """No sort of the table and no OFFSET over it: the reversed ORDER BY is the sort
    index read from its other end (PostgreSQL: `Index Scan Backward` where the index is
    ascending)."""
    _fill(app, ROWS)
    records = app.extensions["karte"]["records"]
    entity = records.pack.entities["item"]
    query = (filtered(records.store, entity)
             .order_by(*order_by(records.store, entity, sort, reverse=True)).limit(6))
    with records.engine.connect() as conn:
        plan = _plan(conn, query)
    assert _reads_an_index_in_order(plan, records.engine.dialect.name), plan


def test_the_plan_check_sees_a_sort(app):
    """The check above fails on an ORDER BY no index serves (the title is not indexed
    for sorting here: not the list's sort and not a filter)."""
    _fill(app, ROWS)
    records = app.extensions["karte"]["records"]
    table = records.store.table(records.pack.entities["item"])
    query = sa.select(table).order_by(sa.func.length(table.c.title), table.c.id).limit(6)
    with records.engine.connect() as conn:
        plan = _plan(conn, query)
    assert not _reads_an_index_in_order(plan, records.engine.dialect.name), plan


def _ids(page: str) -> list[int]:
    soup = BeautifulSoup(page, "html.parser")
    return [int(m.group(1)) for a in soup.select("#list-rows a[href]")
            if (m := re.fullmatch(r"/item/(\d+)", a["href"]))]


def test_last_pages_on_the_list_page(app):
    _fill(app, 30)                     # 27 live, 5 a page: the count (cap 12) is capped
    client = app.client("admin")
    order = _expected(app, "-score")
    first = client.get("/item/").get_data(as_text=True)
    assert _ids(first) == order[:5]
    assert 'href="/item/?page=last"' in first            # the pager offers the last page
    last = client.get("/item/?page=last")
    assert last.status_code == 200
    text = last.get_data(as_text=True)
    assert _ids(text) == order[-5:]
    assert "Last page" in text and "1–5 from the end, of 12+" in text
    assert 'href="/item/?page=last-1"' in text and "?page=last-0" not in text
    before = client.get("/item/?page=last-1").get_data(as_text=True)
    assert _ids(before) == order[-10:-5]
    assert "Page 2 from the end" in before and 'href="/item/?page=last"' in before


def test_last_pages_know_their_place_when_the_count_is_exact(make_app):
    app = make_app(ENTITIES)                                  # default cap: 27 counted
    _fill(app, 30)
    client = app.client("admin")
    order = _expected(app, "-score")
    text = client.get("/item/?sort=-score&page=last").get_data(as_text=True)
    assert _ids(text) == order[-5:]
    assert "23–27 of 27" in text
    beyond = client.get("/item/?page=last-9").get_data(as_text=True)
    assert _ids(beyond) == [] and "past the end of the list (27 records)" in beyond
    assert client.get("/item/?page=last-x").status_code == 400
    assert client.get("/item/?page=-1").status_code == 400


def test_my_open_work_reads_the_home_index_and_stops(app):
    """Home's query for one entity (web/home.py `_my_work`: mine, not closed, most
    recently updated first, 10 rows) is read from (owner, updated_at, id) backwards: no
    sort of the user's records."""
    users = _fill(app, ROWS)
    records = app.extensions["karte"]["records"]
    entity = records.pack.entities["item"]
    mine = {"all": [{"any": [{"field": "owner", "op": "=", "value": users[1]}]},
                    {"field": "stage", "op": "not_in", "value": ["done"]}]}
    query = (filtered(records.store, entity, mine)
             .order_by(*order_by(records.store, entity, "-updated_at")).limit(10))
    with records.engine.connect() as conn:
        plan = _plan(conn, query)
    assert _reads_an_index_in_order(plan, records.engine.dialect.name), plan
    assert "ix_item_owner__home" in plan, plan
    got = records.query("item", where=mine, sort="-updated_at", limit=10)
    assert len(got) == 10 and all(r["owner"] == users[1] and r["stage"] != "done"
                                  for r in got)
    assert [r["updated_at"] for r in got] == sorted((r["updated_at"] for r in got),
                                                    reverse=True)


def _entered(app, now: dt.datetime, items: int) -> dict[int, dt.datetime]:
    """When each item entered its stage (stored beside the stage): one in fifty long ago,
    the others recently; {id: entered at}."""
    table = app.extensions["karte"]["records"].store.table("item")
    when = {id: now - dt.timedelta(days=12 if id % 50 == 1 else 1, hours=id % 5)
            for id in range(1, items + 1)}
    with app.extensions["karte"]["engine"].begin() as conn:
        conn.execute(table.update().where(table.c.id == sa.bindparam("row"))
                     .values(_stage_at=sa.bindparam("at")),
                     [{"row": id, "at": at} for id, at in when.items()])
        conn.exec_driver_sql("ANALYZE item")
    return when


def test_overdue_reads_the_overdue_records_alone(app):
    """A stage's overdue count and a board's overdue flags are a range of the (stage,
    entered at, id) index: no history read, no scan of the stage's records."""
    from karte.workflow import board, history, reports

    _fill(app, ROWS)
    now = dt.datetime(2024, 1, 6, tzinfo=dt.UTC)
    _entered(app, now, ROWS)
    records = app.extensions["karte"]["records"]
    workflow = records.pack.workflows["flow"]
    table = records.store.table(records.pack.entities["item"])
    with records.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(table))}
        counted = reports.overdue_counts(conn, records.store.tables, workflow, now, None, 1000)
        plan = _plan(conn, sa.select(sa.func.count()).select_from(table).where(
            table.c.deleted_at.is_(None), table.c.stage == "new",
            history.overdue(workflow, records.store.tables, now, "new")))
    cutoff = {"new": now - dt.timedelta(days=3), "doing": now - dt.timedelta(days=10)}
    expected = {stage: sum(1 for r in rows.values() if r.stage == stage
                           and r.deleted_at is None and r._stage_at < at)
                for stage, at in cutoff.items()}
    assert counted == expected and 0 < expected["new"] < 30, (counted, expected)
    assert "karte_stage_move" not in plan, plan
    if records.engine.dialect.name == "sqlite":
        assert "ix_item_stage_board (stage=? AND _stage_at" in plan, plan
    else:
        assert "ix_item_stage_board" in plan and "Seq Scan" not in plan, plan
    cards, flagged = board.cards(records, workflow, "new", board.Filter(), now, 20)
    assert flagged == {c["id"] for c in cards if rows[c["id"]]._stage_at < cutoff["new"]}


def test_mine_and_late_reads_a_range_per_stage_of_the_late_index(app):
    """Home's "too long in their stage" (mine, `late=<workflow>`): per timed stage a range
    of (owner, stage, entered at, id), so it costs what the user's late records cost — not
    a walk of everything they own (SQLite preferred the owner index before each branch of
    the OR said `deleted_at IS NULL`, which the partial index needs), nor of every late
    record of everyone."""
    from karte.meta.conditions import AllOf, Compare, Overdue, Ref

    users = _fill(app, ROWS)
    now = dt.datetime(2024, 1, 6, tzinfo=dt.UTC)
    when = _entered(app, now, ROWS)
    records = app.extensions["karte"]["records"]
    entity = records.pack.entities["item"]
    records.store.clock = lambda: now
    late = AllOf((Compare(Ref("item", "owner", entity.fields["owner"]), "=", users[2]),
                  Overdue("item", "stage", "_stage_at", (("new", 3), ("doing", 10)))))
    query = (filtered(records.store, entity, late)
             .order_by(*order_by(records.store, entity, "id")).limit(8))
    with records.engine.connect() as conn:
        plan = _plan(conn, query)
        stages = {r.id: (r.stage, r.owner, r.deleted_at)
                  for r in conn.execute(sa.select(records.store.table(entity)))}
    assert "ix_item_owner__stage_late" in plan, plan
    if records.engine.dialect.name == "sqlite":
        assert "MULTI-INDEX OR" in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
    limits = {"new": 3, "doing": 10}
    expected = sorted(id for id, (stage, owner, gone) in stages.items()
                      if owner == users[2] and gone is None and stage in limits
                      and when[id] < now - dt.timedelta(days=limits[stage]))
    got = [r["id"] for r in records.query("item", where=late, sort="id", limit=100)]
    assert got == expected and 0 < len(expected) < 30, (got, expected)


def test_home_board_counts_stop_at_the_cap_and_read_the_stage_index(app):
    from karte.workflow.reports import capped_counts

    _fill(app, ROWS)                  # 2700 live items, 900 a stage
    records = app.extensions["karte"]["records"]
    workflows = app.extensions["karte"]["workflows"]
    exact = workflows.stage_counts("flow", only_counts=True)
    assert {k: v["count"] for k, v in exact.items()} == {"new": 900, "doing": 900,
                                                          "done": 900}
    # a reader of every record gets the board counters' exact numbers, never capped
    assert workflows.stage_counts("flow", only_counts=True, cap=899) == {
        k: {"count": 900, "capped": False} for k in ("new", "doing", "done")}
    table = records.store.table(records.pack.entities["item"])
    workflow = records.pack.workflows["flow"]
    with records.engine.connect() as conn:   # a scoped reader's capped counts
        capped = capped_counts(conn, table, workflow, None, 899)
        assert capped == {k: {"count": 899, "capped": True} for k in ("new", "doing", "done")}
        assert capped_counts(conn, table, workflow, None, 900) == {
            k: {"count": 900, "capped": False} for k in ("new", "doing", "done")}
        sent: list[tuple[str, Any]] = []
        sa.event.listen(conn, "before_cursor_execute",
                        lambda _c, _cur, sql, params, *_: sent.append((sql, params)))
        capped_counts(conn, table, workflow, None, 10)
        sql, params = sent[-1]
        sqlite = conn.dialect.name == "sqlite"
        explained = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ")
                                         + sql, params)
        plan = "\n".join(str(r[-1] if sqlite else r[0]) for r in explained)
    assert "GROUP BY" not in sql.upper() and sql.upper().count("LIMIT") == 3
    if sqlite:
        assert plan.count("SEARCH item USING COVERING INDEX ix_item_stage_board") == 3, plan
    else:
        # each stage's read stops at its Limit (a seq scan too: tiny tables), no grouping
        assert plan.count("Limit") == 3 and "GroupAggregate" not in plan, plan
