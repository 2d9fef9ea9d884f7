"""Files for demo records: a few small PDFs and pictures, made in code, stored once.

A demo with documents but no files would show empty cards and a `required` file field
could not be filled at all. The blobs are drawn here (a minimal valid PDF written by
hand, PNG and JPEG pictures drawn with Pillow) so the repository holds no binary file,
and there are only a handful: each is received once per field through the files service
(checked, sniffed and stored like any upload, and stored once, as storage is content
addressed), and every demo record gets a fresh reference to one of them.
"""

from __future__ import annotations

import io
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from PIL import Image, ImageDraw

from karte.files.checks import FileRefused
from karte.meta.model import Entity, Field

Receive = Callable[[str, str, BinaryIO, str], dict[str, Any]]   # entity, field, bytes, name

PDF_TITLES = ("Contract", "Quote", "Invoice", "Delivery note")
COLOURS = ("#2563eb", "#16a34a", "#d97706", "#7c3aed")


def pdf(title: str, lines: Sequence[str] = ()) -> bytes:
    """A one-page PDF showing `title` and `lines` in Helvetica: the smallest file every
    PDF reader opens, with a correct cross-reference table (byte offsets of each object)."""
    text = [f"BT /F1 20 Tf 72 760 Td ({_pdf_text(title)}) Tj ET"]
    text += [f"BT /F1 11 Tf 72 {730 - 16 * n} Td ({_pdf_text(line)}) Tj ET"
             for n, line in enumerate(lines)]
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def _pdf_text(text: str) -> str:
    """ASCII text as a PDF string literal's content (Helvetica has no Japanese)."""
    plain = text.encode("ascii", "replace").decode("ascii")
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def picture(seed: int, kind: str = "PNG", size: tuple[int, int] = (640, 480)) -> bytes:
    """A small picture, a different one per seed: a sky, a ground and a few blocks, like a
    photo of a site or a delivery, saved as PNG or JPEG."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, "#dbeafe")
    draw = ImageDraw.Draw(image)
    width, height = size
    ground = height * 2 // 3
    draw.rectangle((0, ground, width, height), fill="#a3a3a3")
    for _ in range(4):
        w, h = rng.randint(1, max(1, width // 4)), rng.randint(1, max(1, ground * 2 // 3))
        x = rng.randrange(max(1, width - w))
        draw.rectangle((x, ground - h, x + w, ground), fill=rng.choice(COLOURS),
                       outline="#1e293b")
    sun = max(2, min(width, height) // 7)
    draw.ellipse((width - 2 * sun, sun // 2, width - sun, sun // 2 + sun), fill="#facc15")
    buffer = io.BytesIO()
    image.save(buffer, kind, **({"quality": 80} if kind == "JPEG" else {}))
    return buffer.getvalue()


def blobs() -> list[tuple[str, bytes]]:
    """The demo's files: (file name, bytes)."""
    made = [(f"{title}.pdf", pdf(title, (f"Demo {title.lower()} made by karte demo.",
                                         "Not a real document.")))
            for title in PDF_TITLES]
    made += [("site-photo.jpg", picture(1, "JPEG")), ("delivery-photo.jpg", picture(2, "JPEG")),
             ("floor-plan.png", picture(3, "PNG"))]
    return made


@dataclass
class DemoFiles:
    """References to the demo's stored files, per file field, handed out fresh each time."""

    receive: Receive
    rng: random.Random
    users: Sequence[int]

    def __post_init__(self) -> None:
        self._stored: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._blobs = blobs()

    def refs(self, entity: Entity, f: Field) -> list[dict[str, Any]]:
        """One file for a single field, one to three for a `multiple` one; [] when none
        of the demo's files fits the field's `accept` and size."""
        stored = self._stored_for(entity, f)
        if not stored:
            return []
        count = self.rng.randint(1, 3) if f.multiple else 1
        return [self._fresh(self.rng.choice(stored)) for _ in range(count)]

    def _stored_for(self, entity: Entity, f: Field) -> list[dict[str, Any]]:
        key = (entity.name, f.name)
        if key not in self._stored:
            self._stored[key] = [ref for name, data in self._blobs
                                 if (ref := self._receive(entity, f, name, data)) is not None]
        return self._stored[key]

    def _receive(self, entity: Entity, f: Field, name: str, data: bytes) -> dict | None:
        try:
            return self.receive(entity.name, f.name, io.BytesIO(data), name)
        except FileRefused:          # a field too small, or a type its accept leaves out
            return None

    def _fresh(self, ref: dict[str, Any]) -> dict[str, Any]:
        """The same stored bytes under a reference of its own, as a second upload gets."""
        return {**ref, "id": "f_" + secrets.token_urlsafe(16),
                "uploaded_by": self.rng.choice(self.users) if self.users else None}

