"""Definitions as strict pydantic models (STYLE.md: a new kind is a new class; unknown keys are errors).

A definitions file holds `traits`, `segments`, `segmentations` and `triggers`. Expressions stay text
here; `spec/loader.py` parses them (with file:line:col positions) and resolves names.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from segmentum.clock import DURATION_RE, parse_duration  # noqa: F401 - re-exported

AGGREGATES = (
    "count",
    "count_distinct",
    "sum",
    "avg",
    "min",
    "max",
    "mode",
    "first",
    "last",
    "median",
    "percentile",
    "stddev",
)
# Aggregations that need numbers: over a property (text) they read the numeric values as DOUBLE.
NUMERIC_AGGREGATES = ("sum", "avg", "median", "percentile", "stddev")
# `events.properties.KEY` names a key of the events' JSON properties as an aggregated column.
PROPERTY_PREFIX = "properties."
PROPERTY_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SOURCE_TABLES = ("orders", "order_items", "events", "responses", "tickets", "subscriptions")
CHANNELS = ("visit", "call", "email", "ads", "sms", "push", "none")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Fields that describe a definition without deciding membership: they never change its fingerprint
# (spec/fingerprint.py). Every other field is meaning, so a new field counts as meaning until declared here.
METADATA_FIELDS = frozenset({"description", "offer", "channel", "action"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


Duration = Annotated[str, Field(description="a whole number and a unit: 30d, 2w, 6m, 1y")]


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        parse_duration(value)
    return value


class TraitKind(Strict):
    """What every trait kind declares: its name, the key that marks it in YAML, whether it ranks customers.

    A new kind is a new subclass listed in `TRAIT_KINDS` and `Trait`, plus one rule in the loader
    (`TRAIT_RESOLVERS`) and one in the compiler (`TRAIT_RULES`); tests check that every kind has both.
    """

    kind: ClassVar[str]
    key: ClassVar[str | None] = None  # the YAML key that selects this kind (None: the default kind)
    population: ClassVar[bool] = False  # its value depends on every customer of the run
    over_rows: ClassVar[bool] = False  # computed from the rows of one table: its `where` reads their columns


def _check_column(function: str, target: str) -> tuple[str, str]:
    """`table.column` of an aggregate (the column may be `properties.KEY` of events): (table, column)."""
    table, _, column = str(target).partition(".")
    if table not in SOURCE_TABLES:
        raise ValueError(
            f"unknown table {table!r} in {function}: {target}; tables: {', '.join(SOURCE_TABLES)}"
        )
    if column.startswith(PROPERTY_PREFIX):
        key = column[len(PROPERTY_PREFIX) :]
        if table != "events":
            raise ValueError(
                f"{function}: {target}: only events have properties; write {function}: events.properties.KEY"
            )
        if not PROPERTY_KEY_RE.match(key):
            raise ValueError(
                f"{function}: {target}: a property key is letters, digits and underscores "
                "(properties.feature), not starting with a digit"
            )
    return table, column


class Percentile(Strict):
    """`{of: orders.amount, p: 0.9}`: the p-quantile, linear interpolation between the closest ranks."""

    of: str
    p: float = Field(ge=0, le=1, description="the quantile, 0 to 1 (0.5 is the median)")


class AggregateTrait(TraitKind):
    """An aggregate over one of the customer's tables: `{sum: orders.amount, within: 365d}`."""

    kind: ClassVar[str] = "aggregate"
    over_rows: ClassVar[bool] = True

    count: str | None = None
    count_distinct: str | None = None
    sum: str | None = None
    avg: str | None = None
    min: str | None = None
    max: str | None = None
    mode: str | None = None
    first: str | None = None
    last: str | None = None
    median: str | None = None
    percentile: Percentile | None = None
    stddev: str | None = None
    where: str | None = None
    within: Duration | None = None
    between: tuple[Duration, Duration] | None = None
    all_orders: bool = False
    description: str | None = None

    @field_validator("within")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        return _check_duration(value)

    @field_validator("between")
    @classmethod
    def _between(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None:
            for part in value:
                parse_duration(part)
        return value

    @model_validator(mode="after")
    def _one_function(self) -> AggregateTrait:
        given = [f for f in AGGREGATES if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError(
                f"an aggregate trait takes exactly one of {', '.join(AGGREGATES)}; found {', '.join(given) or 'none'}"
            )
        if self.within is not None and self.between is not None:
            raise ValueError("use either 'within' or 'between', not both")
        table, column = _check_column(given[0], self.operand)
        if given[0] != "count" and not column:
            raise ValueError(f"'{given[0]}' needs a column: {given[0]}: {table}.<column>")
        if self.all_orders and table not in ("orders", "order_items"):
            raise ValueError("'all_orders' applies only to orders and order_items")
        return self

    @property
    def function(self) -> str:
        return next(f for f in AGGREGATES if getattr(self, f) is not None)

    @property
    def operand(self) -> str:
        """`table.column` (or `table` for a row count) the aggregation reads."""
        value = getattr(self, next(f for f in AGGREGATES if getattr(self, f) is not None))
        return str(value.of if isinstance(value, Percentile) else value)

    @property
    def table(self) -> str:
        return self.operand.partition(".")[0]

    @property
    def column(self) -> str | None:
        return self.operand.partition(".")[2] or None

    @property
    def property_key(self) -> str | None:
        """The key of events.properties this aggregate reads (`events.properties.feature` -> feature)."""
        column = self.column or ""
        return column[len(PROPERTY_PREFIX) :] if column.startswith(PROPERTY_PREFIX) else None

    @property
    def quantile(self) -> float | None:
        """The quantile of `median` (0.5) and `percentile`; None for other aggregations."""
        if self.median is not None:
            return 0.5
        return self.percentile.p if self.percentile is not None else None


class ExprTrait(TraitKind):
    """A trait derived from other traits and attributes: `{expr: "days_between(last_order_at, as_of)"}`."""

    kind: ClassVar[str] = "expr"
    key: ClassVar[str | None] = "expr"

    expr: str
    description: str | None = None


class ScoreTrait(TraitKind):
    """A 1..bins score of another trait: tie-aware quantiles of the customers' own distribution, or fixed cuts.

    Quantiles: `score = 1 + #{k in 1..bins-1 : bins * (rank - 1) >= k * n}` with rank the lowest rank of the
    value among the n non-null values (DESIGN.md section 6). Fixed: `1 + #{cuts below the value}`;
    `descending` reverses both (recent = high for recency).
    """

    kind: ClassVar[str] = "score"
    key: ClassVar[str | None] = "score"
    population: ClassVar[bool] = True

    score: str
    where: str | None = Field(
        None, description="rank only the customers for whom this holds; others get null"
    )
    bins: int = Field(5, ge=2, le=100)
    cuts: list[Decimal] | None = None
    descending: bool = False
    description: str | None = None

    @model_validator(mode="after")
    def _cuts_ascending(self) -> ScoreTrait:
        if self.cuts is not None:
            if any(b <= a for a, b in zip(self.cuts, self.cuts[1:], strict=False)):
                raise ValueError(f"cuts must be strictly ascending, found {[str(c) for c in self.cuts]}")
            if len(self.cuts) != self.bins - 1:
                object.__setattr__(self, "bins", len(self.cuts) + 1)
        return self

    @property
    def target(self) -> str:
        """The trait or attribute this trait ranks."""
        return self.score


class CumulativeTrait(TraitKind):
    """Sum of a trait over the customers ranked ahead (value descending, then customer_id); 0 for the first."""

    kind: ClassVar[str] = "cumulative"
    key: ClassVar[str | None] = "cumulative"
    population: ClassVar[bool] = True

    cumulative: str
    where: str | None = Field(
        None, description="only the customers for whom this holds take part; others get null"
    )
    order: Literal["desc", "asc"] = "desc"
    description: str | None = None

    @property
    def target(self) -> str:
        """The trait or attribute this trait sums."""
        return self.cumulative


class TotalTrait(TraitKind):
    """Sum of a trait over every customer of the run."""

    kind: ClassVar[str] = "total"
    key: ClassVar[str | None] = "total"
    population: ClassVar[bool] = True

    total: str
    description: str | None = None

    @property
    def target(self) -> str:
        """The trait or attribute this trait sums."""
        return self.total


MAX_PERIODS = 1000  # active_periods: more periods than this is a definition error, not a slow run


def _source_table(key: str, table: str) -> str:
    if table not in SOURCE_TABLES:
        raise ValueError(f"unknown table {table!r} in {key}; tables: {', '.join(SOURCE_TABLES)}")
    return table


class ActivePeriodsTrait(TraitKind):
    """In how many of the last `within / period` periods the customer has a matching row:
    `{active_periods: events, period: 1w, within: 8w, where: "event = 'login'"}`; period k covers
    `as_of - (k+1)*period < ts <= as_of - k*period`, each bound a calendar shift of `as_of`."""

    kind: ClassVar[str] = "active_periods"
    key: ClassVar[str | None] = "active_periods"
    over_rows: ClassVar[bool] = True

    active_periods: str = Field(description="the table whose rows make a period active")
    period: Duration
    within: Duration
    where: str | None = None
    description: str | None = None

    @field_validator("active_periods")
    @classmethod
    def _table(cls, value: str) -> str:
        return _source_table("active_periods", value)

    @field_validator("period", "within")
    @classmethod
    def _durations(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _whole_periods(self) -> ActivePeriodsTrait:
        (size, unit), (span, span_unit) = parse_duration(self.period), parse_duration(self.within)
        if unit != span_unit:
            raise ValueError(
                f"'period: {self.period}' and 'within: {self.within}' must use the same unit (d, w, m or y), "
                f"e.g. period: {size}{unit}, within: {size * 8}{unit}"
            )
        if size == 0 or span == 0 or span % size:
            raise ValueError(
                f"'within: {self.within}' must be a whole, positive multiple of 'period: {self.period}' "
                f"(e.g. within: {max(size, 1) * 8}{unit})"
            )
        if span // size > MAX_PERIODS:
            raise ValueError(
                f"'within / period' is {span // size} periods; at most {MAX_PERIODS} are allowed"
            )
        return self

    @property
    def table(self) -> str:
        return self.active_periods

    @property
    def periods(self) -> int:
        """How many periods the window holds (`within / period`)."""
        return parse_duration(self.within)[0] // parse_duration(self.period)[0]


class SequenceTrait(TraitKind):
    """When the customer first completed steps in order: `{sequence: ["event = 'cart_add'", "event =
    'checkout'"], table: events, within: 30d, max_gap: 2d}` is the smallest `t_n` over chains of rows
    `t_1 < ... < t_n`, step i matched by the i-th condition, every row inside `within`, each
    `t_(i+1) <= t_i + max_gap`; null when there is none."""

    kind: ClassVar[str] = "sequence"
    key: ClassVar[str | None] = "sequence"
    over_rows: ClassVar[bool] = True

    sequence: list[str] = Field(description="the steps' row conditions, in order (2 or 3)")
    table: str
    within: Duration | None = None
    max_gap: Duration | None = None
    description: str | None = None

    @field_validator("sequence")
    @classmethod
    def _steps(cls, value: list[str]) -> list[str]:
        if not 2 <= len(value) <= 3:
            raise ValueError(
                f"a sequence takes 2 or 3 steps (row conditions, in order); found {len(value)}: "
                "sequence: [\"event = 'cart_add'\", \"event = 'checkout'\"]"
            )
        return value

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _source_table("table", value)

    @field_validator("within", "max_gap")
    @classmethod
    def _durations(cls, value: str | None) -> str | None:
        return _check_duration(value)


# Every trait kind; the one without a `key` (aggregate) is the default.
TRAIT_KINDS: tuple[type[TraitKind], ...] = (
    AggregateTrait,
    ExprTrait,
    ScoreTrait,
    CumulativeTrait,
    TotalTrait,
    ActivePeriodsTrait,
    SequenceTrait,
)


def _trait_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return type(value).__name__
    if not isinstance(value, dict):
        return "invalid"
    for cls in TRAIT_KINDS:
        if cls.key is not None and cls.key in value:
            return cls.__name__
    return next(cls.__name__ for cls in TRAIT_KINDS if cls.key is None)


Trait = Annotated[
    Annotated[AggregateTrait, Tag("AggregateTrait")]
    | Annotated[ExprTrait, Tag("ExprTrait")]
    | Annotated[ScoreTrait, Tag("ScoreTrait")]
    | Annotated[CumulativeTrait, Tag("CumulativeTrait")]
    | Annotated[TotalTrait, Tag("TotalTrait")]
    | Annotated[ActivePeriodsTrait, Tag("ActivePeriodsTrait")]
    | Annotated[SequenceTrait, Tag("SequenceTrait")],
    Discriminator(_trait_kind),
]


class Segment(Strict):
    """A standalone segment: every customer for whom `where` holds. A customer may be in several."""

    where: str
    description: str | None = None
    offer: str | None = None
    channel: str | None = None
    action: str | None = Field(None, description="recommended action, in words")


def _segment_name(value: str) -> str:
    """The one rule for a segment's name, for rules and `else` alike (it becomes `segmentation.name`)."""
    if not NAME_RE.match(value):
        raise ValueError(f"invalid segment name {value!r}: use letters, digits and underscores")
    return value


class Rule(Strict):
    """One segment of a segmentation: first match wins."""

    name: str
    where: str
    description: str | None = None
    offer: str | None = None
    channel: str | None = None
    action: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _segment_name(value)


class ElseSegment(Strict):
    name: str = "other"
    description: str | None = None
    offer: str | None = None
    channel: str | None = None
    action: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _segment_name(value)


class Segmentation(Strict):
    """A partition: ordered rules (first match wins) and `else` for everyone else."""

    segments: list[Rule] = Field(min_length=1)
    else_: str | ElseSegment = Field("other", alias="else")
    description: str | None = None

    @field_validator("else_")
    @classmethod
    def _else_name(cls, value: str | ElseSegment) -> str | ElseSegment:
        return _segment_name(value) if isinstance(value, str) else value

    @property
    def else_segment(self) -> ElseSegment:
        return self.else_ if isinstance(self.else_, ElseSegment) else ElseSegment(name=self.else_)

    @property
    def segment_names(self) -> list[str]:
        return [r.name for r in self.segments] + [self.else_segment.name]

    @model_validator(mode="after")
    def _unique(self) -> Segmentation:
        seen: set[str] = set()
        for name in self.segment_names:
            if name in seen:
                raise ValueError(f"segment {name!r} appears twice in the segmentation")
            seen.add(name)
        return self


class TaskAction(Strict):
    title: str
    description: str | None = None
    assignee: str | None = None
    due: Duration | None = None


class WebhookAction(Strict):
    url: str
    secret_env: str | None = None
    timeout: float | None = None


class EmailAction(Strict):
    template: str
    subject: str
    to: str | None = Field(None, description="template for the address; default: the customer's email")


class ExportAction(Strict):
    path: str
    format: Literal["csv", "parquet"] | None = None
    hash_emails: bool = False
    segment: str | None = Field(None, description="segment to export; default: the trigger's target segment")


BUILTIN_ACTIONS = ("task", "webhook", "email", "export")
SINK_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginAction(BaseModel):
    """The settings of an action of a plug-in sink (entry-point group `segmentum.sinks`): any keys; the
    sink's `validate` checks them before a run is processed (`segmentum validate` too)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Action(Strict):
    """Exactly one of `task`, `webhook`, `email`, `export`, or the name of a plug-in sink with its settings
    (e.g. `slack: {channel: "#sales"}`); an unknown sink name is reported with the sinks there are when the
    triggers are validated."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    task: TaskAction | None = None
    webhook: WebhookAction | None = None
    email: EmailAction | None = None
    export: ExportAction | None = None

    @model_validator(mode="after")
    def _one(self) -> Action:
        plugins = dict(self.model_extra or {})
        for name, value in plugins.items():
            if not SINK_NAME_RE.match(name):
                raise ValueError(
                    f"{name!r} is not an action: use one of {', '.join(BUILTIN_ACTIONS)} or the name of a "
                    "plug-in sink (lowercase letters, digits and underscores)"
                )
            if value is not None and not isinstance(value, dict):
                raise ValueError(
                    f"the settings of action '{name}' must be a mapping, e.g. {name}: {{key: value}}"
                )
        given = [k for k in BUILTIN_ACTIONS if getattr(self, k) is not None] + list(plugins)
        if len(given) != 1:
            raise ValueError(
                f"an action takes exactly one of {', '.join(BUILTIN_ACTIONS)} or a plug-in sink's name; "
                f"found {given or 'none'}"
            )
        return self

    @property
    def kind(self) -> str:
        """The sink that delivers the action: a built-in one or a plug-in's name."""
        builtin = [k for k in BUILTIN_ACTIONS if getattr(self, k) is not None]
        return builtin[0] if builtin else next(iter(self.model_extra or {}))

    @property
    def settings(self) -> BaseModel:
        if self.kind in BUILTIN_ACTIONS:
            return getattr(self, self.kind)  # type: ignore[no-any-return]
        return PluginAction(**((self.model_extra or {})[self.kind] or {}))


HOLDOUT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
CLOCK_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# `conversion` of a trigger's `measure`: how many rows of a table the customer has in the window
CONVERSION_RE = re.compile(r"^\s*count\(\s*([a-z_]+)\s*\)\s*(>=|>|=|<=|<)\s*(\d+)\s*$")


def holdout_share(value: str | float | None) -> float:
    """`10%` -> 0.1 (a number is a share: 0.1); 0 when absent. A share must be below 100 %."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        match = HOLDOUT_RE.match(value)
        if not match:
            raise ValueError(f"invalid holdout {value!r}; write a percentage such as 10%")
        share = float(match.group(1)) / 100
    else:
        share = float(value)
        if share >= 1:
            raise ValueError(
                f"holdout {value:g} is read as a fraction; write a percentage such as {value:g}%"
            )
    if not 0 <= share < 1:
        raise ValueError(f"holdout {value!r} must be at least 0 % and below 100 %")
    return share


class Measure(Strict):
    """How a trigger's effect is measured (`segmentum uplift`): within `within` after the transition,
    `conversion` (`count(TABLE) >= N`) and `revenue` (`TABLE.COLUMN`, summed; qualifying orders only)."""

    revenue: str | None = None
    conversion: str | None = None
    within: Duration

    @field_validator("within")
    @classmethod
    def _within(cls, value: str) -> str:
        _check_duration(value)
        return value

    @field_validator("conversion")
    @classmethod
    def _conversion(cls, value: str | None) -> str | None:
        if value is not None and not CONVERSION_RE.match(value):
            raise ValueError(
                f'invalid conversion {value!r}; write count(TABLE) >= N, e.g. "count(orders) >= 1"'
            )
        return value

    @field_validator("revenue")
    @classmethod
    def _revenue(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z_]+\.[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError(f"invalid revenue {value!r}; write TABLE.COLUMN, e.g. orders.amount")
        return value

    @model_validator(mode="after")
    def _something(self) -> Measure:
        if self.revenue is None and self.conversion is None:
            raise ValueError("a measure needs 'conversion' and/or 'revenue'")
        return self

    @property
    def conversion_parts(self) -> tuple[str, str, int] | None:
        """(table, operator, threshold) of `conversion`."""
        match = CONVERSION_RE.match(self.conversion or "")
        return (match.group(1), match.group(2), int(match.group(3))) if match else None


class Cap(Strict):
    """At most `max` actions of one channel per customer within `per`, across triggers."""

    max: int = Field(ge=0)
    per: Duration

    @field_validator("per")
    @classmethod
    def _per(cls, value: str) -> str:
        _check_duration(value)
        return value


class QuietHours(Strict):
    """No action is sent between `from` and `to` (HH:MM, the customer's time zone); it is held until `to`."""

    from_: str = Field(alias="from")
    to: str

    @field_validator("from_", "to")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not CLOCK_RE.match(str(value)):
            raise ValueError(f'invalid time {value!r}; write HH:MM (24-hour), e.g. "21:00"')
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.from_ == self.to:
            raise ValueError("quiet hours 'from' and 'to' are the same time; give a window")
        return self


class Trigger(Strict):
    """What to do when customers enter, exit or move between segments, or when a trait changes.

    - `on: enter` / `on: exit` with `segment: NAME` (`segmentation.segment`, or `segmentation.*` for any)
    - `on: move` with `from` and/or `to` (`segmentation.segment`)
    - `on: metric` with `trait` and `above` / `below` (crossing a threshold) or `change` (relative change
      against the previous run, e.g. -0.3 = dropped by 30 % or more)
    """

    on: Literal["enter", "exit", "move", "metric"]
    segment: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    trait: str | None = None
    above: Decimal | None = None
    below: Decimal | None = None
    change: float | None = None
    on_first_run: Literal["fire", "skip"] = "skip"
    description: str | None = None
    cooldown: Duration | None = Field(None, description="not again for the same customer within this time")
    holdout: str | float | None = Field(None, description="a stable share that gets nothing: 10%")
    measure: Measure | None = None
    do: list[Action] = Field(min_length=1)

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, value: str | None) -> str | None:
        return _check_duration(value)

    @field_validator("holdout")
    @classmethod
    def _holdout(cls, value: str | float | None) -> str | float | None:
        holdout_share(value)
        return value

    @property
    def holdout_fraction(self) -> float:
        """The share of customers held out (0 when no hold-out)."""
        return holdout_share(self.holdout)

    @model_validator(mode="after")
    def _shape(self) -> Trigger:
        if self.on in ("enter", "exit") and not self.segment:
            raise ValueError(f"a trigger 'on: {self.on}' needs 'segment: NAME'")
        if self.on == "move" and not (self.from_ or self.to):
            raise ValueError("a trigger 'on: move' needs 'from' and/or 'to' (segmentation.segment)")
        if self.on == "metric":
            if not self.trait:
                raise ValueError("a trigger 'on: metric' needs 'trait: NAME'")
            if self.above is None and self.below is None and self.change is None:
                raise ValueError("a trigger 'on: metric' needs 'above', 'below' or 'change'")
        return self


class DefinitionFile(Strict):
    """The contents of one definitions file."""

    traits: dict[str, Trait] = Field(default_factory=dict)
    segments: dict[str, Segment] = Field(default_factory=dict)
    segmentations: dict[str, Segmentation] = Field(default_factory=dict)
    triggers: dict[str, Trigger] = Field(default_factory=dict)
    # acting responsibly (DESIGN 5.2), for every trigger of the workspace
    caps: dict[str, Cap] = Field(default_factory=dict)  # channel (action kind) -> cap per customer
    suppress: list[str] = Field(default_factory=list)  # standalone segments never contacted
    quiet_hours: QuietHours | None = None
    description: str | None = None

    @field_validator("traits", "segments", "segmentations", "triggers")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not NAME_RE.match(str(name)):
                raise ValueError(
                    f"invalid name {name!r}: use letters, digits and underscores, not starting with a digit"
                )
        return value


AnyTrait = (
    AggregateTrait
    | ExprTrait
    | ScoreTrait
    | CumulativeTrait
    | TotalTrait
    | ActivePeriodsTrait
    | SequenceTrait
)
