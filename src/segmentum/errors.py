"""One root error class; subclasses also inherit the matching builtin (as ibis and scikit-learn do).

Every message says what was given, what is allowed, where, and a hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SegmentumError(Exception):
    """Root of every error segmentum raises on purpose. The CLI prints it as one line."""


class ConfigError(SegmentumError, ValueError):
    """`segmentum.yml` is missing or invalid."""


class WorkspaceNotFoundError(ConfigError, FileNotFoundError):
    """No workspace could be found."""


class DefinitionError(SegmentumError, ValueError):
    """A definition (trait, segment, segmentation, trigger) is invalid."""


class IngestError(SegmentumError, ValueError):
    """Input data cannot be read at all (rows that merely cannot be stored are quarantined instead)."""


class StoreError(SegmentumError, RuntimeError):
    """The workspace store is unavailable or inconsistent."""


class RunError(SegmentumError, RuntimeError):
    """A run could not be completed."""


class NotFoundError(SegmentumError, KeyError):
    """A named thing (segment, run, customer) does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelError(SegmentumError, ValueError):
    """A statistical model cannot be fitted or used on the given data."""


class NotFittedError(ModelError, AttributeError):
    """A model was used before `fit`."""


class BusyError(SegmentumError, RuntimeError):
    """The work asked for conflicts with work in progress (a batch run already running); try again later."""

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.details = details


class VersionConflictError(SegmentumError, RuntimeError):
    """A change was made against a version that is no longer the current one (HTTP 412), or without saying
    which version it changes (`required`, HTTP 428)."""

    def __init__(self, message: str, *, current: str | None, required: bool = False) -> None:
        super().__init__(message)
        self.current = current
        self.required = required
        self.details = {"current": current}


class ActionError(SegmentumError, RuntimeError):
    """A trigger action could not be configured or delivered."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return `; did you mean 'x'?` for the closest candidate, or an empty string."""
    match = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""
