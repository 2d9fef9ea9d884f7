"""The users service's refusals (`UserRefused` reason codes) in the UI language: one wording
for the admin's users page and everyone's account page; likewise the token service's
(`TokenRefused`, and why `tokens.verify` refused a token, for the API's 401)."""

from __future__ import annotations

from flask_babel import gettext as _

from karte.auth.tokens import NAME_LENGTH, TokenRefused
from karte.auth.users import MIN_PASSWORD, UserRefused


def _messages() -> dict[str, str]:
    return {
        "email_invalid": _("Enter a valid email address, like name@example.com."),
        "email_taken": _("A user with this email already exists. Change that user in the "
                         "list below instead."),
        "name_long": _("A name has at most 200 characters."),
        "role_unknown": _("Choose one of the roles in the list."),
        "password_short": _("A password needs at least %(count)d characters.",
                            count=MIN_PASSWORD),
        "password_blank": _("A password cannot be only spaces."),
        "password_email": _("A password must not contain the email address or the name "
                            "before the @: attackers try those first."),
        "password_common": _("This is one of the most common passwords, which attackers "
                             "try first. Choose a longer phrase of your own."),
        "password_wrong": _("The current password is wrong."),
        "password_mismatch": _("The two new passwords differ. Type the same one twice."),
        "last_admin": _("This is the last active admin. Make another user admin first."),
        "self_deactivate": _("You cannot deactivate yourself. Ask another admin to do it."),
    }


def worded(error: UserRefused) -> dict[str, str]:
    """{input: message} for a refused change, in the UI language."""
    messages = _messages()
    return {field: messages.get(code, code) for field, code in error.problems.items()}


def token_reason(reason: str) -> str:
    """Why the API refused a token (`tokens.verify`'s reason), in the UI language."""
    texts = {
        "malformed": _("This is not a Karte token: a token reads karte_<prefix>_<secret>."),
        "unknown": _("This token is not known: check that it was copied whole."),
        "revoked": _("This token was revoked. Create a new one on your account page."),
        "expired": _("This token has expired. Create a new one on your account page."),
        "inactive": _("The user of this token is deactivated."),
    }
    return texts.get(reason, texts["unknown"])


def token_worded(error: TokenRefused) -> dict[str, str]:
    """{input: message} for a token that could not be made, in the UI language."""
    messages = {
        "name_blank": _("A token needs a name."),
        "name_long": _("A token's name has at most %(count)d characters.", count=NAME_LENGTH),
        "name_taken": _("You already have a live token with this name. Choose another "
                        "name, or revoke that token first."),
        "expiry_past": _("The expiry must lie in the future."),
        "user_unknown": _("There is no such user."),
    }
    return {field: messages.get(code, code) for field, code in error.problems.items()}
