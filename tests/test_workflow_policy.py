"""The move policy (karte.meta.moves), table-driven: skip / back / reopen × transitions ×
roles × when, and the reachability the validator derives from the same code."""

from __future__ import annotations

import pytest

from karte.meta.model import Stage, Text, Transition, Workflow
from karte.meta.moves import next_stages, refusal, roles_allowed

WHEN = object()  # a stand-in condition: `holds` decides whether it is true

STAGES = (Stage("a", Text.of("A")), Stage("b", Text.of("B")), Stage("c", Text.of("C")),
          Stage("won", Text.of("Won"), final="won"), Stage("lost", Text.of("Lost"),
                                                         final="lost"))
KEYS = [s.key for s in STAGES]


def flow(skip=True, back=True, reopen=False, transitions=()) -> Workflow:
    return Workflow("flow", "deal", "stage", Text.of("Flow"), STAGES, "a", skip, back,
                    reopen, tuple(Transition(*t) for t in transitions))


def judge(workflow, source, target, role="sales", holds=True):
    return refusal(workflow, KEYS.index(source), KEYS.index(target), role,
                   lambda cond: holds)


SALES_WON = [("c", "won", ("sales",))]
GUARDED = [("a", "c", (), WHEN)]
ANY_LOST = [("*", "lost")]

# (policy, transitions, role, when holds, from, to, expected refusal or None)
CASES = [
    # skip / back / reopen without transitions
    ({}, [], "sales", True, "a", "c", None),
    ({"skip": False}, [], "sales", True, "a", "c", "skip"),
    ({"skip": False}, [], "sales", True, "a", "b", None),
    ({}, [], "sales", True, "c", "a", None),
    ({"back": False}, [], "sales", True, "c", "a", "back"),
    ({"back": False}, [], "sales", True, "c", "won", None),
    ({}, [], "sales", True, "won", "lost", "final"),
    ({}, [], "sales", True, "won", "a", "final"),
    ({"reopen": True}, [], "sales", True, "won", "a", None),
    ({"reopen": True, "back": False}, [], "sales", True, "won", "a", "back"),
    ({"reopen": True}, [], "sales", True, "won", "lost", None),
    ({"reopen": True, "skip": False}, [], "sales", True, "won", "lost", None),
    # transitions add moves the policy forbids
    ({"skip": False}, ANY_LOST, "sales", True, "a", "lost", None),
    ({"back": False}, [("c", "a")], "sales", True, "c", "a", None),
    ({}, [("won", "a")], "sales", True, "won", "a", None),
    # "*" does not reopen a final stage unless reopen is on
    ({}, ANY_LOST, "sales", True, "won", "lost", "final"),
    ({"reopen": True, "skip": False, "back": False}, ANY_LOST, "sales", True, "won",
     "lost", None),
    # transitions narrow moves the policy allows: roles
    ({}, SALES_WON, "sales", True, "c", "won", None),
    ({}, SALES_WON, "viewer", True, "c", "won", "roles"),
    ({}, SALES_WON, "admin", True, "c", "won", None),
    ({}, SALES_WON, None, True, "c", "won", None),
    ({}, SALES_WON, "viewer", True, "b", "won", None),
    ({"skip": False}, SALES_WON, "viewer", True, "c", "won", "roles"),
    # ... and when
    ({}, GUARDED, "sales", True, "a", "c", None),
    ({}, GUARDED, "sales", False, "a", "c", "when"),
    ({}, GUARDED, "sales", False, "a", "b", None),
    ({"skip": False}, GUARDED, "sales", True, "a", "c", None),
    ({}, [("a", "c", ("sales",), WHEN)], "viewer", False, "a", "c", "roles"),
    ({}, [("a", "c", ("sales",), WHEN)], "sales", False, "a", "c", "when"),
    # several transitions for one pair: any one that passes allows the move
    ({}, [("a", "c", ("sales",)), ("*", "c", (), WHEN)], "viewer", True, "a", "c", None),
    ({}, [("a", "c", ("sales",)), ("*", "c", (), WHEN)], "viewer", False, "a", "c", "when"),
    ({}, [("a", "c", ("sales",)), ("*", "c", ("support",))], "viewer", True, "a", "c",
     "roles"),
]


@pytest.mark.parametrize(("policy", "transitions", "role", "holds", "source", "target",
                          "expected"), CASES)
def test_move_policy(policy, transitions, role, holds, source, target, expected):
    workflow = flow(transitions=transitions, **policy)

    assert judge(workflow, source, target, role, holds) == expected


def test_the_roles_of_a_narrowed_move_are_named_once():
    workflow = flow(transitions=[("c", "won", ("admin", "sales")), ("*", "won", ("sales",))])

    assert roles_allowed(workflow, 2, 3) == ("admin", "sales")


@pytest.mark.parametrize(("policy", "transitions", "source", "expected"), [
    ({}, [], "a", {"b", "c", "won", "lost"}),
    ({"skip": False}, [], "b", {"a", "c"}),
    ({"skip": False, "back": False}, [], "b", {"c"}),
    ({}, [], "won", set()),
    ({"reopen": True, "skip": False}, [], "won", {"a", "b", "c", "lost"}),
    ({"skip": False}, ANY_LOST, "a", {"b", "lost"}),
    ({}, ANY_LOST, "won", set()),
    ({}, [("won", "a")], "won", {"a"}),
    # a narrowed pair is still reachable for someone
    ({"skip": False}, [("a", "c", ("sales",), WHEN)], "a", {"b", "c"}),
])
def test_reachability_uses_the_same_policy(policy, transitions, source, expected):
    workflow = flow(transitions=transitions, **policy)

    assert {KEYS[i] for i in next_stages(workflow, KEYS.index(source))} == expected
