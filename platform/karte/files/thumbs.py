"""Thumbnails of raster images: WebP, at most 256 px on the long side, made once per stored
file and kept in the storage beside it (`thumbs/<sha256>-<size>.webp`), so a list of fifty
photos costs fifty small reads, not fifty decodes.

The picture is turned as its EXIF orientation says (a phone's portrait photo stays upright)
and keeps its transparency. A file that is no raster image, or that cannot be decoded, has
no thumbnail: the page shows its type instead.
"""

from __future__ import annotations

import io
import logging
import tempfile
import warnings
from typing import IO

from PIL import Image, ImageOps

from karte.files.checks import RASTER, FileRefused, check_image
from karte.files.storage import Storage

log = logging.getLogger(__name__)
QUALITY = 80  # WebP quality: small files, no visible blocks at 256 px
RESIZABLE = frozenset({"RGB", "RGBA", "L", "LA", "CMYK"})  # Pillow shrinks these smoothly


SIZE = 256  # pixels on the long side


def cache_key(sha256: str, size: int = SIZE) -> str:
    """Where a file's thumbnail is kept among the storage's extras."""
    return f"thumbs/{sha256}-{size}.webp"


def thumbnail(storage: Storage, sha256: str, mime: str, size: int = SIZE) -> bytes | None:
    """The cached thumbnail, made now if it was never made; None for a type we do not
    thumbnail, a missing file, or one that cannot be decoded."""
    if mime not in RASTER:
        return None
    key = cache_key(sha256, size)
    cached = storage.get_extra(key)
    if cached is not None:
        return cached
    made = _make(storage, sha256, size)
    if made is not None:
        storage.put_extra(key, made)
    return made


def _make(storage: Storage, sha256: str, size: int) -> bytes | None:
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as original:
        try:
            for chunk in storage.read(sha256):
                original.write(chunk)
        except KeyError:
            return None
        original.seek(0)
        try:
            check_image(original)  # a bomb stored before today's limit is still not decoded
            return _shrunk(original, size)
        except (FileRefused, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
                Image.DecompressionBombWarning) as error:
            log.warning("no thumbnail for %s: %s", sha256, error)
            return None


def _shrunk(original: IO[bytes], size: int) -> bytes:
    """Shrink first, then turn and convert the small picture: the full-size image is
    decoded once and never copied (a 24-megapixel photo costs one decode, not three)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(original) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a fraction of full size
            transparent = _transparent(image)
            picture = image if image.mode in RESIZABLE else image.convert(
                "RGBA" if transparent else "RGB")  # palettes would shrink by dropping pixels
            picture.thumbnail((size, size), Image.Resampling.LANCZOS)
            picture = ImageOps.exif_transpose(picture)
            picture = picture.convert("RGBA" if transparent else "RGB")
            out = io.BytesIO()
            picture.save(out, "WEBP", quality=QUALITY, method=4)
            return out.getvalue()


def _transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
