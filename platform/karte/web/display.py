"""How a stored value is shown: one small function per field type, escaped by construction.

Every function returns `Markup` built with `Markup.format`/`escape`, so a value a user typed
can never become HTML. Numbers, money and dates follow the UI language (Flask-Babel), and
datetimes are shown in the user's timezone. Links show their target's title — only for
records the user may read; others show a neutral "no access".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, Response, g, request, url_for
from flask_babel import Babel
from markupsafe import Markup, escape

from karte.auth.users import user_names
from karte.fields import EXTENSION, is_empty
from karte.files.checks import RASTER
from karte.meta.model import Entity, Field
from karte.store.lookup import titles
from karte.web import i18n, nav
from karte.web.derived import how, numeric
from karte.web.i18n import format_currency, format_date, format_decimal, format_moment
from karte.web.i18n import gettext as _

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


@dataclass
class Refs:
    """What a page needs to show links and users: target titles and user names, looked up
    once per page (one query per target entity), never per row."""

    titles: dict[str, dict[int, str]] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)


def references(entity: Entity, rows: Iterable[Mapping[str, Any]],
               names: Iterable[str] | None = None) -> Refs:
    """Titles of every link target and names of every user the rows show."""
    return references_of([(entity, rows, names)])


Shown = tuple[Entity, Iterable[Mapping[str, Any]], Iterable[str] | None]


def references_of(parts: Iterable[Shown]) -> Refs:
    """`references` for several (entity, rows, names) at once, as one page shows them
    (a card: its record, related lists and timeline): one query per target entity and
    one for user names, however many parts name them."""
    from karte.web import actor, records

    targets: dict[str, set[int]] = {}
    users: set[int] = set()
    for entity, rows, names in parts:
        _wanted(entity, list(rows), names, targets, users)
    store = records().store
    return Refs({name: titles(store, name, ids, actor()) for name, ids in targets.items()},
                user_names(store.engine, users))


def _wanted(entity: Entity, rows: list[Mapping[str, Any]], names: Iterable[str] | None,
            targets: dict[str, set[int]], users: set[int]) -> None:
    wanted = [entity.fields[n] for n in (names or entity.fields) if n in entity.fields]
    for f in wanted:
        for row in rows:
            value = row.get(f.name)
            if f.type == "link" and value is not None:
                targets.setdefault(f.to_entity, set()).add(value)
            elif f.type == "links":
                targets.setdefault(f.to_entity, set()).update(value or ())
            elif f.type == "user" and value is not None:
                users.add(value)
    for row in rows:
        users.update(id for k in ("created_by", "updated_by") if (id := row.get(k)))


def _plain(f: Field, value: Any, refs: Refs) -> Markup:
    return escape(str(value))


# Markup is built by concatenating escape()d parts: Markup.format runs string.Formatter in
# Python for every cell, several times slower for the same HTML.

def _text(f: Field, value: Any, refs: Refs) -> Markup:
    """Newlines kept (CSS white-space: pre-line), never HTML."""
    return Markup(f'<span class="text">{escape(str(value))}</span>')


def _email(f: Field, value: Any, refs: Refs) -> Markup:
    shown = escape(value)
    return Markup(f'<a href="mailto:{shown}">{shown}</a>')


def _phone(f: Field, value: Any, refs: Refs) -> Markup:
    target = escape(str(value).replace(EXTENSION, ";ext="))
    return Markup(f'<a href="tel:{target}">{escape(value)}</a>')


def _url(f: Field, value: Any, refs: Refs) -> Markup:
    shown = escape(value)
    return Markup(f'<a href="{shown}" rel="noopener noreferrer nofollow" target="_blank">'
                  f'{shown}</a>')


def _number(f: Field, value: Any, refs: Refs) -> Markup:
    return escape(format_decimal(value))


def _percent(f: Field, value: Any, refs: Refs) -> Markup:
    return escape(f"{format_decimal(value)}%")


def _money(f: Field, value: Any, refs: Refs) -> Markup:
    from karte.web import registry

    return escape(format_currency(Decimal(value), f.currency or registry().currency))


def _boolean(f: Field, value: Any, refs: Refs) -> Markup:
    return escape(_("Yes") if value else _("No"))


def _date(f: Field, value: Any, refs: Refs) -> Markup:
    return Markup(f'<time datetime="{escape(value.isoformat())}">'
                  f'{escape(format_date(value))}</time>')


def when(value: dt.datetime) -> Markup:
    """A moment as a <time> element: the exact instant for machines, and for people the
    user's timezone to the minute, as the UI language writes it (i18n.format_moment)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return Markup(f'<time datetime="{escape(value.isoformat())}">'
                  f'{escape(format_moment(value))}</time>')


def _datetime(f: Field, value: Any, refs: Refs) -> Markup:
    return when(value)


def badge(f: Field, key: Any) -> Markup:
    """An option as a coloured badge (colours are classes from /theme.css: no inline
    style, so the CSP can forbid it)."""
    from karte.web import text

    option = f.option(str(key))
    label = text(option.label) if option is not None else str(key)
    colour = f" c-{colour_class(option.color)}" if option is not None and option.color else ""
    return Markup(f'<span class="badge{escape(colour)}">{escape(label)}</span>')


def _enum(f: Field, value: Any, refs: Refs) -> Markup:
    return badge(f, value)


def _multi_enum(f: Field, value: Any, refs: Refs) -> Markup:
    return Markup(" ").join(badge(f, key) for key in value)


def link_to(entity: str, id: int, refs: Refs) -> Markup:
    title = refs.titles.get(entity, {}).get(id)
    if title is None:
        return Markup('<span class="muted" title="{}">{}</span>').format(
            _("You may not see this record."), _("(no access)"))
    return Markup(f'<a href="{escape(card_url(entity, id))}">{escape(title or f"#{id}")}</a>')


def card_url(entity: str, id: int) -> str:
    """url_for("cards.show", entity=entity, id=id), built once per entity and request
    (url_for walks the URL map on every call; a list has a link in every row)."""
    prefixes = g.get("karte_card_urls")
    if prefixes is None:
        prefixes = g.karte_card_urls = {}
    prefix = prefixes.get(entity)
    if prefix is None:
        built = url_for("cards.show", entity=entity, id=0)
        prefix = prefixes[entity] = built[:-1]        # "/deal/0" → "/deal/"
    return f"{prefix}{int(id)}"


def _link(f: Field, value: Any, refs: Refs) -> Markup:
    return link_to(f.to_entity, value, refs)


def _links(f: Field, value: Any, refs: Refs) -> Markup:
    return Markup(", ").join(link_to(f.to_entity, id, refs) for id in value)


def _user(f: Field, value: Any, refs: Refs) -> Markup:
    return escape(refs.users.get(value, f"#{value}"))


def size_text(size: Any) -> str:
    """Bytes as people read them: "812 B", "14.2 KB", "3.1 MB" (in the UI language's
    digits and decimal mark)."""
    count = int(size or 0)
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if count >= scale:
            return f"{format_decimal(round(Decimal(count) / scale, 1))} {unit}"
    return f"{format_decimal(count)} B"


THUMBNAILED = RASTER
"""Types that get a thumbnail: the raster images `karte.files.thumbs` makes one of (never
SVG)."""


def _file(f: Field, value: Any, refs: Refs) -> Markup:
    """Names and sizes, where no record is at hand to link to (a history row, a
    conflict page); cards and lists link each file (`files_of`)."""
    return Markup(", ").join(
        Markup(f'<span class="file-name">{escape(ref.get("name", ""))}</span> '
               f'<span class="file-size muted">({escape(size_text(ref.get("size")))})</span>')
        for ref in value or () if isinstance(ref, dict))


def files_of(entity: str, id: int, f: Field, value: Any, thumb: int = 64,
             names: bool = True) -> Markup:
    """A record's files as links to their downloads, with a lazy thumbnail of `thumb`
    pixels for an image (alt: its name); `names=False` shows an image by its thumbnail
    alone (a list cell)."""
    refs = [ref for ref in value or () if isinstance(ref, dict) and ref.get("id")]
    if not refs:
        return EMPTY
    link = url_maker_files(entity, id, f.name)
    items = []
    for ref in refs:
        url, name = link(ref["id"]), escape(ref.get("name", ""))
        image = ref.get("type") in THUMBNAILED
        thumbnail = (f'<img class="thumb" src="{escape(url)}/thumb" alt="{name}" '
                     f'width="{thumb}" height="{thumb}" loading="lazy">' if image else "")
        label = (f'<span class="file-name">{name}</span>' if names or not image else "")
        size = (f' <span class="file-size muted">{escape(size_text(ref.get("size")))}</span>'
                if names else "")
        items.append(f'<li class="file"><a href="{escape(url)}" title="{name}">'
                     f'{thumbnail}{label}</a>{size}</li>')
    return Markup(f'<ul class="files{"" if names else " files-compact"}">'
                  f'{"".join(items)}</ul>')


def url_maker_files(entity: str, id: int, field: str) -> Callable[[str], str]:
    """The download URL of each file of one record's field (url_for walks the URL map
    once, not once per file)."""
    slot = "f_0000000000000000000000"
    built = url_for("files.download", entity=entity, id=id, field=field, file_id=slot)
    head, _slot, tail = built.partition(slot)
    return lambda file_id: f"{head}{quote(str(file_id), safe='')}{tail}"


def _formula(f: Field, value: Any, refs: Refs) -> Markup:
    """Shown as a field of its `result` type is: currency, `%`, a date."""
    return SHOW[f.result or "decimal"](f, value, refs)


SHOW: dict[str, Callable[[Field, Any, Refs], Markup]] = {
    "string": _plain, "text": _text, "integer": _number, "decimal": _number,
    "money": _money, "percent": _percent, "boolean": _boolean, "date": _date,
    "datetime": _datetime, "email": _email, "phone": _phone, "url": _url, "enum": _enum,
    "multi_enum": _multi_enum, "link": _link, "links": _links, "user": _user,
    "formula": _formula, "rollup": _formula, "file": _file,
}


def show(f: Field, value: Any, refs: Refs | None = None) -> Markup:
    """The value as HTML for lists, cards and boards; empty shows as a muted dash."""
    if value is None or (f.type != "boolean" and is_empty(value)):
        return EMPTY
    return SHOW.get(f.type, _plain)(f, value, refs or Refs())


EMPTY = Markup('<span class="empty">—</span>')


def cell(entity: Entity, name: str, refs: Refs) -> Callable[[Any], Markup]:
    """`show_field` for one column of many records: the field and its way to show are
    looked up once (a list's table calls this per column, then the result per row)."""
    f = entity.fields.get(name)
    if f is None:
        return lambda value: when(value) if isinstance(value, dt.datetime) \
            else escape("" if value is None else str(value))
    render, boolean = SHOW.get(f.type, _plain), f.type == "boolean"

    def shown(value: Any) -> Markup:
        if value is None or (not boolean and is_empty(value)):
            return EMPTY
        return render(f, value, refs)
    if f.type not in ("enum", "boolean"):
        return shown
    seen: dict[Any, Markup] = {}       # a page shows a handful of options many times

    def remembered(value: Any) -> Markup:
        found = seen.get(value)
        if found is None:
            found = seen[value] = shown(value)
        return found
    return remembered


URL_SLOT = 9_087_123_456_789_012


def url_maker(endpoint: str, **values: Any) -> Callable[[int], str]:
    """`url_for(endpoint, id=id, **values)` for many ids: built once with a stand-in id
    whose place is then filled per record (url_for walks the URL map on every call)."""
    built = url_for(endpoint, id=URL_SLOT, **values)
    head, slot, tail = built.partition(str(URL_SLOT))
    if not slot or str(URL_SLOT) in tail:
        return lambda id: url_for(endpoint, id=id, **values)
    return lambda id: f"{head}{int(id)}{tail}"


def options(choices: Iterable[tuple[str, str]], chosen: str | None) -> Markup:
    """The `<option>`s of a filter's select (a user filter offers every user): one string
    built in Python rather than a template loop of a few outputs per option."""
    return Markup("".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f'{escape(label)}</option>' for value, label in choices))


def show_field(entity: Entity, name: str, record: Mapping[str, Any],
               refs: Refs | None = None) -> Markup:
    """A record's field by name (system fields such as created_at included)."""
    f = entity.fields.get(name)
    value = record.get(name)
    if f is None:
        if isinstance(value, dt.datetime):
            return when(value)
        return escape("" if value is None else str(value))
    return show(f, value, refs)


def colour_class(colour: str) -> str:
    hex = colour.lstrip("#").lower()
    return "".join(c * 2 for c in hex) if len(hex) == 3 else hex


def theme_css() -> Response:
    """One class per colour the pack's options and stages use: a pale tint behind text
    of the colour darkened enough (55 % of it) to read on the tint, amber and yellow too
    (WCAG's 4.5:1, which axe checks on every page)."""
    from karte.web import registry

    colours = {colour_class(c) for e in registry().entities.values()
               for f in e.fields.values() for c in (o.color for o in f.options) if c}
    colours |= {colour_class(s.color) for w in registry().workflows.values()
                for s in w.stages if s.color}
    css = "".join(f".c-{c}{{background:#{c}22;border-color:#{c}88;"
                  f"color:color-mix(in srgb,#{c} 55%,#000)}}\n" for c in sorted(colours))
    response = Response(css, mimetype="text/css")
    response.cache_control.max_age = 300
    return response


def url_with(**changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
    args += [(k, v) for k, v in changes.items() if v is not None and v != ""]
    query = urlencode(args)
    return request.path + (f"?{query}" if query else "")


def init_app(app: Flask) -> None:
    from karte.web import actor, entity_or_404, locale, registry, text, timezone

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=locale, timezone_selector=timezone)
    i18n.init_app(app)
    app.add_url_rule("/theme.css", "theme", theme_css)
    app.jinja_env.globals.update(show=show, show_field=show_field, badge=badge, when=when,
                                 link_to=link_to, url_with=url_with, text=text,
                                 card_url=card_url, options=options, url_maker=url_maker,
                                 entity_or_404=entity_or_404, numeric=numeric, derived=how,
                                 files_of=files_of, size_text=size_text,
                                 file_urls=url_maker_files, THUMBNAILED=THUMBNAILED)

    @app.context_processor
    def _globals():
        from karte.store.lookup import can_read
        from karte.web import dashboards, records

        pack, user = registry(), actor()
        store = records().store
        readable = [e for e in pack.entities.values() if e.part_of is None  # lines: §3.5
                    and user is not None and can_read(store, e.name, user)]
        boards = [w for w in pack.workflows.values() if any(e.name == w.entity
                                                             for e in readable)]
        shown = dashboards.visible() if user is not None else []
        return {"pack": pack, "locale": locale(), "pack_locale": pack.locale, "user": user,
                "nav_entities": readable, "nav_boards": boards,
                "nav_groups": nav.menu(pack, readable, boards, shown)}
