"""The main menu (SPEC §1 `nav`, docs/pack-format.md "The menu"): the pack's groups of
entities, boards and dashboards, each item shown only when the user may read or open it, a
group left empty not shown; without `nav`, one group without heading: every readable
entity, then every board, then every dashboard the role may open. Entities a declared menu
does not name stay reachable by URL and search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request, url_for

from karte.meta.dashboards import Dashboard
from karte.meta.model import Entity, Pack, Workflow


@dataclass(frozen=True)
class NavItem:
    label: Any          # a definition Text (shown with `text()`)
    url: str
    current: bool
    board: bool
    dashboard: bool = False


@dataclass(frozen=True)
class NavGroup:
    label: Any          # a definition Text, or None: no heading (the menu without `nav`)
    items: tuple[NavItem, ...]


def _entity_item(entity: Entity) -> NavItem:
    args = request.view_args or {}
    return NavItem(entity.plural, url_for("lists.index", entity=entity.name),
                   args.get("entity") == entity.name, False)


def _board_item(workflow: Workflow) -> NavItem:
    args = request.view_args or {}
    return NavItem(workflow.label, url_for("boards.show", workflow=workflow.name),
                   args.get("workflow") == workflow.name, True)


def _dashboard_item(dashboard: Dashboard) -> NavItem:
    args = request.view_args or {}
    current = request.blueprint == "dashboards" and args.get("name") == dashboard.name
    return NavItem(dashboard.label, url_for("dashboards.show", name=dashboard.name),
                   current, False, True)


def menu(pack: Pack, readable: Sequence[Entity], boards: Sequence[Workflow],
         dashboards: Sequence[Dashboard] = ()) -> list[NavGroup]:
    """The menu's groups for this user, empty groups left out."""
    entities = {e.name: e for e in readable}
    flows = {w.name: w for w in boards}
    shown = {d.name: d for d in dashboards}
    declared = pack.nav
    if declared is None:
        items = [*map(_entity_item, readable), *map(_board_item, boards),
                 *map(_dashboard_item, dashboards)]
        return [NavGroup(None, tuple(items))] if items else []
    groups: list[NavGroup] = []
    for group in declared:
        items = []
        for name in group.items:
            kind, _, target = name.partition(":")
            if not target and name in entities:
                items.append(_entity_item(entities[name]))
            elif kind == "board" and target in flows:
                items.append(_board_item(flows[target]))
            elif kind == "dashboard" and target in shown:
                items.append(_dashboard_item(shown[target]))
            # else not readable, or not the role's
        if items:
            groups.append(NavGroup(group.label, tuple(items)))
    return groups
