"""What an upload must pass, judged from its content: type, accept, size, name, image size.

The type comes from libmagic (python-magic), which reads the bytes themselves: a renamed
`.exe` is `application/x-dosexec` whatever its name says, and a client's Content-Type is
never asked. It was chosen over the pure-Python sniffers because it alone tells plain text,
CSV, HTML and SVG apart and names office documents by their real type (docs/files.md).

Every refusal is a `FileRefused` with a code (what the API answers) and an English message
template with `%(name)s` parameters, which the web and the API translate with gettext
before filling in.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import magic
from PIL import Image

HEAD = 64 * 1024  # bytes `sniff` wants: office documents name their kind in the first entries
MAX_PIXELS = 50_000_000  # an image larger than this is refused before it is decoded
MAX_NAME = 200  # characters of a file name kept for display and download

PREVIEWABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp",
                         "application/pdf"})
RASTER = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _(message: str) -> str:
    """Marks a message for the catalogue (pybabel extracts `_()`); translated by the caller."""
    return message


class FileRefused(Exception):
    """An upload Karte will not keep. `message` is an English template (translate it, then
    fill in `params`); `str()` is the filled-in English sentence."""

    def __init__(self, code: str, message: str, **params: Any):
        self.code = code
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


def too_large(limit: int) -> FileRefused:
    return FileRefused("size", _("This file is larger than %(size)s, the most this field "
                                 "takes. Upload a smaller file."), size=megabytes(limit))


def megabytes(size: int) -> str:
    """A byte limit as people read it: "10 MB", "0.5 MB"."""
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if value >= 1 and value == int(value) else f"{value:.1f} MB"


# -- type ----------------------------------------------------------------------------------

# an SVG root element after an optional BOM, XML prolog, comments and doctype
SVG_ROOT = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*"
                      rb"(?:<\?xml[^>]*>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]",
                      re.S | re.I)
RENAMED = {"image/svg": "image/svg+xml", "application/x-empty": "application/octet-stream",
           "inode/x-empty": "application/octet-stream"}


def sniff(head: bytes) -> str:
    """The MIME type of a file from its first bytes (give at least `HEAD` of them);
    "application/octet-stream" when unknown."""
    mime = magic.from_buffer(head, mime=True) or "application/octet-stream"
    mime = RENAMED.get(mime, mime)
    if mime in ("text/xml", "application/xml", "text/plain") and SVG_ROOT.match(head):
        return "image/svg+xml"  # an SVG whose root libmagic did not look for
    return mime


# An old Office file (.doc, .xls) is an OLE container whose directory, which names what it
# holds, may lie anywhere in the file: from the head alone it is only a container.
CONTAINERS = frozenset({"application/x-ole-storage", "application/CDFV2",
                        "application/CDFV2-corrupt"})
WHOLE = 8 * 1024 * 1024  # the most read into memory to look at a container without a file


def sniff_stream(source: IO[bytes]) -> str:
    """The type of a seekable stream's content from where it stands (put back after): as
    `sniff`, but a container is looked at whole — through its file when it has one (libmagic
    reads what it needs), else its first 8 MiB — so a large .xls is a spreadsheet."""
    start = source.tell()
    try:
        mime = sniff(source.read(HEAD))
        if mime in CONTAINERS:
            source.seek(start)
            mime = _whole(source, start)
        return mime
    finally:
        source.seek(start)


def _whole(source: IO[bytes], start: int) -> str:
    descriptor = _descriptor(source) if start == 0 else None
    if descriptor is None:
        return sniff(source.read(WHOLE))
    os.lseek(descriptor, 0, os.SEEK_SET)
    mime = magic.from_descriptor(descriptor, mime=True) or "application/octet-stream"
    return RENAMED.get(mime, mime)


def _descriptor(source: IO[bytes]) -> int | None:
    """The stream's file descriptor, when it is a real file (an upload spooled to disk)."""
    try:
        source.flush()
        return source.fileno()
    except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is an OSError
        return None


def accepts(accept: Sequence[str] | None, mime: str) -> bool:
    """Whether a sniffed type is one a field takes: exact types, "image/*", "*/*"; None
    takes every type. A CSV file is often plain text to a sniffer, so "text/csv" takes
    text/plain too."""
    if accept is None:
        return True
    mime = mime.partition(";")[0].strip().lower()
    for pattern in (a.partition(";")[0].strip().lower() for a in accept):
        if pattern in ("*/*", mime) or (pattern.endswith("/*")
                                        and mime.startswith(pattern[:-1])):
            return True
        if pattern == "text/csv" and mime == "text/plain":
            return True
    return False


# -- names -----------------------------------------------------------------------------------


def safe_name(name: str) -> str:
    """A file name fit to show and to send back: its last path part (after / or \\), no
    control or invisible formatting characters (a right-to-left override can disguise
    "exe.pdf"), NFC, no leading or trailing dots and spaces, at most 200 characters with
    its extension kept; "file" when nothing is left."""
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = name.strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            name = stem[:MAX_NAME - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_NAME].rstrip(" .")
    return name or "file"


# -- images ----------------------------------------------------------------------------------


def check_image(source: bytes | Path | IO[bytes]) -> None:
    """Refuse an image of more than 50 megapixels from its header alone, before anything
    is decoded (an "image bomb": a small file that expands to gigabytes in memory). Give
    the whole file, as a path or a seekable stream (Pillow reads only what the header
    needs; a stream is put back where it was), or its bytes. Only for raster types
    (`RASTER`): a file Pillow cannot read is refused as a broken image."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    position = None if isinstance(stream, Path) else stream.tell()
    try:
        width, height = _dimensions(stream)
    finally:
        if position is not None and not isinstance(stream, Path):
            stream.seek(position)
    if width * height > MAX_PIXELS:
        raise _bomb()


def _dimensions(source: Path | IO[bytes]) -> tuple[int, int]:
    """Width and height from the header; Pillow's own bomb alarms count as refusals."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                return image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb() from None
    except (OSError, SyntaxError, ValueError) as error:
        raise FileRefused("image", _("This image cannot be read (%(reason)s). Save it again "
                                     "as PNG, JPEG, GIF or WebP and upload that."),
                          reason=str(error) or type(error).__name__) from None


def _bomb() -> FileRefused:
    return FileRefused("image", _("This image has more than %(limit)s megapixels, too many to "
                                  "open safely. Make it smaller and upload it again."),
                       limit=MAX_PIXELS // 1_000_000)
