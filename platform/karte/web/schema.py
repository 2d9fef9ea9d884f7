"""The schema browser: entities, fields, relations and workflows of the running pack."""

from __future__ import annotations

from flask import Blueprint, render_template

from karte.meta.erd import mermaid
from karte.web import registry
from karte.web.security import allow_inline_styles

blueprint = Blueprint("schema", __name__)


@blueprint.get("/schema")
def browse():
    pack = registry()
    allow_inline_styles()
    return render_template("schema.html", erd=mermaid(pack),
                           entities=list(pack.entities.values()),
                           workflows=list(pack.workflows.values()))


@blueprint.get("/healthz")
def health():
    return {"status": "ok", "pack": registry().name}
