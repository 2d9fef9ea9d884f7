"""The REST API under /api/v1 (SPEC §11.1): a thin skin over the records and move services.

Being built (issue 14); see docs/api.md.
"""
