"""The admins' banner while migration steps wait (SPEC §6.3): what waits, on which
entity, and a link to the rows that block it, so they can be corrected in the app."""

from __future__ import annotations

from flask import Flask, current_app


def init_app(app: Flask) -> None:
    @app.context_processor
    def _waiting() -> dict:
        from karte.web import actor

        user = actor()
        steps = current_app.extensions["karte"].get("waiting", ())
        return {"waiting_steps": steps if user is not None and user.role == "admin" else ()}
