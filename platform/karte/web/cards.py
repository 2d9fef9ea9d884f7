"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("cards", __name__)


@blueprint.get("/<entity>/<int:id>")
def show(**kwargs):
    return "cards"
