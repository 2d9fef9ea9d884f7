"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("boards", __name__)


@blueprint.get("/board/<workflow>")
def show(**kwargs):
    return "boards"
