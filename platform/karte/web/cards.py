"""Placeholder endpoints (the fixed URL contract), replaced by this area's own change."""

from __future__ import annotations

from flask import Blueprint, abort

blueprint = Blueprint("cards", __name__)


@blueprint.route("/<entity>/<int:id>", methods=["GET"])
def show(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/history", methods=["GET"])
def history(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/timeline", methods=["GET"])
def timeline(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/notes", methods=["POST"])
def add_note(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/quick-add/<child>", methods=["POST"])
def quick_add(**kwargs):
    abort(404)


@blueprint.route("/<entity>/<int:id>/related/<child>/<field>", methods=["GET"])
def related(**kwargs):
    abort(404)
