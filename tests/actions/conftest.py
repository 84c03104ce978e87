"""Fixtures of the actions tests (helpers live in actions_helpers.py)."""

from actions_helpers import receiver, smtp_server, two_runs  # noqa: F401 - fixtures
