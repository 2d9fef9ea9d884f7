"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("lists", __name__)


@blueprint.route("/<entity>/", methods=["GET"])
def index(**kwargs):
    abort(404)


@blueprint.route("/<entity>/export.csv", methods=["GET"])
def export(**kwargs):
    abort(404)


@blueprint.route("/<entity>/bulk-delete", methods=["POST"])
def bulk_delete(**kwargs):
    abort(404)
