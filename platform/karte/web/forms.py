"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("forms", __name__)


@blueprint.route("/<entity>/new", methods=["GET"])
def new(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/edit", methods=["GET"])
def edit(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/delete", methods=["POST"])
def delete(**kwargs):
    abort(404)


@blueprint.route("/<entity>/form", methods=["POST"])
def live(**kwargs):
    abort(404)


@blueprint.route("/<entity>/pick", methods=["GET"])
def pick(**kwargs):
    abort(404)
