"""The condition language (SPEC §5): one language for visible_if, stage rules,
transitions, filters and dashboards.

`parse` reads and type-checks a condition into the nodes of `model`, and `evaluate` judges
them in Python. Their SQL twin, by the same rules, is `karte.store.where` (meta knows no
database).
"""

from karte.meta.conditions.model import Overdue, Reached, compares
from karte.meta.conditions.parse import (
    OPERATORS,
    RECORD_ID,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Context,
    Not,
    Ref,
    Token,
    evaluate,
    fields_used,
    fold,
    parse,
    reference,
)

__all__ = ["OPERATORS", "RECORD_ID", "AllOf", "AnyOf", "Compare", "Condition", "Context",
           "Not", "Overdue", "Reached", "Ref", "Token", "compares", "evaluate", "fields_used",
           "fold", "parse", "reference"]
