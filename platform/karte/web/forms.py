"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("forms", __name__)


@blueprint.get("/<entity>/new")
def new(**kwargs):
    return "forms"
