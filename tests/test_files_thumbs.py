"""Thumbnails: WebP, 256 px on the long side, upright by EXIF, transparency kept, made once
and then read from the storage; none for what is no raster image."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from karte.files.thumbs import thumbnail
from tests import files_s3
from tests.test_files_checks import png_header

s3_bucket = files_s3.s3_bucket  # the fixtures: a moto S3 server and a prefix per test
s3_storage = files_s3.s3_storage


storage = files_s3.either_storage  # each test on a folder and on S3


def stored(storage, image: Image.Image, kind: str, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    buffer.seek(0)
    return storage.put(buffer).sha256


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_wide_png_becomes_a_256_px_webp(storage):
    sha = stored(storage, Image.new("RGB", (1000, 500), "navy"), "PNG")
    thumb = opened(thumbnail(storage, sha, "image/png"))
    assert thumb.format == "WEBP"
    assert thumb.size == (256, 128)
    assert thumb.mode == "RGB"


def test_a_phone_photo_is_turned_upright_by_its_exif(storage):
    photo = Image.new("RGB", (400, 200), "white")
    photo.paste((255, 0, 0), (0, 0, 40, 40))  # red in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; show it rotated 90° clockwise
    sha = stored(storage, photo, "JPEG", exif=exif, quality=95)
    thumb = opened(thumbnail(storage, sha, "image/jpeg"))
    assert thumb.size == (128, 256)
    red, green, blue = thumb.convert("RGB").getpixel((thumb.width - 5, 5))
    assert red > 200 and green < 80 and blue < 80  # the corner went to the top right


@pytest.mark.parametrize(("kind", "mode"), [("PNG", "RGBA"), ("WEBP", "RGB"), ("JPEG", "L"),
                                           ("JPEG", "CMYK")])
def test_exif_orientation_in_other_formats_and_modes(storage, kind, mode):
    photo = Image.new("RGB", (400, 200), "white")
    photo.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    sha = stored(storage, photo.convert(mode), kind, exif=exif)
    thumb = opened(thumbnail(storage, sha, f"image/{kind.lower()}"))
    assert thumb.size == (128, 256)
    rgb = thumb.convert("RGB")
    assert sum(rgb.getpixel((thumb.width - 5, 5))) < 600  # the dark corner went top right
    assert sum(rgb.getpixel((5, 5))) > 700 and sum(rgb.getpixel((5, thumb.height - 5))) > 700


def test_transparency_is_kept(storage):
    picture = Image.new("RGBA", (600, 600), (0, 128, 0, 255))
    picture.paste((0, 0, 0, 0), (0, 0, 300, 600))  # the left half is see-through
    sha = stored(storage, picture, "PNG")
    thumb = opened(thumbnail(storage, sha, "image/png"))
    assert thumb.mode == "RGBA" and thumb.size == (256, 256)
    assert thumb.getpixel((10, 128))[3] == 0
    assert thumb.getpixel((240, 128))[3] == 255


def test_a_gif_with_a_transparent_colour_keeps_it(storage):
    picture = Image.new("P", (300, 100), 1)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    picture.paste(0, (0, 0, 100, 100))
    sha = stored(storage, picture, "GIF", transparency=0)
    thumb = opened(thumbnail(storage, sha, "image/gif"))
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((5, 5))[3] == 0 and thumb.getpixel((250, 40))[3] == 255


def test_a_small_image_is_not_enlarged(storage):
    sha = stored(storage, Image.new("RGB", (100, 40), "teal"), "WEBP")
    assert opened(thumbnail(storage, sha, "image/webp")).size == (100, 40)


def test_other_sizes(storage):
    sha = stored(storage, Image.new("RGB", (300, 900), "olive"), "PNG")
    assert opened(thumbnail(storage, sha, "image/png", size=64)).size == (21, 64)


def test_made_once_then_read_from_the_storage(storage):
    sha = stored(storage, Image.new("RGB", (800, 800), "orange"), "PNG")
    first = thumbnail(storage, sha, "image/png")
    assert storage.get_extra(f"thumbs/{sha}-256.webp") == first
    storage.delete(sha)  # the original is gone: only the cache can answer now
    assert thumbnail(storage, sha, "image/png") == first


@pytest.mark.parametrize("mime", ["application/pdf", "image/svg+xml", "text/html",
                                  "application/octet-stream"])
def test_no_thumbnail_for_what_is_no_raster_image(storage, mime):
    sha = stored(storage, Image.new("RGB", (50, 50)), "PNG")
    assert thumbnail(storage, sha, mime) is None
    assert storage.get_extra(f"thumbs/{sha}-256.webp") is None


def test_no_thumbnail_for_a_missing_or_broken_file(storage):
    assert thumbnail(storage, "0" * 64, "image/png") is None
    broken = storage.put(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)).sha256
    assert thumbnail(storage, broken, "image/png") is None


def test_an_image_bomb_already_stored_is_never_decoded(storage):
    sha = storage.put(io.BytesIO(png_header(100_000, 100_000))).sha256
    assert thumbnail(storage, sha, "image/png") is None
