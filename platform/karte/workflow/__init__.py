"""The workflow engine (SPEC §4): moves between stages, their rules, actions and history.

`Workflows(records)` is the one service every caller uses to move a record; see
docs/workflows.md for the rules it keeps.
"""

from karte.workflow.errors import MoveRefused
from karte.workflow.history import entered_at, overdue
from karte.workflow.record_actions import ActionRefused, RecordActions, run_action
from karte.workflow.service import Workflows, can_move

__all__ = ["ActionRefused", "MoveRefused", "RecordActions", "Workflows", "can_move",
           "entered_at", "overdue", "run_action"]
