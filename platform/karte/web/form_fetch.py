"""Fetched values on forms (SPEC §3.6): picking a link fills the fields that fetch through
it, never over a value the person typed in this edit.

The form carries, as hidden `_fetched.<name>` inputs, the link each group of fetched fields
was last filled for and the text last filled into each field. A field still showing that
text (or empty) is untouched; a field showing anything else was typed and is kept. The live
form (`forms.live`, on the link's change or the no-script "Update form" button) fills the
untouched fields with the new target's values (and shows the read_only ones the save will
copy); saving leaves them empty for the records service to copy, so a browser without
JavaScript gets the same values on save.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from karte.fields import record_id
from karte.meta.model import Entity, Field
from karte.store.records.fetch import fetched_fields, fetched_values
from karte.web import actor, records
from karte.web.form_values import Parsed, as_text

__all__ = ["MARK", "Fetching", "fetched_fields", "fetched_values", "links"]

MARK = "_fetched."
"""Prefix of the hidden inputs remembering what was last fetched (`_` names are the
engine's: never a field)."""


def links(entity: Entity, inputs: set[str]) -> dict[str, list[Field]]:
    """Link inputs of the form that fields fetch through, each with those fields that are
    inputs too (a read_only fetched field is shown, never sent)."""
    return {link: [f for f in fields if f.name in inputs]
            for link, fields in fetched_fields(entity).items() if link in inputs}


def _id_text(value: Any) -> str:
    number = record_id(value)
    return "" if number is None else str(number)


class Fetching:
    """The fetch state of one posted form: what it remembers and what it now shows."""

    def __init__(self, entity: Entity, inputs: set[str], base: Mapping[str, Any],
                 form: Mapping[str, str], zone: ZoneInfo):
        self.entity, self.links, self.zone = entity, links(entity, inputs), zone
        self.following = {link: [f for f in fields if f.read_only]
                          for link, fields in fetched_fields(entity).items()
                          if link in self.links}
        self.base, self.form = base, form
        self.marks: dict[str, str] = {}

    def remembered(self, name: str) -> str:
        """What the form last showed for `name` as fetched (the stored text at first)."""
        if MARK + name in self.form:
            return self.form[MARK + name].strip()
        field = self.entity.fields[name]
        if field.type == "link":
            return _id_text(self.base.get(name))
        return str(as_text(field, self.base.get(name), self.zone)).strip()

    def _changed(self, link: str, parsed: Parsed) -> bool:
        return link in parsed.values and (_id_text(parsed.values[link])
                                          != self.remembered(link))

    def _untouched(self, field: Field, parsed: Parsed) -> bool:
        typed = str(parsed.raw.get(field.name) or "").strip()
        return not typed or typed == self.remembered(field.name)

    def fill(self, parsed: Parsed) -> None:
        """The live form: untouched fields get the new target's values now."""
        for link, fields in self.links.items():
            if not self._changed(link, parsed):
                continue
            target = record_id(parsed.values[link])
            fetched = {} if target is None else fetched_values(
                records().store, self.entity, link, target, actor())
            for field in fields:
                if self._untouched(field, parsed) and field.name in fetched:
                    text = str(as_text(field, fetched[field.name], self.zone))
                    parsed.raw[field.name] = text
                    parsed.values[field.name] = text or None
                    self.marks[field.name] = text
            for field in self.following.get(link, ()):
                parsed.values[field.name] = fetched.get(field.name)   # shown, not sent
            self.marks[link] = _id_text(target)

    def leave_to_service(self, parsed: Parsed) -> None:
        """Saving: untouched fields of a changed link are sent empty, so the records
        service copies them from the linked record."""
        for link, fields in self.links.items():
            if self._changed(link, parsed):
                for field in fields:
                    if self._untouched(field, parsed):
                        parsed.values[field.name] = None

    def hidden(self) -> list[tuple[str, str]]:
        """The `_fetched.<name>` inputs the form carries on."""
        names = [n for link, fields in self.links.items() for n in (link, *(f.name for f in
                                                                           fields))]
        return [(MARK + n, self.marks.get(n, self.remembered(n))) for n in names]
