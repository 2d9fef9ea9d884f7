"""Registry → SQLAlchemy Core `MetaData`: entity tables, junctions and engine tables.

Every entity table carries the system columns of SPEC §2. Indexes follow the metadata
(DESIGN rule 10): link, user, enum and stage fields, the list's sort and filter fields
(with `id`, in the order the list sorts them: `sort_fields`), fields asking for `index`,
and a unique index per `unique` field and per declared unique combination that ignores
soft-deleted rows (a partial index on both SQLite and PostgreSQL). `deleted_at` is indexed
for the bin only, so live lists are never planned through it. Each `user` field also has
(field, home's sort column, id) for home's "my open work".
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from karte.fields import BIGINT, JSON, TYPES, UTCDateTime
from karte.meta.model import Entity, Field, Pack
from karte.store import dashboard_indexes, import_tables, stage_reached, stage_times

ON_DELETE = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}
AUTO_INDEXED = frozenset({"link", "user", "enum"})
UNINDEXED_SORTS = frozenset({"enum", "link"})  # sorted by an expression (query.py)
MAX_IDENTIFIER = 63  # PostgreSQL's limit


def index_name(prefix: str, table: str, column: str) -> str:
    """A deterministic index name that fits PostgreSQL's identifier limit."""
    name = f"{prefix}_{table}_{column}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_IDENTIFIER - 9]}_{digest}"


def unique_index_name(entity: Entity, key: tuple[str, ...]) -> str:
    """The unique index of a field (`uq_<entity>_<field>`) or of a combination of fields."""
    return index_name("uq", entity.name, "__".join(key))


def junction_name(entity: str, field: str) -> str:
    return f"{entity}__{field}"


def _engine_tables(metadata: sa.MetaData) -> None:
    sa.Table(
        "karte_user", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
    )
    sa.Table(  # one row per sign-in (auth/sessions.py): the cookie carries the token
        "karte_session", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
        sa.Column("ip", sa.String(45), nullable=False, server_default=""),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Index("uq_karte_session_token", "token_hash", unique=True),
        sa.Index("ix_karte_session_user", "user_id"),
    )
    sa.Table(  # personal API tokens (auth/tokens.py): the prefix finds one, the hash proves it
        "karte_api_token", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Index("uq_karte_api_token_prefix", "prefix", unique=True),
        sa.Index("ix_karte_api_token_user", "user_id"),
    )
    sa.Table(
        "karte_audit", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Index("ix_karte_audit_record", "entity", "record_id", "at"),
        sa.Index("ix_karte_audit_at", "at", "id"),  # home's recent changes, newest first
    )
    sa.Table(
        "karte_stage_move", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow", sa.String(40), nullable=False),
        sa.Column("from_stage", sa.String(64), nullable=True),
        sa.Column("to_stage", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("seconds_in_previous", sa.BigInteger(), nullable=True),
        sa.Index("ix_karte_stage_move_record", "entity", "record_id", "at"),
        sa.Index("ix_karte_stage_move_stage", "workflow", "to_stage"),
    )
    sa.Table(
        "karte_note", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Index("ix_karte_note_record", "entity", "record_id", "created_at"),
    )
    sa.Table(  # one counter per series prefix (store/records/series.py)
        "karte_series", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(300), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Index("uq_karte_series_prefix", "entity", "field", "prefix", unique=True),
    )
    sa.Table(  # a board's numbers per stage, kept by every write (store/stage_totals.py)
        "karte_stage_totals", metadata,
        sa.Column("entity", sa.String(64), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("stage", sa.String(64), primary_key=True),
        sa.Column("measure", sa.String(64), primary_key=True),  # "" or a money field
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),  # the money field's sum
    )
    sa.Table(  # a list's saved views: private, or shared by an admin (store/list_views.py)
        "karte_list_view", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("state", sa.Text(), nullable=False),  # the list's query string
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Index("ix_karte_list_view_entity", "entity", "user_id"),
    )
    sa.Table(  # a record merged into another (store/records/merge.py): its URL leads there
        "karte_merge", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("from_id", sa.BigInteger(), nullable=False),
        sa.Column("into_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Index("ix_karte_merge_from", "entity", "from_id"),
    )
    sa.Table(
        "karte_schema_history", metadata,
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.Column("pack", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("operations", JSON, nullable=False),
        sa.Column("definitions", JSON, nullable=False),
    )
    import_tables.declare(metadata)  # import batches (store/import_tables.py)


ENGINE_METADATA = sa.MetaData()
_engine_tables(ENGINE_METADATA)


def engine_table(name: str) -> sa.Table:
    """One of the engine's own `karte_*` tables; they need no pack."""
    return ENGINE_METADATA.tables[name]


def _system_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_by", sa.BigInteger(),
                  sa.ForeignKey("karte_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
    ]


def field_column(entity: Entity, field: Field) -> sa.Column[Any] | None:
    """The column storing `field`, or None for a junction-table type."""
    kind = TYPES[field.type]
    if kind.column is None:
        return None
    args: list[sa.ForeignKey] = []
    if field.type == "link":
        args.append(sa.ForeignKey(f"{field.to}.id", ondelete=ON_DELETE[field.on_delete]))
    elif field.type == "user":
        args.append(sa.ForeignKey("karte_user.id", ondelete="SET NULL"))
    return sa.Column(field.name, kind.column(field), *args, nullable=True)


def _wants_index(entity: Entity, field: Field) -> bool:
    if field.name == entity.part_of:
        return False    # the (parent, position) index serves it
    listed = field.name == entity.list.sort_field or field.name in entity.list.filters
    return (field.index or field.type in AUTO_INDEXED or field.workflow is not None
            or (listed and TYPES[field.type].scalar)) and not field.unique


def sort_fields(entity: Entity) -> list[str]:
    """The sorts a list is expected to use: its default sort, its filter fields, the
    columns a user can sort it by (the list's and its declared views' columns, but a
    line entity's, whose rows are read with their document) and the
    views' sorts, when the ORDER BY is the column itself (enum options sort by
    declaration and links by their target's title: expressions no index here serves;
    see docs/performance.md). A click on a column header of a million-row list is then
    an index read, not a sort of the table."""
    views = [(view.sort or "").lstrip("-") for view in entity.views]
    columns = [] if entity.part_of else [   # lines are read with their document
        *entity.list.columns, *(name for view in entity.views for name in view.columns)]
    names = [entity.list.sort_field, *entity.list.filters, *columns, *views]
    found = []
    for name in dict.fromkeys(names):
        field = entity.lookup(name)
        if (name != "id" and field is not None and field.type not in UNINDEXED_SORTS
                and TYPES[field.type].orderable and TYPES[field.type].scalar):
            found.append(name)
    return found


def _indexes(entity: Entity, table: sa.Table, dialect: str | None) -> None:
    live = table.c.deleted_at.is_(None)
    sorted_by = [name for name in sort_fields(entity) if name in table.c]
    for field in entity.fields.values():
        if field.name not in table.c or field.name in sorted_by:
            continue
        if field.workflow is not None and not field.unique:
            # a board's counts read this index alone, its overdue counts a range of it
            # (entered the stage before a cutoff: store/stage_times.py); partial (live
            # rows), so that SQLite never skip-scans it for a list's `deleted_at IS NULL`
            sa.Index(index_name("ix", entity.name, f"{field.name}_board"),
                     table.c[field.name], table.c[stage_times.column_name(field.name)],
                     table.c.id, table.c.deleted_at, sqlite_where=live, postgresql_where=live)
        elif _wants_index(entity, field):
            sa.Index(index_name("ix", entity.name, field.name), table.c[field.name])
    for key in entity.unique_keys:
        if all(name in table.c for name in key):
            sa.Index(unique_index_name(entity, key), *(table.c[name] for name in key),
                     unique=True, sqlite_where=live, postgresql_where=live)
    parent = entity.part_of
    if parent is not None and parent in table.c and "position" in table.c:  # SPEC §3.5
        sa.Index(index_name("ix", entity.name, f"{parent}_position"), table.c[parent],
                 table.c.position)
    for name in sorted_by:
        _sort_indexes(entity, table, name, dialect)
    _home_indexes(entity, table)
    deleted = table.c.deleted_at.is_not(None)   # the bin only: live lists never pick it
    sa.Index(index_name("ix", entity.name, "_deleted"), table.c.deleted_at,
             sqlite_where=deleted, postgresql_where=deleted)


def _home_indexes(entity: Entity, table: sa.Table) -> None:
    """Home's "my open work" (web/home.py): `user_field = me` in home's order (a dated
    item's `at` soonest first, else most recently updated first), read from
    (user field, that column, id) and stopping after 10 rows, whatever the user owns."""
    at = entity.timeline_item.at if entity.timeline_item else "updated_at"
    for field in entity.fields.values():
        if field.type == "user" and field.name in table.c and at in table.c:
            sa.Index(index_name("ix", entity.name, f"{field.name}__home"), table.c[field.name],
                     table.c[at], table.c.id)
    _queue_indexes(entity, table)


def _queue_indexes(entity: Entity, table: sa.Table) -> None:
    """Home's work queue (web/work_queue.py) on the entity's "mine" field (owner, else
    its first user field): a to-do entity's open items by due date, read from (mine,
    done, at, id) — an open item's `done` is false or empty, two ranges of it — and the
    records someone changed lately, newest first, from (mine, updated_at, id) over the
    rows a user wrote last (`updated_by` set): rows the system wrote last (a demo load,
    a migration) are not in it, so "changed by others" never walks them; and per stage
    field (mine, stage, entered the stage at, id) for mine and too long in the stage
    (`late=`: one range per timed stage, store/where.py)."""
    item = entity.timeline_item
    users = [f.name for f in entity.fields.values() if f.type == "user"]
    mine = entity.owner_field or (users[0] if users else None)
    if mine is None or mine not in table.c:
        return
    by_someone = table.c.updated_by.is_not(None)
    sa.Index(index_name("ix", entity.name, f"{mine}__changed"), table.c[mine],
             table.c.updated_at, table.c.id, sqlite_where=by_someone,
             postgresql_where=by_someone)
    live = table.c.deleted_at.is_(None)
    for field in entity.fields.values():
        entered = stage_times.column_name(field.name)
        if field.workflow is not None and not field.unique and entered in table.c:
            # "mine and too long in the stage" (`late=`): per stage a range of it
            sa.Index(index_name("ix", entity.name, f"{mine}__{field.name}_late"),
                     table.c[mine], table.c[field.name], table.c[entered], table.c.id,
                     sqlite_where=live, postgresql_where=live)
    if item is not None and item.done is not None and item.done in table.c \
            and item.at in table.c:
        sa.Index(index_name("ix", entity.name, f"{mine}__todo"), table.c[mine],
                 table.c[item.done], table.c[item.at], table.c.id)


def _sort_indexes(entity: Entity, table: sa.Table, name: str, dialect: str | None) -> None:
    """(column, id) serves `column ASC NULLS LAST, id` forwards and `column DESC, id DESC`
    backwards (SQLite's own NULL order is last when descending; a NOT NULL column needs no
    NULLS clause, store/records/query.py emits none). PostgreSQL reads a nullable column's
    `DESC NULLS LAST` only from an index declared so."""
    column = table.c[name]
    sa.Index(index_name("ix", entity.name, name), column, table.c.id)  # "__": no field clash
    if dialect == "postgresql" and column.nullable:
        sa.Index(index_name("ix", entity.name, f"{name}__desc"), column.desc().nulls_last(),
                 table.c.id.desc())


def _junction(metadata: sa.MetaData, entity: Entity, field: Field) -> sa.Table:
    name = junction_name(entity.name, field.name)
    return sa.Table(
        name, metadata,
        sa.Column("source_id", sa.BigInteger(),
                  sa.ForeignKey(f"{entity.name}.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.BigInteger(),
                  sa.ForeignKey(f"{field.to}.id", ondelete="CASCADE"), primary_key=True),
        sa.Index(index_name("ix", name, "target_id"), "target_id"),
    )


def entity_table(metadata: sa.MetaData, entity: Entity,
                 dialect: str | None = None) -> sa.Table:
    """The entity's table; `dialect` adds the indexes only that database needs."""
    columns = [c for f in entity.fields.values() if (c := field_column(entity, f)) is not None]
    entered: list[sa.Column[Any]] = [
        sa.Column(stage_times.column_name(name), UTCDateTime(), nullable=True)
        for name in stage_times.stage_fields(entity)]
    reached: list[sa.Column[Any]] = [    # the stages ever entered (store/stage_reached.py)
        sa.Column(stage_reached.column_name(name), sa.Text(), nullable=True)
        for name in stage_times.stage_fields(entity)]
    table = sa.Table(entity.table_name, metadata, *_system_columns(), *columns, *entered,
                     *reached)
    _indexes(entity, table, dialect)
    return table


def _defer_cycle_keys(metadata: sa.MetaData) -> None:
    """Foreign keys that form cycles (customer ↔ contact) are marked `use_alter`, so tables
    sort without warnings and PostgreSQL adds those keys after the tables."""
    for table, constraints in sa.sql.ddl.sort_tables_and_constraints(
            list(metadata.tables.values())):
        if table is None:
            for constraint in constraints:
                constraint.use_alter = True


_BUILT: dict[tuple[int, str | None], tuple[Pack, sa.MetaData]] = {}
KEEP_BUILT = 8


def metadata_for(pack: Pack, dialect: str | None = None) -> sa.MetaData:
    """`build_metadata`, built once per pack and dialect: a start migrates, fingerprints
    and serves with the same tables (a few hundred tables take a while to build). The
    MetaData returned is shared: read it, never add to it."""
    key = (id(pack), dialect)
    found = _BUILT.get(key)
    if found is None or found[0] is not pack:
        while len(_BUILT) >= KEEP_BUILT:
            _BUILT.pop(next(iter(_BUILT)))
        found = _BUILT[key] = (pack, build_metadata(pack, dialect))
    return found[1]


def build_metadata(pack: Pack, dialect: str | None = None) -> sa.MetaData:
    """Every table the pack needs, plus the engine's own `karte_*` tables; `dialect` (the
    migration's database) adds the indexes only that database needs."""
    metadata = sa.MetaData()
    _engine_tables(metadata)
    for entity in pack.entities.values():
        entity_table(metadata, entity, dialect)
    for entity in pack.entities.values():
        for field in entity.fields.values():
            if field.type == "links":
                _junction(metadata, entity, field)
    dashboard_indexes.add(metadata, pack, index_name)
    _defer_cycle_keys(metadata)
    return metadata
