"""Series patterns (SPEC §3.6): `"Q-{YYYY}-{####}"` numbers records as they are created.

A pattern is literal text, date tokens rendered in the pack's timezone and one counter
`{#…#}` (zero-padded to the number of `#`, growing past it when needed). Everything but
the counter, rendered, is the *prefix*: each prefix has a counter of its own, so the
numbering restarts when the prefix changes (a new year for `{YYYY}`). This module only
reads and renders patterns; the counters live in the database (store/records/series.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

DATE_TOKENS: dict[str, tuple[Callable[[dt.date], str], int]] = {
    "YYYY": (lambda day: f"{day.year:04d}", 4),
    "YY": (lambda day: f"{day.year % 100:02d}", 2),
    "MM": (lambda day: f"{day.month:02d}", 2),
    "DD": (lambda day: f"{day.day:02d}", 2),
}
TOKEN = re.compile(r"\{([^{}]*)\}")
COUNTER = re.compile(r"#+")
MARK = "{#}"  # stands for the counter in a stored prefix: "Q-2026-{#}"


@dataclass(frozen=True)
class Series:
    """A parsed pattern: the parts before and after the counter (literal text or a date
    token name in braces) and the counter's width."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    width: int

    def _render(self, parts: tuple[str, ...], day: dt.date) -> str:
        return "".join(DATE_TOKENS[p[1:-1]][0](day) if _is_token(p) else p for p in parts)

    def prefix(self, day: dt.date) -> str:
        """Everything but the counter, rendered for `day`, the counter as `{#}`."""
        return self._render(self.before, day) + MARK + self._render(self.after, day)

    def value(self, prefix: str, number: int) -> str:
        """The value numbered `number` under `prefix` (as `prefix` returned it)."""
        head, _, tail = prefix.partition(MARK)
        return f"{head}{number:0{self.width}d}{tail}"

    @property
    def shortest(self) -> int:
        """The length of the shortest value (the counter at its width)."""
        parts = (*self.before, *self.after)
        return self.width + sum(DATE_TOKENS[p[1:-1]][1] if _is_token(p) else len(p)
                                for p in parts)

    def read(self, value: str) -> tuple[str, int] | None:
        """(prefix, number) of a value written in this pattern, else None."""
        found = self._matcher().fullmatch(value)
        if found is None:
            return None
        start, end = found.span("n")
        return value[:start] + MARK + value[end:], int(found.group("n"))

    def _matcher(self) -> re.Pattern[str]:
        def pattern(parts: tuple[str, ...]) -> str:
            return "".join(rf"\d{{{DATE_TOKENS[p[1:-1]][1]}}}" if _is_token(p) else re.escape(p)
                           for p in parts)
        return re.compile(pattern(self.before) + rf"(?P<n>\d{{{self.width},}})"
                          + pattern(self.after))


def _is_token(part: str) -> bool:
    return part.startswith("{") and part[1:-1] in DATE_TOKENS


def _pieces(text: str) -> list[str]:
    """Literal text and `{…}` tokens in order; raises ValueError for a token not known."""
    pieces: list[str] = []
    position = 0
    for found in TOKEN.finditer(text):
        pieces.append(text[position:found.start()])
        name = found.group(1)
        if name not in DATE_TOKENS and not COUNTER.fullmatch(name):
            known = ", ".join(f"{{{t}}}" for t in DATE_TOKENS)
            raise ValueError(f'unknown token "{found.group(0)}"; the tokens are {known} and '
                             "a counter such as {####}")
        pieces.append(found.group(0))
        position = found.end()
    pieces.append(text[position:])
    if any("{" in p or "}" in p for p in pieces if not p.startswith("{")):
        raise ValueError('a "{" or "}" that does not enclose a token')
    return [p for p in pieces if p]


def parse(text: str) -> Series:
    """The pattern as a Series; raises ValueError saying what is wrong with it."""
    pieces = _pieces(text)
    counters = [i for i, p in enumerate(pieces) if p.startswith("{#")]
    if not counters:
        raise ValueError("no counter: add one such as {####} (zero-padded to 4 digits)")
    if len(counters) > 1:
        raise ValueError("more than one counter: a series has exactly one, such as {####}")
    [at] = counters
    return Series(tuple(pieces[:at]), tuple(pieces[at + 1:]), len(pieces[at]) - 2)
