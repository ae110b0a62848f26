"""The domain: the knowledge store, questions, experts, routing, curation and analytics.

No Slack and no model in here: this package is plain Python over SQLite (sqlite-utils).
"""
