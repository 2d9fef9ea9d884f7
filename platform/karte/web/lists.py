"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("lists", __name__)


@blueprint.get("/<entity>/")
def index(**kwargs):
    return "lists"
