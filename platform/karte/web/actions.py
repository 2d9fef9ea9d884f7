"""Record actions on the card (SPEC §3.7, §11): POST `/<entity>/<id>/action/<name>`.

The card shows one button per action the user may run now (its `when` holds, their role
may); each is a small form posting here with the CSRF token and the record's version, so
it works without JavaScript, and the same with htmx. A run that succeeds lands, with a
flash message, on the record or on the record it created (`open`); a refused one shows
the card again with every reason (422), nothing written; a stale version shows the card
as it is now with the conflict (409).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _

from karte.meta.model import Entity
from karte.store.errors import Conflict
from karte.web import actor, entity_or_404, is_fragment, records, registry, text
from karte.web.cards import card_again
from karte.workflow import ActionRefused, RecordActions
from karte.workflow.record_actions import Outcome

blueprint = Blueprint("actions", __name__)


def actions_service() -> RecordActions:
    """The app's one RecordActions, over its records service."""
    services = current_app.extensions["karte"]
    if "record_actions" not in services:
        services["record_actions"] = RecordActions(records())
    return services["record_actions"]


def _done(entity: Entity, label: str, outcome: Outcome) -> str:
    """"Create order: created Order SO-2026-0001." — what the run did, in words."""
    made = [_("%(entity)s %(title)s", entity=text(registry().entities[name].label),
              title=record.get(registry().entities[name].title_field) or f"#{record['id']}")
            for name, record in outcome.created]
    if made:
        return _("%(action)s: created %(records)s.", action=label, records=", ".join(made))
    return _("%(action)s: done.", action=label)


@blueprint.post("/<entity>/<int:id>/action/<name>")
def run(entity: str, id: int, name: str):
    """Run the action `name` on the record, all or nothing."""
    ent = entity_or_404(entity)
    action = next((a for a in ent.actions if a.name == name), None)
    if action is None:
        abort(404)
    try:
        outcome = actions_service().run(ent.name, id, name, actor(),
                                        version=request.form.get("version") or None)
    except ActionRefused as refused:
        return card_again(ent, id, 422, action_refused=action, action_problems=refused.problems)
    except Conflict as conflict:
        return card_again(ent, id, 409, action_refused=action, action_problems=conflict.problems)
    flash(_done(ent, text(action.label), outcome))
    target, target_id = outcome.open
    url = url_for("cards.show", entity=target, id=target_id)
    if is_fragment():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)
