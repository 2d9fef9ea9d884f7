"""Dashboard ranges and buckets (karte.reports.periods): local calendar periods, the
previous period in full, weeks from Monday, and the UTC instants of local midnights."""

from __future__ import annotations

import datetime as dt

import pytest

from karte.meta.dashboards import Range
from karte.reports.periods import Period, bucket_start, buckets, instant, period, previous

D = dt.date
TODAY = D(2026, 5, 14)     # a Thursday in the second quarter


@pytest.mark.parametrize(("name", "current", "before"), [
    ("today", (D(2026, 5, 14), D(2026, 5, 15)), (D(2026, 5, 13), D(2026, 5, 14))),
    ("yesterday", (D(2026, 5, 13), D(2026, 5, 14)), (D(2026, 5, 12), D(2026, 5, 13))),
    ("this_week", (D(2026, 5, 11), D(2026, 5, 18)), (D(2026, 5, 4), D(2026, 5, 11))),
    ("last_week", (D(2026, 5, 4), D(2026, 5, 11)), (D(2026, 4, 27), D(2026, 5, 4))),
    ("this_month", (D(2026, 5, 1), D(2026, 6, 1)), (D(2026, 4, 1), D(2026, 5, 1))),
    ("last_month", (D(2026, 4, 1), D(2026, 5, 1)), (D(2026, 3, 1), D(2026, 4, 1))),
    ("this_quarter", (D(2026, 4, 1), D(2026, 7, 1)), (D(2026, 1, 1), D(2026, 4, 1))),
    ("last_quarter", (D(2026, 1, 1), D(2026, 4, 1)), (D(2025, 10, 1), D(2026, 1, 1))),
    ("this_year", (D(2026, 1, 1), D(2027, 1, 1)), (D(2025, 1, 1), D(2026, 1, 1))),
    ("last_year", (D(2025, 1, 1), D(2026, 1, 1)), (D(2024, 1, 1), D(2025, 1, 1))),
    ("last_7_days", (D(2026, 5, 8), D(2026, 5, 15)), (D(2026, 5, 1), D(2026, 5, 8))),
    ("last_30_days", (D(2026, 4, 15), D(2026, 5, 15)), (D(2026, 3, 16), D(2026, 4, 15))),
    ("last_90_days", (D(2026, 2, 14), D(2026, 5, 15)), (D(2025, 11, 16), D(2026, 2, 14))),
    ("last_12_months", (D(2025, 6, 1), D(2026, 6, 1)), (D(2024, 6, 1), D(2025, 6, 1))),
])
def test_named_ranges_and_their_previous_period(name, current, before):
    assert period(Range(name), TODAY) == Period(*current)
    assert previous(Range(name), TODAY) == Period(*before)


def test_a_from_to_range_includes_both_days_and_its_previous_is_as_many_days_before():
    fixed = Range(start=D(2026, 3, 10), end=D(2026, 3, 19))
    assert period(fixed, TODAY) == Period(D(2026, 3, 10), D(2026, 3, 20))
    assert previous(fixed, TODAY) == Period(D(2026, 2, 28), D(2026, 3, 10))
    assert period(Range(start=D(2026, 5, 1)), TODAY) == Period(D(2026, 5, 1), D(2026, 5, 15))


def test_quarters_and_months_cross_the_year():
    assert period(Range("this_quarter"), D(2026, 1, 2)) == Period(D(2026, 1, 1), D(2026, 4, 1))
    assert previous(Range("this_month"), D(2026, 1, 31)) == Period(D(2025, 12, 1),
                                                                   D(2026, 1, 1))
    assert period(Range("this_quarter"), D(2026, 12, 31)) == Period(D(2026, 10, 1),
                                                                    D(2027, 1, 1))


def test_buckets_cover_the_period_clipped_to_it_and_weeks_start_on_monday():
    weeks = buckets(Period(D(2026, 5, 7), D(2026, 5, 21)), "week")
    assert weeks == [Period(D(2026, 5, 7), D(2026, 5, 11)), Period(D(2026, 5, 11),
                     D(2026, 5, 18)), Period(D(2026, 5, 18), D(2026, 5, 21))]
    assert bucket_start(D(2026, 5, 7), "week") == D(2026, 5, 4)      # a Monday
    months = buckets(period(Range("last_12_months"), TODAY), "month")
    assert len(months) == 12 and months[0].start == D(2025, 6, 1)
    assert months[-1] == Period(D(2026, 5, 1), D(2026, 6, 1))
    assert [b.start for b in buckets(Period(D(2025, 11, 5), D(2026, 5, 1)), "quarter")] == [
        D(2025, 11, 5), D(2026, 1, 1), D(2026, 4, 1)]
    assert bucket_start(D(2025, 11, 5), "quarter") == D(2025, 10, 1)
    assert len(buckets(Period(D(2026, 1, 1), D(2026, 2, 1)), "day")) == 31
    assert buckets(Period(D(2025, 3, 1), D(2026, 2, 1)), "year") == [
        Period(D(2025, 3, 1), D(2026, 1, 1)), Period(D(2026, 1, 1), D(2026, 2, 1))]


def test_local_midnight_is_an_instant_in_utc():
    assert instant(D(2026, 4, 1), "Asia/Tokyo") == dt.datetime(2026, 3, 31, 15, tzinfo=dt.UTC)
    assert instant(D(2026, 4, 1), "UTC") == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    # daylight saving: New York's midnight is 04:00 UTC in summer, 05:00 in winter
    assert instant(D(2026, 7, 1), "America/New_York").hour == 4
    assert instant(D(2026, 1, 1), "America/New_York").hour == 5
