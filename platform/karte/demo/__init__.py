"""Realistic demo records for any pack (`karte demo`), in English and Japanese.

Nothing here knows an entity by name: values come from each field's type, its limits and
a few hints in its name (`values`); links agree with each other (`links`); records sit in
their pipelines' stages with what those stages require and what their `on_enter` actions
did (`stages`), and meet the stages' rules (`satisfy`, `drafts`). All writes go through
the records service (`runner`). A pack `karte check` accepts never makes the demo raise:
a record that cannot be made is reported with its entity, field and reason.
"""

from karte.demo.runner import fill, has_records, link_order, login_line, shares

__all__ = ["fill", "has_records", "link_order", "login_line", "shares"]
