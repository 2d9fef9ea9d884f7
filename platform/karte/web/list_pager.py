"""A list's numbered pager: first, a window of page numbers around this one, last.

The numbers cost nothing more than the pager already did: the page knows its total
whenever a next page exists (the capped count) and otherwise is the last one. Numbered
links are pages from the start (the OFFSET they read is at most the count's cap when the
total is known, and two pages past the current one otherwise); the last page is always
`page=last`, read backwards from the end of the index, never counted to. When the count
stopped at its cap the pages beyond the window are "…" and *Last*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import format_decimal
from flask_babel import gettext as _

WINDOW = 2


@dataclass(frozen=True)
class Item:
    label: str
    url: str | None = None        # None: the current page, or a gap ("…")
    current: bool = False
    rel: str | None = None
    aria: str | None = None       # the spoken name ("Page 3", "Last page")


def numbered(page: int, size: int, total: int, capped: bool, has_next: bool,
             link: Callable[[int], str]) -> list[Item]:
    """The pager's items for page `page` (from 1, or -1, -2, … from the end) of a list
    whose (capped) count is `total`; [] when everything fits on one page."""
    if page < 0:
        return [Item(_("First"), link(1), aria=_("First page"))]
    if page == 1 and not has_next:
        return []
    known = max(1, -(-total // size))               # pages the total covers
    exact = not capped
    if not has_next:
        known, exact = page, True
    low, high = max(1, page - WINDOW), min(known, page + WINDOW)
    items: list[Item] = []
    if low > 1:
        items.append(_number(1, page, link))
        if low > 2:
            items.append(Item("…"))
    items += [_number(n, page, link) for n in range(low, high + 1)]
    if exact and high < known:
        if high < known - 1:
            items.append(Item("…"))
        items.append(_number(known, page, link))
    if not exact:                      # more pages than the count went to
        items += [Item("…"), Item(_("Last"), link(-1), aria=_("Last page"))]
    return items


def _number(n: int, page: int, link: Callable[[int], str]) -> Item:
    label = format_decimal(n)
    if n == page:
        return Item(label, None, True, aria=_("Page %(num)s", num=label))
    rel = "prev" if n == page - 1 else "next" if n == page + 1 else None
    return Item(label, link(n), rel=rel, aria=_("Page %(num)s", num=label))
