"""File fields in a posted form: new uploads, files kept pending, files ticked for removal.

A form with a file field is multipart. Its file inputs are not text, so they never go
through `form_values.parse`; this module reads them instead:

- each uploaded file goes through `Files.receive` (every check: size, type from the
  content, name) before anything is saved; a refusal is that field's error, and every
  other value stays as typed;
- a file received on an earlier try of the same form comes back as a signed token
  (`_pending.<field>`), so a form shown again for any reason (a validation error, a
  duplicate warning, a conflict) does not make the user upload again; a token that is
  not theirs, for another field, or too old is ignored with a message;
- `_remove.<field>` names an attached file the user ticked to remove.

The field's new value is the attached files minus the removed ones plus the new ones (a
single field: the new file replaces the old), saved with the other values in one write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from flask import Response, flash, redirect, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.wrappers import Response as BaseResponse

from karte.files.checks import FileRefused
from karte.meta.model import Entity, Field
from karte.web import actor, files

PENDING = "_pending."
REMOVE = "_remove."
ASKS_WHERE = "X-Karte-Upload"
"""Sent by static/js/uploads.js: answer a successful save with the address to open
(`X-Karte-Location`, 204) instead of a 303, which the script's request would follow itself
— using up the "Saved" message before the page it opens could show it."""

Ref = dict[str, Any]


@dataclass
class Posted:
    """What a POST says about one file field, besides the new uploads."""

    pending: list[tuple[str, Ref]] = field(default_factory=list)   # (token, reference)
    removed: set[str] = field(default_factory=set)                 # ids of attached files


def saved(url: str) -> BaseResponse:
    """After a save with uploads: 303 to `url` for a form post, the address for uploads.js."""
    if request.headers.get(ASKS_WHERE) != "1":
        return redirect(url, 303)
    return Response(status=204, headers={"X-Karte-Location": url})


def refusal_text(error: FileRefused) -> str:
    """The service's English sentence in the UI language (pages and the API)."""
    return _(error.message, **error.params)


def posted(entity: Entity, fields: Iterable[Field], form: MultiDict) -> dict[str, Posted]:
    """Pending tokens (verified) and removal ticks of `fields`, by field name."""
    found, lost = {}, 0
    for f in fields:
        state = Posted(removed=set(form.getlist(REMOVE + f.name)))
        for token in form.getlist(PENDING + f.name):
            ref = files().unpending(token, actor(), entity.name, f.name)
            if ref is None:
                lost += 1
            else:
                state.pending.append((token, ref))
        found[f.name] = state
    if lost:
        flash(_("A file kept from an earlier try could not be used (it is too old or was "
                "not uploaded here); please choose it again."))
    return found


def receive(entity: Entity, f: Field, uploads: Sequence[FileStorage],
            state: Posted) -> list[str]:
    """Receive each uploaded file of `f` (an input with no file chosen sends an empty
    part: skipped) into `state.pending`; the messages of those refused."""
    problems = []
    for upload in uploads:
        if not upload.filename:
            continue
        try:
            ref = files().receive(entity.name, f.name, cast(BinaryIO, upload.stream),
                                  upload.filename, actor())
        except FileRefused as error:
            problems.append(_("%(name)s: %(reason)s", name=upload.filename,
                              reason=refusal_text(error)))
            continue
        state.pending.append((files().pending(ref, actor(), entity.name, f.name), ref))
    return problems


def value(f: Field, attached: Sequence[Ref] | None, state: Posted) -> list[Ref] | None:
    """The field's new list of references, or None when the POST changes nothing."""
    before = list(attached or ())
    kept = [ref for ref in before if ref.get("id") not in state.removed]
    new = [ref for _token, ref in state.pending]
    if not new and len(kept) == len(before):
        return None
    if not f.multiple and new:
        return new[-1:]
    return kept + new


def values(entity: Entity, record: Mapping[str, Any] | None,
           states: Mapping[str, Posted]) -> dict[str, list[Ref]]:
    """{field: new list} of every file field the POST changes."""
    found = {}
    for name, state in states.items():
        changed = value(entity.fields[name], (record or {}).get(name), state)
        if changed is not None:
            found[name] = changed
    return found


# ---------------------------------------------------------------- what the input shows

OFFICE = "application/vnd.openxmlformats-officedocument."
TYPE_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG",
              "image/gif": "GIF", "image/webp": "WebP", "image/heic": "HEIC",
              "image/tiff": "TIFF", "text/plain": "TXT", "text/csv": "CSV",
              "application/zip": "ZIP", "application/msword": "Word",
              OFFICE + "wordprocessingml.document": "Word",
              "application/vnd.ms-excel": "Excel", OFFICE + "spreadsheetml.sheet": "Excel",
              "application/vnd.ms-powerpoint": "PowerPoint",
              OFFICE + "presentationml.presentation": "PowerPoint",
              "application/vnd.oasis.opendocument.text": "ODT",
              "application/vnd.oasis.opendocument.spreadsheet": "ODS"}
"""Short names people know for the types a hint lists (an unknown type shows as itself)."""


@dataclass
class Upload:
    """A file input as the form or card shows it: the files attached (ticked ones to be
    removed), those received and waiting for the save, and what the input accepts."""

    attached: list[Ref]
    removed: set[str]
    pending: list[tuple[str, Ref]]
    accept: str                  # the input's `accept` attribute ("" = anything)
    hint: str                    # accepted types and the size limit, in words
    multiple: bool


def _type_name(mime: str) -> str:
    if mime.endswith("/*"):
        return _("any %(kind)s", kind=mime[:-2]) if mime != "image/*" else _("images")
    return TYPE_NAMES.get(mime, mime)


def hint(entity: Entity, f: Field) -> str:
    """"Accepts PDF, images, up to 10 MB each." (the limit: the field's, within the
    instance's)."""
    from karte.web.display import size_text

    limit = size_text(files().limit(entity.name, f.name))
    accept, many = list(f.accept or ()), f.multiple
    size = _("up to %(size)s each", size=limit) if many else _("up to %(size)s", size=limit)
    if not accept:
        return _("Any type, %(size)s.", size=size)
    names = dict.fromkeys(_type_name(a) for a in accept)     # Word once, not per format
    return _("Accepts %(types)s, %(size)s.", types=", ".join(names), size=size)


def upload(entity: Entity, f: Field, record: Mapping[str, Any] | None, raw: Any) -> Upload:
    state = raw if isinstance(raw, Posted) else Posted()
    return Upload(list((record or {}).get(f.name) or ()), state.removed, state.pending,
                  ",".join(f.accept or ()), hint(entity, f), f.multiple)
