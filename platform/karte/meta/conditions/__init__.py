"""The condition language (SPEC §5): one language for visible_if, stage rules,
transitions, filters and dashboards.

`parse` reads and type-checks a condition into the nodes of `model`; `sql` compiles them to
SQLAlchemy and `evaluate` judges them in Python, by the same rules.
"""

from karte.meta.conditions.parse import (
    OPERATORS,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Context,
    Not,
    Ref,
    Token,
    ascii_lower,
    evaluate,
    fields_used,
    fold,
    includes,
    parse,
    to_sql,
)

__all__ = ["OPERATORS", "AllOf", "AnyOf", "Compare", "Condition", "Context", "Not", "Ref",
           "Token", "ascii_lower", "evaluate", "fields_used", "fold", "includes", "parse",
           "to_sql"]
