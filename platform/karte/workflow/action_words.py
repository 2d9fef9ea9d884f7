"""What a refused record action says, in the user's language: why it may not run (its
`when` in words — "The quote must be Accepted" —, the role) and which step failed.

Conditions are put in words from their parsed form, with the pack's labels: a comparison
that fails is one sentence; `all` names each part that fails, `any` all its parts; a `not`
falls back to a general sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from karte.meta.conditions import AllOf, AnyOf, Compare, Condition, Token
from karte.meta.model import Entity, Field
from karte.workflow.messages import Voice

Judge = Callable[[Condition], bool]

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "=": "{field} must be {value}", "!=": "{field} must not be {value}",
        ">": "{field} must be more than {value}", ">=": "{field} must be at least {value}",
        "<": "{field} must be less than {value}", "<=": "{field} must be at most {value}",
        "in": "{field} must be one of {value}", "not_in": "{field} must not be {value}",
        "contains": "{field} must contain “{value}”",
        "starts_with": "{field} must start with “{value}”",
        "empty": "{field} must be empty", "not_empty": "{field} must be filled in",
        "stage": "the {entity} must be {value}",
        "any": "one of these must hold: {value}",
        "when": "this {entity} does not meet the conditions of this action",
        "role": "your role ({role}) may not run this action",
        "change": "your role ({role}) may not change this {entity}, which this action does",
        "set": "{action} could not set {field}: {message}",
        "create": "{action} could not create {target}: {message}",
        "move": "{action} could not move this {entity} to {to}: {message}",
        "unknown": 'there is no action "{name}" on this {entity}',
        "today": "today", "now": "now", "me": "you", "days": "today {sign} {days} days",
        "yes": "yes", "no": "no", "or": " or ", "sep": "; ",
    },
    "ja": {
        "=": "{field}が「{value}」である必要があります",
        "!=": "{field}が「{value}」以外である必要があります",
        ">": "{field}は{value}より大きい必要があります",
        ">=": "{field}は{value}以上である必要があります",
        "<": "{field}は{value}未満である必要があります",
        "<=": "{field}は{value}以下である必要があります",
        "in": "{field}は{value}のいずれかである必要があります",
        "not_in": "{field}は{value}以外である必要があります",
        "contains": "{field}に「{value}」が含まれている必要があります",
        "starts_with": "{field}は「{value}」で始まる必要があります",
        "empty": "{field}は空である必要があります", "not_empty": "{field}を入力してください",
        "stage": "{entity}が「{value}」である必要があります",
        "any": "次のいずれかを満たす必要があります：{value}",
        "when": "この{entity}はこのアクションの条件を満たしていません",
        "role": "ロール（{role}）はこのアクションを実行できません",
        "change": "ロール（{role}）はこの{entity}を変更できないため、"
                  "このアクションを実行できません",
        "set": "{action}：「{field}」を設定できません：{message}",
        "create": "{action}：{target}を作成できません：{message}",
        "move": "{action}：この{entity}を「{to}」に移動できません：{message}",
        "unknown": "この{entity}にアクション「{name}」はありません",
        "today": "今日", "now": "現在", "me": "自分", "days": "今日{sign}{days}日",
        "yes": "はい", "no": "いいえ", "or": "または", "sep": "；",
    },
}


def say(voice: Voice, name: str, /, **values: str) -> str:
    """The message `name` in the voice's locale (English when missing), as a sentence."""
    template = MESSAGES.get(voice.locale, {}).get(name) or MESSAGES["en"][name]
    text = template.format(**values)
    return text[:1].upper() + text[1:] + ("" if voice.locale == "ja" else ".")


def _word(voice: Voice, name: str) -> str:
    return MESSAGES.get(voice.locale, {}).get(name) or MESSAGES["en"][name]


def _one(voice: Voice, field: Field, value: Any) -> str:
    if isinstance(value, Token):
        if value.name == "today" and value.days:
            return _word(voice, "days").format(sign="+" if value.days > 0 else "-",
                                               days=abs(value.days))
        return _word(voice, value.name)
    if isinstance(value, bool):
        return _word(voice, "yes" if value else "no")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    option = field.option(value) if isinstance(value, str) and field.options else None
    return voice.text(option.label) if option is not None else str(value)


def _value(voice: Voice, field: Field, value: Any) -> str:
    if isinstance(value, tuple):
        return _word(voice, "or").join(_one(voice, field, item) for item in value)
    return _one(voice, field, value)


def _label(voice: Voice, entity: Entity, cond: Compare) -> str:
    """The field's label; one link away, the link's label before it."""
    link = entity.fields.get(cond.ref.link) if cond.ref.link else None
    own = voice.field(cond.ref.field)
    return f"{voice.field(link)} {own}" if link is not None else own


def _compare(voice: Voice, entity: Entity, cond: Compare) -> str:
    value = _value(voice, cond.ref.field, cond.value)
    if cond.op == "=" and cond.ref.field.workflow and cond.ref.link is None:
        return say(voice, "stage", entity=voice.entity(entity), value=value)
    return say(voice, cond.op, field=_label(voice, entity, cond), value=value)


def reasons(voice: Voice, entity: Entity, cond: Condition, holds: Judge) -> list[str]:
    """Why `cond` does not hold, in words (empty when it holds)."""
    if holds(cond):
        return []
    if isinstance(cond, Compare):
        return [_compare(voice, entity, cond)]
    if isinstance(cond, AllOf):
        return [reason for item in cond.items for reason in reasons(voice, entity, item, holds)]
    if isinstance(cond, AnyOf) and all(isinstance(item, Compare) for item in cond.items):
        parts = [_compare(voice, entity, item).rstrip(".") for item in cond.items
                 if isinstance(item, Compare)]
        return [say(voice, "any", value=_word(voice, "sep").join(parts))]
    return [say(voice, "when", entity=voice.entity(entity))]

