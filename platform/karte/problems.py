"""One error shape for the whole engine: `{where, message}` (DESIGN rule 3).

Definition problems say `where` as `file: /json/pointer`; record validation problems say
the field name; refused moves say the field or the stage. The CLI prints them, forms show
them next to their field, the API returns them as application/problem+json.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    code: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class Detailed(Problem):
    """A problem with the facts its (English) message was made from — the value, the field
    name, the choices — so a page in another language can say it in its own words, by
    `code` (karte.web.messages). The message stays what the CLI and the logs print."""

    details: Mapping[str, Any] = field(default_factory=dict, compare=False)


def at(file: str, pointer: str, message: str, code: str = "") -> Problem:
    """A definition problem located by pack-relative file and JSON pointer."""
    return Problem(f"{file}: {pointer or '/'}", message, code)


def pointer(*parts: object) -> str:
    """A JSON pointer (RFC 6901) from path parts."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + part for part in escaped)


def show(value: Any) -> str:
    """A value as it is written in a JSON file, cut to 60 characters for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def counted(count: int, word: str, many: str | None = None) -> str:
    """"1 row", "3 rows", "2 entities": a count with its word for a message."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def a_an(word: str) -> str:
    """"an integer", "an enum", "a string", "a user", "a url": the word with its article,
    for a message."""
    vowel = word[:1] in "aeiou" and not word.startswith(("us", "ur"))
    return ("an " if vowel else "a ") + word


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate close enough to `name` to be what was meant, if any."""
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """` (did you mean "x"?)` when a candidate is close to `name`, else ``."""
    close = closest(name, candidates)
    return f' (did you mean "{close}"?)' if close else ""


class ProblemsError(Exception):
    """Raised where a caller cannot go on; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
