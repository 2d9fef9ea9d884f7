"""Page CPU (issue 11): the fast paths of a list page give what the slow ones gave.

- `i18n.number_format` formats as Babel's `format_decimal` / `format_currency` do, for any
  number, in both UI languages and several currencies (a property test);
- dates and moments read as Flask-Babel's `format_date` / `format_time` wrote them, in the
  user's timezone;
- a list's rows built in Python (`list_table.rows`) are the HTML the former per-cell
  template wrote with `show_field`, for every field type a column can have, empty values,
  links the user may not read, and a page ticked as a whole.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from babel import Locale, numbers
from flask import render_template_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from karte.web.i18n import number_format

CURRENCIES = [None, "USD", "JPY", "EUR", "BHD"]
AMOUNTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False,
                min_value=Decimal("-1e15"), max_value=Decimal("1e15")),
    st.decimals(allow_nan=False, allow_infinity=False, places=4,
                min_value=Decimal("-100000"), max_value=Decimal("100000")),
    st.integers(min_value=-10**15, max_value=10**15),
    st.sampled_from([Decimal("0"), Decimal("-0"), Decimal("-0.0001"), Decimal("0.0005"),
                     Decimal("0.0015"), Decimal("999.9995"), Decimal("1E+3"),
                     Decimal("12345.50"), Decimal("-1234567.125"), 0, -1]),
)


@settings(max_examples=400, deadline=None)
@given(value=AMOUNTS, language=st.sampled_from(["en", "ja"]),
       currency=st.sampled_from(CURRENCIES))
def test_numbers_read_as_babel_writes_them(value, language, currency):
    locale = Locale.parse(language)
    expected = numbers.format_decimal(value, locale=locale) if currency is None \
        else numbers.format_currency(value, currency, locale=locale)

    assert number_format(locale, currency)(value) == expected


def test_a_pattern_the_fast_path_does_not_know_is_left_to_babel():
    locale = Locale.parse("en_IN")          # groups by 3 then 2: 12,34,567

    assert number_format(locale, None)(Decimal("1234567.5")) == "12,34,567.5"


ENTITIES = {
    "company": {"title_field": "name", "fields": {"name": {"type": "string"}}},
    "deal": {"title_field": "title", "fields": {
        "title": {"type": "string"},
        "company": {"type": "link", "to": "company"},
        "stage": {"type": "enum", "options": [
            {"key": "new", "label": {"en": "New", "ja": "新規"}, "color": "#3a7"},
            {"key": "won"}]},
        "tags": {"type": "multi_enum", "options": [{"key": "a"}, {"key": "b"}]},
        "amount": {"type": "money"}, "chance": {"type": "percent"},
        "units": {"type": "integer"}, "rate": {"type": "decimal"},
        "hot": {"type": "boolean"}, "close_on": {"type": "date"},
        "meet_at": {"type": "datetime"}, "mail": {"type": "email"},
        "site": {"type": "url"}, "phone": {"type": "phone"}, "note": {"type": "text"},
        "owner": {"type": "user"}},
        "list": {"columns": ["title", "company", "stage", "tags", "amount", "chance",
                             "units", "rate", "hot", "close_on", "meet_at", "mail", "site",
                             "phone", "note", "owner", "created_at", "updated_by"]}},
}
ROLES = {"clerk": {"deal": {"read": "all", "create": True, "update": "all"},
                   "company": {"read": "own"}}}

# The rows as `_partials/list_rows.html` wrote them before issue 11, one template call per
# cell; whitespace between tags aside, the page must not change. (Issue 12 added each
# cell's `data-label` and the title cell's class, for the stacked rows on phones.)
BEFORE = (
    "{% for row in listing.rows %}<tr>{% if allowed.delete %}"
    '<td class="pick"><input type="checkbox" name="ids" value="{{ row.id }}" aria-label="'
    "{{ _('Select %(title)s', title=row[entity.title_field] or '#' ~ row.id) }}\""
    "{% if select_all %} checked{% endif %}></td>{% endif %}"
    '{% for c in columns %}<td{% if c.numeric %} class="num"{% elif c.title %} class="title"'
    '{% endif %} data-label="{{ text(c.field.label) }}">'
    "{%- if c.title -%}"
    "{%- set named = listing.refs.titles.get(c.field.to, {}).get(row[c.name])"
    ' if c.field.type == "link" else row[c.name] -%}'
    "<a href=\"{{ url_for('cards.show', entity=entity.name, id=row.id) }}\">"
    '{{ named if named not in (None, "") else "#" ~ row.id }}</a>'
    "{%- else -%}{{ show_field(entity, c.name, row, listing.refs) }}{%- endif -%}"
    "</td>{% endfor %}</tr>{% endfor %}")


def _squeezed(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.fixture
def app(make_app):
    return make_app(ENTITIES, pack={"timezone": "Asia/Tokyo", "currency": "JPY",
                                    "roles": ROLES})


def _records(app) -> None:
    records = app.extensions["karte"]["records"]
    owner = app.user("clerk")
    company = records.create("company", {"name": "Mine & <Co>"})
    records.create("deal", {
        "title": "Big <deal>", "company": company["id"], "stage": "new", "tags": ["a", "b"],
        "amount": Decimal("1234567.5"), "chance": Decimal("12.5"), "units": 12000,
        "rate": Decimal("-0.0005"), "hot": True, "close_on": dt.date(2026, 12, 24),
        "meet_at": dt.datetime(2026, 11, 25, 7, 29, 45, tzinfo=dt.UTC),
        "mail": "a@example.com", "site": "https://example.com/?a=1&b=2",
        "phone": "+81 3 1234 5678", "note": "two\nlines", "owner": owner})
    records.create("deal", {"title": "", "hot": False})       # empty values, no title


@pytest.mark.parametrize("role", ["admin", "clerk"])    # the clerk may not read the company
@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("ticked", [False, True])
def test_rows_built_in_python_are_the_cells_the_template_wrote(app, role, language, ticked):
    from flask_login import login_user

    from karte.auth.users import get_user, sign_in
    from karte.web import list_table, lists
    from karte.web.list_params import ListQuery

    _records(app)
    engine = app.extensions["karte"]["engine"]
    user = sign_in(engine, get_user(engine, app.user(role)))
    with app.test_request_context(f"/deal/?lang={language}"):
        login_user(user)
        entity, allowed = lists._readable("deal")
        page = lists._page(entity, ListQuery())
        columns = lists._columns(entity, ListQuery(), entity.list.sort)
        after = "".join(list_table.rows(entity, columns, page.rows, page.refs,
                                        pick=bool(allowed.delete), ticked=ticked))
        before = render_template_string(BEFORE, listing=page, columns=columns,
                                        entity=entity, allowed=allowed, select_all=ticked)

    assert len(page.rows) == 2 and len(columns) == 18
    assert ('<span class="muted" title=' in after) == (role == "clerk")   # no access
    assert ('name="ids"' in after) == (role == "admin")
    assert _squeezed(after) == _squeezed(before)


def test_a_list_page_shows_the_rows(app):
    _records(app)

    page = app.client().get("/deal/?lang=ja").get_data(as_text=True)

    assert "Big &lt;deal&gt;" in page and "新規" in page and "2026/11/25 16:29" in page
    assert "Mine &amp; &lt;Co&gt;" in page and 'name="ids"' in page


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.datetimes(min_value=dt.datetime(1900, 1, 1),
                           max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)),
       language=st.sampled_from(["en", "ja"]))
def test_dates_and_moments_read_as_flask_babel_wrote_them(app, moment, language):
    import flask_babel
    from babel.dates import get_datetime_format

    from karte.web.i18n import format_date, format_moment

    with app.test_request_context(f"/?lang={language}"):
        pattern = str(get_datetime_format("medium", locale=flask_babel.get_locale()))
        before = pattern.replace("'", "").replace(
            "{0}", flask_babel.format_time(moment, "short")).replace(
            "{1}", flask_babel.format_date(moment, "medium"))

        assert format_moment(moment) == before
        assert format_date(moment.date()) == flask_babel.format_date(moment.date(), "medium")
        assert format_date(moment) == flask_babel.format_date(moment, "medium")


def test_templates_are_read_and_compiled_once_not_per_request(app, monkeypatch):
    _records(app)
    client = app.client()
    client.get("/deal/")                    # compiles list.html, layout, the partial
    loaded: list[str] = []
    get_source = type(app.jinja_loader).get_source

    def counting(self, environment, template):
        loaded.append(template)
        return get_source(self, environment, template)
    monkeypatch.setattr(type(app.jinja_loader), "get_source", counting)

    for _ in range(3):
        assert client.get("/deal/").status_code == 200

    assert not app.debug and not app.jinja_env.auto_reload
    assert loaded == []
