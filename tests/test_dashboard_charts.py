"""What a dashboard draws and says, without a database: chart geometry (karte.web.charts)
and the words and numbers a manager reads (karte.web.figures), in English and Japanese."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import pytest
from babel import Locale

from karte.web import charts, figures

EN, JA = Locale.parse("en"), Locale.parse("ja")


@pytest.mark.parametrize(("top", "axis"), [(0, 1), (7, 10), (12, 20), (180, 200),
                                           (2400, 2500), (4100, 5000), (1, 1)])
def test_the_value_axis_ends_at_a_round_number_above_the_largest_value(top, axis):
    assert charts.nice(top) == axis


def test_the_target_fits_under_the_axis_even_when_above_every_value():
    assert charts.scale([[10, 20, None]], target=130) == 200


def test_horizontal_bars_are_as_long_as_their_share_of_the_axis():
    rows = charts.rows([[50, 100, None]], charts.scale([[50, 100]]))

    assert [box.width for [box] in rows] == [50, 100, 0]
    # each row: a label line, then its bar, the rows one under the other
    assert rows[1][0].y - rows[0][0].y == 2 * charts.ROW


def test_columns_of_two_series_stand_side_by_side_inside_their_category():
    both = charts.columns([[10, 20], [20, 0]], 20)

    (a, b), (c, d) = both
    assert a.x + a.width == pytest.approx(b.x)
    assert b.x + b.width <= c.x
    assert b.height == charts.PLOT and a.height == charts.PLOT / 2 and d.height == 0
    assert a.y + a.height == b.y + b.height == charts.TOP + charts.PLOT   # one baseline


def test_a_line_joins_its_points_left_to_right_at_their_heights():
    segments = charts.segments([0, 5, 10], 10)

    assert len(segments) == 2
    (x1, y1, x2, y2), (x3, y3, _x4, y4) = segments
    assert x1 < x2 == x3 and y1 == charts.TOP + charts.PLOT and y4 == charts.TOP
    assert y1 > y2 > y4


def test_only_every_nth_category_is_labelled_when_too_many_for_the_width():
    assert charts.labelled(5) == {0, 1, 2, 3, 4}
    assert charts.labelled(12) == {0, 2, 4, 6, 8, 10}
    assert len(charts.labelled(53)) <= charts.LABELS


def test_pie_slices_share_the_turn_and_leave_out_nothing_values():
    slices = charts.pie([1, 0, None, 3])

    assert slices[1] is None and slices[2] is None
    assert [s.share for s in slices if s] == [0.25, 0.75]
    assert slices[3].path.startswith("M0,0") and " 1,1 " in slices[3].path  # large arc


def test_a_pie_of_one_value_is_a_whole_circle():
    [whole] = charts.pie([42])

    assert whole.share == 1 and whole.path.count("A1,1") == 2


def test_funnel_steps_are_centred_and_narrow_with_their_count():
    steps = charts.funnel([200, 100, 0])

    assert steps[0].x == 0 and steps[0].width == 100
    assert steps[1].x == 25 and steps[1].width == 50
    assert steps[2].width > 0                     # an empty step still shows where it is
    assert all(math.isclose(s.x * 2 + s.width, 100) for s in steps)


@pytest.mark.parametrize(("locale", "said"), [(EN, "¥1,234,567"), (JA, "￥1,234,567")])
def test_money_is_said_in_the_pack_currency(locale, said):
    assert figures.number(Decimal("1234567"), "money", locale, "JPY") == said


def test_a_ratio_is_a_share_and_a_percent_field_is_percent_points():
    assert figures.number(0.253, "percent", EN, "USD", fraction=True) == "25.3%"
    assert figures.number(Decimal("25.3"), "percent", EN, "USD") == "25.3%"


@pytest.mark.parametrize(("seconds", "en", "ja"), [(3.5 * 86400, "3.5 days", "3.5 日"),
                                                   (7200, "2 hours", "2 時間"),
                                                   (300, "5 minutes", "5 分")])
def test_durations_are_days_then_hours_then_minutes(seconds, en, ja):
    assert figures.number(seconds, "duration", EN, "USD") == en
    assert figures.number(seconds, "duration", JA, "USD") == ja


def test_averages_are_read_to_two_decimals_and_nothing_is_a_dash():
    assert figures.number(1234.5678, "number", EN, "USD") == "1,234.57"
    assert figures.number(None, "money", EN, "USD") == "—"


def test_a_change_has_an_arrow_its_way_and_the_percent_without_sign():
    down, up = figures.change(-0.125, EN), figures.change(0.5, JA)

    assert (down.direction, down.arrow, down.percent) == ("down", "▼", "12.5%")
    assert (up.direction, up.arrow, up.percent) == ("up", "▲", "50%")
    assert figures.change(None, EN) is None


def test_axis_labels_are_short():
    assert figures.compact(12_345_678, "money", EN, "JPY") == "¥12.3M"
    assert re.fullmatch(r"￥1234\.6万", figures.compact(12_345_678, "money", JA, "JPY"))


@pytest.mark.parametrize(("size", "en", "ja"), [("month", "Mar 2026", "2026年3月"),
                                                ("quarter", "Q1 2026", "2026/Q1"),
                                                ("week", "Mar 2", "3月2日"),
                                                ("year", "2026", "2026年")])
def test_date_buckets_are_named_as_the_language_writes_them(size, en, ja):
    start = dt.date(2026, 3, 2) if size != "quarter" else dt.date(2026, 1, 1)

    assert figures.bucket(start, size, EN) == en
    assert figures.bucket(start, size, JA) == ja


@pytest.mark.parametrize(("top", "axis"), [(0, 2), (1, 2), (3, 4), (7, 8), (11, 20),
                                           (41, 60), (250, 400)])
def test_an_axis_of_counts_is_halved_into_whole_numbers(top, axis):
    assert charts.nice(top, whole=True) == axis
    assert (axis / 2).is_integer()


def test_whole_amounts_leave_out_the_cents_others_keep_them():
    assert figures.number(Decimal("423200.00"), "money", EN, "USD") == "$423,200"
    assert figures.number(Decimal("1234.5"), "money", EN, "USD") == "$1,234.50"
