"""Meaning checks of dashboard files (`dashboards/<name>.json`, SPEC §12).

A dashboard is read by managers who trust its numbers, so every name it uses is checked
when the pack loads, never found by someone staring at a zero: entities, fields, roles,
workflows and stages exist (with a did-you-mean), each field fits what the widget does
with it, ranges and buckets are known and bounded. Each problem names the file, the JSON
pointer and how to fix it. Codes DSH010–DSH016 come from the JSON Schema (`schema`);
conditions keep their own COND codes, under the widget's pointer (`build_dashboards`).
"""

from __future__ import annotations

DASHBOARD_CODES = {
    "DSH010": "unknown key in a dashboard file (schema)",
    "DSH011": "wrong JSON type in a dashboard file (schema)",
    "DSH012": "a value not among the allowed ones, e.g. an unknown widget kind or agg "
              "(schema)",
    "DSH013": "a required key is missing, e.g. a widget's label (schema)",
    "DSH014": "malformed name, text, day or group_by (schema)",
    "DSH015": "number, length or size out of range, e.g. no widgets (schema)",
    "DSH016": "object of the wrong shape, e.g. \"remove\" that is not true (schema)",
    "DSH021": "\"remove\": true names no dashboard of a base pack",
}
