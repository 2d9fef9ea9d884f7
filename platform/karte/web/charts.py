"""Where the marks of a dashboard chart go: pure geometry for the SVG templates
(templates/_partials/chart_*.html), no Flask.

Charts are drawn on the server as inline SVG written by Jinja templates rather than by a
charting library: nothing to install, no script in the page (the CSP allows none inline),
and every mark is an element CSS colours and prints and an <a> the keyboard reaches.
Horizontal positions are percents of the chart's width and vertical ones pixels, so a chart
stretches to its tile — 390 px phone or 1280 px desk — while its text keeps its size
(SVG takes percents for x, width, x1, x2 and cx; a viewBox would shrink the text with the
tile). A pie is the one exception: a fixed-size circle in its own viewBox.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Values = Sequence[float | None]
ROW = 22            # px per series bar in a horizontal bar chart, and its label line
BAR = 12            # px a horizontal bar is thick
PLOT = 160          # px of the plot area of columns and lines
TOP = 18            # px above the plot (room for the target's label)
AXIS = 22           # px under the plot for the category labels
LEFT = 12.0         # % of the width kept for the value axis' labels
LABELS = 7          # at most this many category labels under columns or lines


@dataclass(frozen=True)
class Box:
    """A rectangle: x and width in % of the chart's width, y and height in px."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    value: float
    y: float


@dataclass(frozen=True)
class Slice:
    path: str           # in a viewBox of -1 -1 2 2
    share: float        # 0..1


def nice(top: float, whole: bool = False) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `top` (1 when there is nothing);
    for `whole` numbers (counts) one whose half is whole too: 2, 4, 6, 8, 10, 20, 40 …"""
    if whole:
        return float(next(step * 10 ** k for k in range(19) for step in (2, 4, 6, 8, 10)
                          if step * 10 ** k >= top))
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= top)


def scale(series: Sequence[Values], target: float | None = None,
          whole: bool = False) -> float:
    """The top of the value axis: every value and the target fit under it."""
    found = [abs(v) for values in series for v in values if v is not None]
    return nice(max([*found, abs(target or 0)], default=0), whole)


def ticks(top: float) -> list[Tick]:
    """Gridlines at 0, ½ and the top of columns and lines."""
    return [Tick(value, y_of(value, top)) for value in (0, top / 2, top)]


def y_of(value: float | None, top: float) -> float:
    """The px height of a value in the plot of columns and lines."""
    return TOP + PLOT - (max(float(value or 0), 0) / top) * PLOT


def width_of(value: float | None, top: float) -> float:
    """A horizontal bar's length in % of the chart's width."""
    return max(float(value or 0), 0) / top * 100


def rows(series: Sequence[Values], top: float) -> list[list[Box]]:
    """Horizontal bars, one row per category: its label line, then a bar per series."""
    per_row = ROW + ROW * len(series)
    return [[Box(0, index * per_row + ROW + s * ROW, width_of(values[index], top), BAR)
             for s, values in enumerate(series)]
            for index in range(len(series[0]) if series else 0)]


def rows_height(series: Sequence[Values]) -> int:
    count = len(series[0]) if series else 0
    return count * (ROW + ROW * len(series)) + 4


def slot(index: int, count: int) -> tuple[float, float]:
    """(start, width) in % of category `index` of `count` along the plot."""
    width = (100 - LEFT) / max(count, 1)
    return LEFT + index * width, width


def columns(series: Sequence[Values], top: float) -> list[list[Box]]:
    """Vertical bars, side by side per category, one per series."""
    count = len(series[0]) if series else 0
    found = []
    for index in range(count):
        start, width = slot(index, count)
        inner = width * 0.7 / len(series)
        found.append([Box(start + width * 0.15 + s * inner, y_of(values[index], top), inner,
                          TOP + PLOT - y_of(values[index], top))
                      for s, values in enumerate(series)])
    return found


def points(values: Values, top: float) -> list[tuple[float, float]]:
    """(x %, y px) of each point of a line, at the middle of its category."""
    found = []
    for index, value in enumerate(values):
        start, width = slot(index, len(values))
        found.append((start + width / 2, y_of(value, top)))
    return found


def segments(values: Values, top: float) -> list[tuple[float, float, float, float]]:
    """The line between neighbouring points (x1 %, y1, x2 %, y2): SVG's <polyline> takes
    no percents, so a line is drawn as its segments."""
    found = points(values, top)
    return [(*a, *b) for a, b in zip(found, found[1:], strict=False)]


def labelled(count: int, room: int = LABELS) -> set[int]:
    """Which category labels show under columns or lines: all when they fit, else every
    n-th from the first (the data table lists them all)."""
    step = max(1, math.ceil(count / room))
    return set(range(0, count, step))


def funnel(values: Values) -> list[Box]:
    """A funnel's steps: bars centred under each other, the first step the full width."""
    top = max([float(v) for v in values if v is not None] or [0]) or 1.0
    found = []
    for index, value in enumerate(values):
        width = max(width_of(value, top), 0.5)
        found.append(Box((100 - width) / 2, index * (ROW + BAR + 8) + ROW, width, BAR + 4))
    return found


def funnel_height(count: int) -> int:
    return count * (ROW + BAR + 8) + 4


def pie(values: Values) -> list[Slice | None]:
    """Each value's slice, clockwise from twelve o'clock; None for nothing (zero, no
    value, or nothing at all to share)."""
    whole = sum(float(v) for v in values if v is not None and v > 0)
    found: list[Slice | None] = []
    turned = 0.0
    for value in values:
        if value is None or value <= 0 or not whole:
            found.append(None)
            continue
        share = float(value) / whole
        found.append(Slice(_arc(turned, turned + share), share))
        turned += share
    return found


def _arc(start: float, end: float) -> str:
    """The path of a slice from `start` to `end` (shares of a turn); a whole turn is two
    half arcs, as one arc cannot end where it starts."""
    if end - start >= 0.9999:
        return "M0,-1 A1,1 0 1,1 0,1 A1,1 0 1,1 0,-1 Z"
    (x1, y1), (x2, y2) = _at(start), _at(end)
    large = 1 if end - start > 0.5 else 0
    return f"M0,0 L{x1:.4f},{y1:.4f} A1,1 0 {large},1 {x2:.4f},{y2:.4f} Z"


def _at(share: float) -> tuple[float, float]:
    angle = 2 * math.pi * share
    return math.sin(angle), -math.cos(angle)
