"""Request bodies of the API: strict pydantic models, so a typo in a field is a 422, never ignored."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

MAX_EVENTS = 10_000


def _clean_text(value: str, what: str) -> str:
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode text (lone surrogate)") from exc
    return value


def _timestamp_text(value: Any, what: str) -> Any:
    """A timestamp or date must come as text (ISO 8601): pydantic would read a number as Unix time, which the
    OpenAPI document (format date-time) does not promise and a client rarely means."""
    if isinstance(value, (int, float)):  # bool is an int too
        raise ValueError(f"{what} must be an ISO 8601 string such as '2024-05-01T10:00:00', not a number")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(Strict):
    """One event: who, what, when (an offset is converted to the workspace time zone) and properties."""

    customer_id: str | int = Field(description="the customer's id (text; numbers are taken as text)")
    event: str = Field(min_length=1, max_length=200, description="event name, e.g. cart_add")
    occurred_at: datetime = Field(
        description="ISO timestamp; without an offset it is workspace wall-clock time"
    )
    properties: dict[str, Any] | None = Field(None, description="free JSON object, read as properties.key")

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at(cls, value: Any) -> Any:
        return _timestamp_text(value, "occurred_at")

    @field_validator("customer_id")
    @classmethod
    def _customer_id(cls, value: str | int) -> str:
        text = _clean_text(str(value), "customer_id").strip()
        if not text:
            raise ValueError("customer_id is empty")
        if len(text) > 256:
            raise ValueError(f"customer_id is {len(text)} characters long; at most 256 are allowed")
        return text

    @field_validator("event")
    @classmethod
    def _event(cls, value: str) -> str:
        return _clean_text(value, "event")

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(
                f"properties cannot be stored as JSON ({exc}); NaN, Infinity and lone surrogates "
                "are not allowed"
            ) from exc
        return value


class EventsIn(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsAccepted(BaseModel):
    accepted: int
    customers: int
    new_customers: int
    queued_for_realtime: bool


class BackfillIn(Strict):
    from_: date = Field(alias="from", description="first day (YYYY-MM-DD)")
    to: date = Field(description="last day (YYYY-MM-DD), always included")
    every: str = Field(
        "1m", pattern=r"^\s*\d{1,4}\s*[dwmy]\s*$", description="1m = month ends, 1w, 7d, 1y = year ends"
    )
    only: list[str] | None = Field(None, description="segments, segmentations or built-ins to run")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _dates(cls, value: Any, info: ValidationInfo) -> Any:
        return _timestamp_text(value, "from" if info.field_name == "from_" else str(info.field_name))

    @field_validator("only")
    @classmethod
    def _only(cls, value: list[str] | None) -> list[str] | None:
        return [_clean_text(v, "only") for v in value] if value else value


class RunIn(Strict):
    as_of: str | None = Field(
        None,
        description="timestamp, date (its end: 23:59:59.999999) or 'latest'; absent means now",
        examples=["2011-12-09", "2024-05-01T10:00:00", "latest"],
    )
    only: list[str] | None = Field(None, description="segments, segmentations or built-ins to run")

    @field_validator("only")
    @classmethod
    def _only(cls, value: list[str] | None) -> list[str] | None:
        return [_clean_text(v, "only") for v in value] if value else value


class DefinitionsIn(Strict):
    """Unsaved definition files (path relative to the workspace -> YAML text) used instead of the files on disk."""

    files: dict[str, str] = Field(default_factory=dict, examples=[{"definitions/shop.yml": "segments: {}"}])

    @model_validator(mode="after")
    def _paths(self) -> DefinitionsIn:
        for path, text in self.files.items():
            _clean_text(path, "file path")
            _clean_text(text, f"text of {path}")
            pure = PurePosixPath(path)
            if (
                pure.is_absolute()
                or ".." in pure.parts
                or "\\" in path
                or pure.suffix not in (".yml", ".yaml")
            ):
                raise ValueError(
                    f"file path {path!r} must be a relative .yml/.yaml path inside the workspace, "
                    "e.g. definitions/shop.yml or segmentum.yml"
                )
        return self


class DefinitionFileIn(Strict):
    """The whole new text of one definitions file."""

    text: str = Field(
        ..., max_length=1_000_000, examples=["segments:\n  big_spenders:\n    where: revenue > 1000\n"]
    )

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _clean_text(value, "text")


class ListMembersIn(Strict):
    """Customer ids of a static list."""

    customer_ids: list[str] = Field(..., max_length=1_000_000, examples=[["c1", "c2"]])

    @field_validator("customer_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return [_clean_text(v, "customer_id") for v in value]


class IdentifyIn(Strict):
    """Link an anonymous id to a known customer: from `linked_at` (default now) on, the alias's rows count for
    the customer."""

    alias_id: str = Field(..., min_length=1, max_length=256, examples=["anon-7f3a"])
    customer_id: str = Field(..., min_length=1, max_length=256, examples=["c42"])
    linked_at: datetime | None = Field(None, description="default: now, in the workspace time zone")

    @field_validator("alias_id", "customer_id")
    @classmethod
    def _ids(cls, value: str) -> str:
        return _clean_text(value, "id")


class RollbackIn(Strict):
    """The earlier version whose text becomes the new version."""

    version: int = Field(..., ge=1)


class KeyIn(Strict):
    scope: Literal["read", "write", "admin"]
    name: str | None = Field(None, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _clean_text(value, "name") if value is not None else None
