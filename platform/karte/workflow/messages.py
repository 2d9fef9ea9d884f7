"""What a refused move says, in the mover's language, with the pack's own labels.

Locale: the actor's, else the pack's, else English; labels (fields, stages, entities) are
picked the same way (`Text.get`). A message missing in a language falls back to English,
so adding a language is one more dictionary here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from karte.meta.model import Entity, Field, Pack, Stage, Text
from karte.store.actor import Actor

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "final": "{from_} is a final stage: this {entity} cannot move from it to {to} "
                 "(reopening is off).",
        "skip": "This {entity} cannot skip stages: from {from_} it moves only to {next}.",
        "back": "This {entity} cannot go back from {from_} to {to}.",
        "roles": "Only {roles} may move this {entity} from {from_} to {to}.",
        "when": "This {entity} does not meet the conditions for moving from {from_} to "
                "{to}.",
        "missing": "Fill in {field} to move to {to}.",
        "rule_default": "This {entity} does not meet the rules of {to}.",
        "ahead": "{stage} will need this: {message}",
        "action": "Entering {to} {does}, but: {message}",
        "action_set": "sets {field}",
        "action_create": "creates a {target}",
        "unknown_stage": 'There is no stage "{key}" for this {entity}; stages: {keys}.',
        "ambiguous": 'Stage "{key}" belongs to several workflows of this {entity} '
                     "({names}); say which one.",
        "wrong_workflow": 'Workflow "{name}" does not move this {entity}.',
        "no_workflow": "This {entity} has no workflow: it has no stages to move to.",
        "list_sep": ", ",
    },
    "ja": {
        "final": "「{from_}」は完了ステージのため、「{to}」に移動できません（再オープン不可）。",
        "skip": "ステージを飛ばすことはできません。「{from_}」からは「{next}」にのみ進めます。",
        "back": "「{from_}」から「{to}」に戻すことはできません。",
        "roles": "「{from_}」から「{to}」への移動は{roles}のみ可能です。",
        "when": "この{entity}は「{from_}」から「{to}」への移動条件を満たしていません。",
        "missing": "「{to}」に進むには「{field}」を入力してください。",
        "rule_default": "この{entity}は「{to}」の条件を満たしていません。",
        "ahead": "「{stage}」で必要になります：{message}",
        "action": "「{to}」に入ると{does}が、次の問題があります：{message}",
        "action_set": "「{field}」を設定します",
        "action_create": "{target}を作成します",
        "unknown_stage": "この{entity}にステージ「{key}」はありません（ステージ：{keys}）。",
        "ambiguous": "ステージ「{key}」はこの{entity}の複数のワークフロー（{names}）にあります。"
                     "ワークフローを指定してください。",
        "wrong_workflow": "ワークフロー「{name}」はこの{entity}を移動しません。",
        "no_workflow": "この{entity}にはワークフローがありません。",
        "list_sep": "、",
    },
}


def locale_of(actor: Actor | None, pack: Pack) -> str:
    """The actor's locale, else the pack's, else English."""
    return (actor.locale if actor is not None and actor.locale else None) or pack.locale or "en"


@dataclass(frozen=True)
class Voice:
    """Messages and labels in one locale, for one pack."""

    pack: Pack
    locale: str

    def text(self, text: Text) -> str:
        return text.get(self.locale, self.pack.locale)

    def field(self, field: Field) -> str:
        return self.text(field.label)

    def stage(self, stage: Stage) -> str:
        return self.text(stage.label)

    def entity(self, entity: Entity) -> str:
        """The entity's label as a common noun ("deal" in "this deal")."""
        name = self.text(entity.label)
        return name.lower() if name.isascii() else name

    def join(self, items: Iterable[str]) -> str:
        return self.say("list_sep").join(items)

    def say(self, name: str, /, **values: str) -> str:
        """The message `name` in this locale (English when it lacks one), filled in."""
        table = MESSAGES.get(self.locale, {})
        template = table.get(name) or MESSAGES["en"][name]
        return template.format(**values)
