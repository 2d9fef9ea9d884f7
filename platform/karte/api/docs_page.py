"""The API documentation page, `/api/docs` (docs/api-openapi.md): Swagger UI, self-hosted.

Swagger UI comes from npm (`swagger-ui-dist`, copied into static/vendor/swagger-ui by
scripts/assets.sh) and reads `/api/v1/openapi.json`. The page is started by a static script
(static/js/api_docs.js) — the Content-Security-Policy allows no inline script — and, like
every page, needs a signed-in user; its "Try it out" reads with that session, and writes
need a personal token (the Authorize button). Without the assets the page says how to get
them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app

from karte.web import render, signed_in_actor

blueprint = Blueprint("api_docs", __name__)
ASSETS = ("vendor/swagger-ui/swagger-ui-bundle.js", "vendor/swagger-ui/swagger-ui.css")


def assets_installed() -> bool:
    folder = Path(current_app.static_folder or "")
    return all((folder / name).is_file() for name in ASSETS)


@blueprint.get("/api/docs")
def page():
    signed_in_actor()
    return render("api_docs.html", installed=assets_installed())
