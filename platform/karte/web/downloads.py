"""A stored file as an HTTP response: the headers that make a download safe, and ranges.

An uploaded file is someone else's bytes. Whatever it is, the browser must never run it as
part of Karte: every file response says `nosniff` (the browser keeps the type we send, the
type sniffed from the content at upload), carries its own Content-Security-Policy with
`sandbox` (a document opened from it has a unique origin: no cookies, no scripts, no
forms), and is an `attachment` unless its type is one a browser only *shows* (raster
images, PDF: `karte.files.checks.PREVIEWABLE`). HTML and SVG are therefore always saved,
never rendered, even when opened directly.

The body streams from storage in chunks (`Files.open`), never read whole; the sha256 is the
ETag (the content cannot change under the same reference), and a single byte range is
answered with 206 so large files resume and PDFs page in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from flask import Request, Response

from karte.files.checks import PREVIEWABLE

FILE_CSP = "default-src 'none'; sandbox"
"""Nothing may load, nothing may run: an image or PDF still shows (the browser draws
those itself), anything else is inert. The app's own CSP hook keeps this one
(karte.web.security sets its headers only where a response has none)."""
ASCII_SAFE = frozenset(" !#$%&'()*+,-.0123456789;=@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                       "abcdefghijklmnopqrstuvwxyz{}~")
"""Characters the plain `filename="..."` keeps: printable ASCII without the quote and
backslash a quoted-string would have to escape (older clients read them wrongly)."""

Opener = Callable[[int, int | None], Iterator[bytes]]


def disposition(name: str, inline: bool) -> str:
    """`inline` or `attachment` with the name twice (RFC 6266): a plain ASCII fallback for
    old clients, and the exact name in UTF-8 as `filename*` (契約書.pdf stays 契約書.pdf)."""
    plain = unicodedata.normalize("NFKD", name)
    fallback = "".join(c if c in ASCII_SAFE else "_" for c in plain
                       if not unicodedata.combining(c)).strip() or "file"
    exact = quote(name, safe="!#$&+-.^_`|~")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def previewed(mime: str, asked_download: bool) -> bool:
    """Whether the browser may show the file in place: a type it only draws, unasked to
    save it. Never HTML, SVG or anything else that could carry a script."""
    return mime in PREVIEWABLE and not asked_download


def _etag(sha256: str) -> str:
    return f'"{sha256}"'


def _safe_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _not_modified(request: Request, sha256: str) -> bool:
    # If-None-Match compares weakly (RFC 9110): W/"<sha256>" from a proxy counts too
    return request.if_none_match.contains_weak(sha256) or request.if_none_match.star_tag


def _wanted_range(request: Request, sha256: str, size: int) -> tuple[int, int] | None | bool:
    """(start, stop) of a single satisfiable range; None to send the whole file (no Range,
    several ranges, or an If-Range for other content); False when unsatisfiable (416)."""
    asked = request.range
    if asked is None or asked.units != "bytes" or len(asked.ranges) != 1:
        return None
    if_range = request.if_range
    if if_range.etag is not None and if_range.etag != sha256 or if_range.date is not None:
        return None
    found = asked.range_for_length(size)
    return found if found is not None else False


def file_response(request: Request, ref: Mapping[str, Any], opener: Opener) -> Response:
    """The response for a download of `ref` (a file reference): 304 when the browser has
    it, 206 for one range, 416 for a range outside the file, else 200 with the bytes."""
    sha256, size, mime = ref["sha256"], int(ref["size"]), str(ref["type"])
    if _not_modified(request, sha256):
        response = Response(status=304)
        response.headers["ETag"] = _etag(sha256)
        return _safe_headers(response)
    wanted = _wanted_range(request, sha256, size)
    if wanted is False:
        response = Response(status=416)
        response.headers["Content-Range"] = f"bytes */{size}"
        return _safe_headers(response)
    start, stop = wanted if isinstance(wanted, tuple) else (0, size)
    response = Response(opener(start, stop), status=206 if isinstance(wanted, tuple) else 200)
    response.headers["Content-Type"] = mime
    response.headers["Content-Length"] = str(stop - start)
    if isinstance(wanted, tuple):
        response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = _etag(sha256)
    response.headers["Content-Disposition"] = disposition(
        str(ref["name"]), previewed(mime, request.args.get("download") == "1"))
    return _safe_headers(response)


def thumbnail_response(request: Request, ref: Mapping[str, Any], webp: bytes) -> Response:
    """A thumbnail: cached by the browser for a day (the file behind an id never changes),
    revalidated by its ETag after that."""
    tag = f"{ref['sha256']}-thumb"
    if request.if_none_match.contains_weak(tag):
        response = Response(status=304)
    else:
        response = Response(webp, mimetype="image/webp")
        response.headers["Content-Disposition"] = disposition(f"{ref['name']}.webp", True)
    response.headers["ETag"] = _etag(tag)
    _safe_headers(response)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
