"""Placeholder: filled in by its own change."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
def index(**kwargs):
    return "home"


@blueprint.get("/search")
def search():
    return "search"
