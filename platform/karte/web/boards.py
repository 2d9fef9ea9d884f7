"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("boards", __name__)


@blueprint.route("/board/<workflow>", methods=["GET"])
def show(**kwargs):
    abort(404)


@blueprint.route("/board/<workflow>/<stage>", methods=["GET"])
def column(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/move", methods=["GET"])
def move(**kwargs):
    abort(404)
