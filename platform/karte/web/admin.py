"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("admin", __name__)


@blueprint.get("/admin/users")
def users(**kwargs):
    return "admin"
