"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("home", __name__)


@blueprint.route("/", methods=["GET"])
def index(**kwargs):
    abort(404)


@blueprint.route("/search", methods=["GET"])
def search(**kwargs):
    abort(404)
