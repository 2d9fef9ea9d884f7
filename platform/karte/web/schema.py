"""The schema browser: entities, fields, relations and workflows of the running pack."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from karte.meta.erd import mermaid
from karte.store.db import answers
from karte.web import registry
from karte.web.errors import RETRY_AFTER
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
    """200 only while the database answers; 503 (with Retry-After) for a load balancer
    to take this server out of rotation until it does."""
    if not answers(current_app.extensions["karte"]["engine"]):
        return ({"status": "unavailable", "pack": registry().name}, 503,
                {"Retry-After": str(RETRY_AFTER)})
    return {"status": "ok", "pack": registry().name}
