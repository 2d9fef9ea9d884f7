"""Every page of issue 11's targets at 1,000,000 demo records, on SQLite and PostgreSQL,
beside the same page written by hand (issue 11, "Targets" and "Quality bar").

    .venv/bin/python bench/bench_million.py [--size 1000000] [--copies 10] [--repeat 15]
                                            [--pg URL | --pg ''] [--only sqlite|postgresql]
                                            [--pages card,home,list,board,quick]

Builds once (see million_build.py: a `karte demo` seed of size/copies records replicated
`copies` times inside the database; cached as instance/bench-million-<size>.db and the
PostgreSQL schema bench_million at KARTE_BENCH_DATABASE_URL, default the test database).
The first build takes about 10 minutes; later runs about 3 minutes for both databases.

Each page is requested through the Flask test client, signed in as the demo's
admin@example.com (an admin: reads everything, and owns a share of the records like every
demo user), and its median server time is printed beside a hand-written baseline: the same
result computed with SQLAlchemy Core, no Flask, no permissions, no references:

- list pages: the same `SELECT <table> WHERE deleted_at IS NULL [AND filter/search]
  ORDER BY <sort>, id LIMIT 51` (the last page: the reversed ORDER BY, LIMIT 50), its rows
  rendered by a 3-line Jinja `<table>` of the list's columns (raw values: a link shows its
  id, not the linked title);
- home: the last 15 audit rows, every board's stage counts (one count capped at 1,001
  per stage, as home shows them), the user's 10 newest records per entity with a user
  field (one query each, no stage condition) each with a count capped at 101;
- card: the record by id, the titles of its links (one query per link), its 20 latest audit
  rows and stage moves;
- board: stage counts and money sum (one GROUP BY) and 20 cards per stage;
- quick search: per searchable entity 5 rows with `lower(field) LIKE '%q%'` on its search
  fields and a count capped at 101.

Targets: each page under 50 ms; list pages at most 1.5× their hand-written baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import PG_URL, TABLE, get, pg_schema_url, sign_in, timed  # noqa: E402
from million_build import build_postgres, build_sqlite  # noqa: E402

from karte.config import REPO_ROOT  # noqa: E402

TARGET_MS, TARGET_RATIO = 50.0, 1.5
ADMIN = "admin@example.com"
SEARCH = "son"


class Hand:
    """The hand-written baselines, on the app's engine and tables."""

    def __init__(self, app, user_id: int):
        services = app.extensions["karte"]
        self.engine, self.pack = services["engine"], services["pack"]
        self.store = services["records"].store
        self.user_id = user_id

    def table(self, name: str) -> sa.Table:
        return self.store.table(self.store.entity(name))

    def order(self, name: str, sort: str | None, reverse: bool = False) -> list:
        entity = self.store.entity(name)
        table = self.table(name)
        sort = sort or entity.list.sort
        field, descending = sort.lstrip("-"), sort.startswith("-")
        descending ^= reverse
        column = table.c[field]
        key = column.desc() if descending else column.asc()
        if column.nullable:
            key = key.nulls_first() if reverse else key.nulls_last()
        return [key, table.c.id.desc() if descending else table.c.id.asc()]

    def search(self, name: str, text: str):
        table = self.table(name)
        fields = [f for f in self.store.entity(name).list.search      # text columns only
                  if f in table.c and isinstance(table.c[f].type, sa.String)]
        return sa.or_(sa.false(), *[sa.func.lower(table.c[f]).contains(text.lower(),
                                                                     autoescape=True)
                                    for f in fields])

    def list(self, name: str, *, where=None, sort: str | None = None, last: bool = False):
        entity, table = self.store.entity(name), self.table(name)
        columns = [c for c in entity.list.columns if c in table.c]
        conditions = [table.c.deleted_at.is_(None)] + ([where] if where is not None else [])
        query = sa.select(table).where(*conditions)
        query = (query.order_by(*self.order(name, sort, reverse=True)).limit(50) if last
                 else query.order_by(*self.order(name, sort)).limit(51))

        def call():
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            TABLE.render(rows=list(reversed(rows)) if last else rows[:50], columns=columns)
        return call

    def home(self):
        from karte.store.tables import engine_table

        audit = engine_table("karte_audit")
        boards = [(self.table(w.entity), w.field, w.stage_keys)
                  for w in self.pack.workflows.values()]
        mine = []
        for entity in self.pack.entities.values():
            users = [f.name for f in entity.fields.values() if f.type == "user"]
            if users:
                table = self.table(entity.name)
                mine.append((table, sa.or_(*[table.c[u] == self.user_id for u in users])))

        def call():
            with self.engine.connect() as conn:
                conn.execute(sa.select(audit).order_by(audit.c.at.desc(), audit.c.id.desc())
                             .limit(15)).all()
                for table, stage, keys in boards:      # counts capped at 1,000 a stage
                    for key in keys:
                        conn.execute(sa.select(sa.func.count()).select_from(
                            sa.select(table.c.id).where(table.c.deleted_at.is_(None),
                                                        table.c[stage] == key)
                            .limit(1001).subquery())).scalar()
                for table, where in mine:
                    live = sa.and_(table.c.deleted_at.is_(None), where)
                    conn.execute(sa.select(table).where(live).order_by(table.c.id.desc())
                                 .limit(10)).all()
                    conn.execute(sa.select(sa.func.count()).select_from(
                        sa.select(table.c.id).where(live).limit(101).subquery())).scalar()
        return call

    def card(self, name: str, id: int):
        from karte.store.tables import engine_table

        entity, table = self.store.entity(name), self.table(name)
        audit, moves = engine_table("karte_audit"), engine_table("karte_stage_move")
        links = [(f.name, self.table(f.to_entity), self.store.entity(f.to_entity).title_field)
                 for f in entity.fields.values() if f.type == "link"]

        def call():
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(table).where(table.c.id == id)).mappings().one()
                for field, target, title in links:
                    if row[field] is not None:
                        conn.execute(sa.select(target.c[title])
                                     .where(target.c.id == row[field])).scalar()
                for log in (audit, moves):
                    conn.execute(sa.select(log).where(log.c.entity == name,
                                                      log.c.record_id == id)
                                 .order_by(log.c.at.desc()).limit(20)).all()
        return call

    def board(self, workflow_name: str):
        from karte.workflow.reports import money_field_of

        workflow = self.pack.workflows[workflow_name]
        entity, table = self.store.entity(workflow.entity), self.table(workflow.entity)
        stage = table.c[workflow.field]
        money = money_field_of(entity)
        total = [sa.func.sum(table.c[money])] if money else []
        keys = [s.key for s in workflow.stages]

        def call():
            with self.engine.connect() as conn:
                conn.execute(sa.select(stage, sa.func.count(), *total)
                             .where(table.c.deleted_at.is_(None)).group_by(stage)).all()
                for key in keys:
                    conn.execute(sa.select(table).where(table.c.deleted_at.is_(None),
                                                        stage == key)
                                 .order_by(table.c.id.desc()).limit(20)).all()
        return call

    def quick_search(self, text: str):
        searchable = [e.name for e in self.pack.entities.values() if e.list.search]

        def call():
            with self.engine.connect() as conn:
                for name in searchable:
                    table = self.table(name)
                    live = sa.and_(table.c.deleted_at.is_(None), self.search(name, text))
                    conn.execute(sa.select(table).where(live).limit(5)).all()
                    conn.execute(sa.select(sa.func.count()).select_from(
                        sa.select(table.c.id).where(live).limit(101).subquery())).scalar()
        return call


def ours(app, name: str, user_id: int, *, last: bool = False, **query):
    """The records service's part of a list page (`Records.query` as the page calls it:
    rights, link values, row dicts) rendered by the baseline's table: what the ratio to
    the hand-written page is about, without the page's layout, filters and pager."""
    from karte.auth.users import get_user

    records = app.extensions["karte"]["records"]
    entity = records.store.entity(name)
    table = records.store.table(entity)
    columns = [c for c in entity.list.columns if c in table.c]
    who = get_user(records.engine, user_id)
    shown = [*entity.list.columns, *entity.subtitle]   # what the page reads (web/lists.py)

    def call():
        rows = records.query(name, limit=51, actor=who, reverse=last, links=shown, **query)
        TABLE.render(rows=rows[:50][::-1] if last else rows[:50], columns=columns)
    return call


def _busiest(conn: sa.Connection, hand: Hand) -> list[tuple[str, int]]:
    """Cards with the most to show: the customer with the most deals, the quote with the
    most lines, the newest ticket, the product in the most deals."""
    def most(table: sa.Table, column: str) -> int:
        return conn.scalar(sa.select(table.c[column]).where(table.c[column].is_not(None))
                           .group_by(table.c[column])
                           .order_by(sa.func.count().desc()).limit(1))
    ticket = hand.table("ticket")
    return [("customer", most(hand.table("deal"), "customer")),
            ("quote", most(hand.table("quote_line"), "quote")),
            ("ticket", conn.scalar(sa.select(sa.func.max(ticket.c.id))
                                   .where(ticket.c.deleted_at.is_(None)))),
            ("product", most(hand.store.tables["deal__products"], "target_id"))]


def pages(app, hand: Hand) -> list[tuple[str, str, object, object | None]]:
    """(label, URL, baseline call, the service's part for a list page) for every target."""
    engine = hand.engine
    deal = hand.table("deal")
    with engine.connect() as conn:
        card = conn.scalar(sa.select(sa.func.max(deal.c.id))
                           .where(deal.c.deleted_at.is_(None)))
        cards = _busiest(conn, hand)
    stage = hand.table("deal").c.stage
    me = hand.user_id
    proposal = {"field": "stage", "op": "=", "value": "proposal"}
    return [
        ("home /", "/", hand.home(), None),
        ("list /deal/ (default sort)", "/deal/", hand.list("deal"), ours(app, "deal", me)),
        (f"list /customer/?q={SEARCH}", f"/customer/?q={SEARCH}",
         hand.list("customer", where=hand.search("customer", SEARCH)),
         ours(app, "customer", me, search=SEARCH)),
        ("list /deal/?f.stage=proposal", "/deal/?f.stage=proposal",
         hand.list("deal", where=stage == "proposal"), ours(app, "deal", me, where=proposal)),
        ("list /deal/?sort=close_on", "/deal/?sort=close_on",
         hand.list("deal", sort="close_on"), ours(app, "deal", me, sort="close_on")),
        ("list /deal/?sort=-amount (a column)", "/deal/?sort=-amount",
         hand.list("deal", sort="-amount"), ours(app, "deal", me, sort="-amount")),
        ("list /deal/?page=last", "/deal/?page=last", hand.list("deal", last=True),
         ours(app, "deal", me, last=True)),
        (f"card /deal/{card}", f"/deal/{card}", hand.card("deal", card), None),
        *((f"card /{name}/{id}", f"/{name}/{id}", hand.card(name, id), None)
          for name, id in cards),
        ("board /board/deal_pipeline", "/board/deal_pipeline", hand.board("deal_pipeline"),
         None),
        ("board /board/ticket_flow", "/board/ticket_flow", hand.board("ticket_flow"), None),
        (f"quick search /search?q={SEARCH}", f"/search?q={SEARCH}",
         hand.quick_search(SEARCH), None),
    ]


def measure(url: str, repeat: int, password: str, only: str = "") -> list[tuple]:
    from karte import create_app

    app = create_app(pack=REPO_ROOT, database_url=url, config={"RATELIMIT_ENABLED": False})
    engine = app.extensions["karte"]["engine"]
    with engine.connect() as conn:
        user_id = conn.scalar(sa.text("SELECT id FROM karte_user WHERE email = :e"),
                              {"e": ADMIN})
    client = sign_in(app.test_client(), ADMIN, password)
    hand = Hand(app, user_id)
    results = []
    wanted = tuple(word.strip() for word in only.split(",") if word.strip())
    for label, path, baseline, service in pages(app, hand):
        if wanted and not label.startswith(wanted):
            continue
        page, p90 = timed(get(client, path), repeat)
        if service:
            base, query = paired(baseline, service, repeat)
        else:
            base, query = timed(baseline, repeat)[0], None
        results.append((label, page, p90, base, query))
        print(_line(label, page, p90, base, query), flush=True)
    engine.dispose()
    return results


def paired(baseline, service, repeat: int) -> tuple[float, float]:
    """Medians in ms of the baseline and the service's part, called alternately (after
    one uncounted call each), so that both see the same moments of a busy machine: the
    ratio of two medians taken one after the other moved by ±50% here."""
    baseline(), service()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for call, into in ((baseline, times[0]), (service, times[1])):
            start = time.perf_counter()
            call()
            into.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def _line(label: str, page: float, p90: float, base: float, query: float | None) -> str:
    fast = "holds" if page < TARGET_MS else "MISSED"
    line = f"{label:36} {page:7.1f}ms {p90:7.1f}ms {base:7.1f}ms {page / base:6.1f}×  {fast:6}"
    if query is not None:
        within = "holds" if query / base <= TARGET_RATIO else "MISSED"
        line += f" {query:7.1f}ms {query / base:6.1f}×  {within}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg", default=os.environ.get("KARTE_BENCH_DATABASE_URL", PG_URL),
                        help="PostgreSQL URL ('' to skip)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--pages", default="",
                        help="time only the pages whose label starts with one of these "
                             "comma-separated words (home, list, card, board, quick)")
    args = parser.parse_args()
    instance = REPO_ROOT / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KARTE_INSTANCE", str(instance))
    seed = instance / f"bench-million-seed-{args.size // args.copies}.db"
    db = instance / f"bench-million-{args.size}.db"
    targets = {}
    if args.only in (None, "sqlite"):
        targets["sqlite"] = lambda: (build_sqlite(db, seed, args.size, args.copies),
                                     f"sqlite:///{db}")
    if args.pg and args.only in (None, "postgresql") and (
            pg := pg_schema_url(args.pg, f"bench_million_{args.size}")):
        targets["postgresql"] = lambda: (build_postgres(pg, seed, args.size, args.copies),
                                         pg)
    for kind, prepare in targets.items():
        start = time.perf_counter()
        built, url = prepare()
        if built is not None:
            print(f"{kind}: built in {built / 60:.1f} min")
        password = (instance / "demo-login.txt").read_text().strip()
        print(f"\n{kind}, {args.size:,} demo records, {args.repeat} requests per page "
              f"(medians)")
        print(f"{'page':36} {'median':>9} {'p90':>9} {'by hand':>9} {'page÷':>7}  "
              f"<{TARGET_MS:.0f}ms  {'query':>9} {'query÷':>7}  ≤{TARGET_RATIO}×")
        measure(url, args.repeat, password, args.pages)
        print(f"({kind}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
