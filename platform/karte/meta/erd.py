"""The pack's entity-relationship diagram as Mermaid text (`karte erd`, /schema)."""

from __future__ import annotations

from karte.meta.model import Entity, Field, Pack


def _attribute(field: Field) -> str:
    if field.type == "link":
        return f"        {field.to} {field.name} FK"
    marker = " UK" if field.unique else ""
    return f"        {field.type} {field.name}{marker}"


def _relation(entity: Entity, field: Field) -> str | None:
    if field.type == "link":
        return f'    {field.to} ||--o{{ {entity.name} : "{field.name}"'
    if field.type == "links":
        return f'    {entity.name} }}o--o{{ {field.to} : "{field.name}"'
    return None


def mermaid(pack: Pack) -> str:
    """`erDiagram` text: one block per entity, one edge per link / links field."""
    lines = ["erDiagram"]
    for entity in pack.entities.values():
        lines.append(f"    {entity.name} {{")
        lines += [_attribute(f) for f in entity.fields.values()
                  if f.type not in ("links", "lines")]   # lines: the part's parent link
        lines.append("    }")
    for entity in pack.entities.values():
        lines += [r for f in entity.fields.values() if (r := _relation(entity, f))]
    return "\n".join(lines) + "\n"
