"""A board is read from one snapshot: its numbers and its cards belong to the same moment,
even when a record is created or moved while the board is being read (both databases)."""

from __future__ import annotations

from karte.store import Records
from karte.store.migrate import migrate
from karte.workflow import Workflows
from karte.workflow import board as kanban

ITEM = {"name": "item", "fields": {"title": {"type": "string"}, "amount": {"type": "money"}}}
FLOW = {"name": "flow", "entity": "item", "field": "stage",
        "stages": [{"key": "new"}, {"key": "doing"}, {"key": "done", "final": "won"}]}


def test_a_write_while_the_board_is_read_is_not_half_seen(engine, make_pack, monkeypatch):
    pack = make_pack({"item": ITEM}, {"flow": FLOW})
    migrate(engine, pack)
    flows = Workflows(Records(engine, pack))
    first = flows.records.create("item", {"title": "first", "amount": "5"})
    counts = kanban.counts

    def counts_then_a_write(*args, **kwargs):
        found = counts(*args, **kwargs)
        # another user, in another transaction, between the numbers and the cards
        flows.records.create("item", {"title": "meanwhile", "amount": "7"})
        flows.move("item", first["id"], "doing")
        return found

    monkeypatch.setattr(kanban, "counts", counts_then_a_write)
    columns = {c.stage.key: c for c in flows.board("flow")}
    assert [c["title"] for c in columns["new"].cards] == ["first"]
    assert columns["new"].count == 1 and columns["doing"].count == 0
    assert columns["doing"].cards == []
    monkeypatch.setattr(kanban, "counts", counts)
    after = {c.stage.key: c for c in flows.board("flow")}      # the next read sees both
    assert [c["title"] for c in after["new"].cards] == ["meanwhile"]
    assert [c["title"] for c in after["doing"].cards] == ["first"]
    column = flows.column("flow", "doing")
    assert column.count == 1 and [c["title"] for c in column.cards] == ["first"]
