"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("admin", __name__)


@blueprint.route("/admin/users", methods=["GET"])
def users(**kwargs):
    abort(404)


@blueprint.route("/admin/users/<int:id>", methods=["POST"])
def update(**kwargs):
    abort(404)
