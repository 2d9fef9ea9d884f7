"""Which passwords are refused wherever one is set (`karte user add`, the users page, the
account page): too short, only spaces, the user's own address, or a common password.

"Common" is zxcvbn's list of the 30,000 most frequent passwords in public leaks: the ones
a guessing attack tries first, whatever the length rule says.
"""

from __future__ import annotations

import functools

MIN_PASSWORD = 8
MIN_NAME_PART = 3  # a shorter part before the @ is refused only as the whole password


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _contains_address(folded: str, email: str) -> bool:
    address = email.strip().casefold()
    name = address.partition("@")[0]
    return bool(address) and (address in folded or folded == name
                              or (len(name) >= MIN_NAME_PART and name in folded))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why this password is refused, as a reason code ("password_short", "password_blank",
    "password_email", "password_common"), or None when it may be used."""
    if len(password) < MIN_PASSWORD:
        return "password_short"
    if not password.strip():
        return "password_blank"
    folded = password.strip().casefold()
    if email and _contains_address(folded, email):
        return "password_email"
    if folded in _common():
        return "password_common"
    return None
