"""Meaning checks of a file field's `accept` and `max_mb` (SPEC §13).

`accept` is compared with the type sniffed from each upload's content, so a misspelt type
("application/pfd") would refuse every file without anyone noticing: it is reported with
the nearest common type. `max_mb` above the instance's upload limit cannot be honoured —
the instance's limit wins — which `karte check` says as a warning (the pack still runs, a
smaller limit of one instance must not stop it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from karte.problems import Problem, closest, show

if TYPE_CHECKING:
    from karte.meta.validate.fields import FieldSite

FILE_WARNINGS = frozenset({"DEF119"})

TOP_TYPES = ("application", "audio", "font", "image", "model", "text", "video")
# Types people attach to CRM records; a well-formed type close to one of these but not it
# is a typo. A type far from all of them (a vendor's own) is taken as written.
COMMON_TYPES = (
    "application/pdf", "application/zip", "application/gzip", "application/json",
    "application/xml", "application/rtf", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/octet-stream",
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/tiff",
    "image/bmp", "image/svg+xml",
    "text/plain", "text/csv", "text/html", "text/calendar",
    "audio/mpeg", "audio/wav", "audio/ogg", "video/mp4", "video/quicktime", "video/webm",
    *(f"{top}/*" for top in TOP_TYPES),
)
TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]*"
MIME = re.compile(rf"({TOKEN})/({TOKEN}|\*)")


def _mime_problem(value: object) -> str | None:
    """Why `value` is not a MIME type an upload can match, or None when it is one."""
    if not isinstance(value, str) or not MIME.fullmatch(value):
        near = _nearest(str(value).strip().lower())
        return (f"{show(value)} is not a MIME type{_hint(near)}; write type/subtype in lower "
                'case, e.g. "application/pdf", or "image/*" for every image')
    top, _, sub = value.partition("/")
    if top not in TOP_TYPES:
        return (f'"{value}" is not a MIME type{_hint(closest(value, COMMON_TYPES))}: types '
                f"start with {', '.join(TOP_TYPES)}")
    if value in COMMON_TYPES or sub == "*":
        return None
    kin = [t.partition("/")[2] for t in COMMON_TYPES if t.startswith(f"{top}/")]
    near = closest(sub, [k for k in kin if k != "*"])
    if near:
        return (f'"{value}" is not a known type{_hint(f"{top}/{near}")}; an upload is '
                "matched by the type detected from its content, so no file would match it")
    return None


def _nearest(text: str) -> str | None:
    """The common type `text` was meant to be: by the whole type, else by its subtype
    alone ("pdf" → "application/pdf")."""
    by_sub = {t.partition("/")[2]: t for t in reversed(COMMON_TYPES) if not t.endswith("*")}
    near = closest(text, COMMON_TYPES)
    sub = closest(text.rpartition("/")[2], by_sub)
    return near or (by_sub[sub] if sub else None)


def _hint(near: str | None) -> str:
    return f' (did you mean "{near}"?)' if near else ""


def check_accept(site: FieldSite) -> Iterator[Problem]:
    accept = site.raw.get("accept")
    if site.field.type != "file" or not isinstance(accept, list):
        return
    for index, value in enumerate(accept):
        if reason := _mime_problem(value):
            yield site.at("DEF118", reason, "accept", index)


def check_max_mb(site: FieldSite) -> Iterator[Problem]:
    limit = site.ctx.max_upload_mb
    size = site.raw.get("max_mb")
    if site.field.type != "file" or limit is None or isinstance(size, bool) \
            or not isinstance(size, int | float) or size <= limit:
        return
    yield site.at("DEF119", f"max_mb {show(size)} is above this instance's upload limit, "
                  f"KARTE_MAX_UPLOAD_MB={limit}: files stop at {limit} MB; lower max_mb "
                  "or raise KARTE_MAX_UPLOAD_MB", "max_mb")
