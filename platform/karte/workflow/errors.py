"""A refused move: an error value like the store's, with what a board needs to ask in place."""

from __future__ import annotations

from collections.abc import Iterable

from karte.problems import Problem
from karte.store.errors import Refused


class MoveRefused(Refused):
    """The move is not allowed now (HTTP 409); nothing was written.

    `problems` holds every reason at once, in the mover's language. `missing` names the
    fields whose only fault is being empty, in the order a form should ask for them;
    `only_missing` is True when every reason is about those fields (missing values, and
    rules that read nothing else), so the board can ask for exactly them and try the move
    again with the values — the move is then checked afresh.
    """

    def __init__(self, problems: Iterable[Problem], missing: Iterable[str] = (),
                 only_missing: bool = False):
        super().__init__(problems)
        self.missing: tuple[str, ...] = tuple(missing)
        self.only_missing = only_missing and bool(self.missing)
