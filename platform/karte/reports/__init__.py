"""Dashboards (SPEC §12): each widget of the Registry's `karte.meta.dashboards` turned into
one SQL statement under the viewer's read scope, its result, and the condition a drill-down
list applies to show exactly the records a number counts. No Flask here."""
