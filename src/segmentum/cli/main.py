"""The `segmentum` application: only registers commands (one module per command) and the error boundary."""

from __future__ import annotations

import importlib
import os
import sys
from difflib import get_close_matches
from typing import Any

import typer

# Typer vendors Click: the errors and classes it raises and builds are these, not the `click` package's.
from typer import _click as click
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup

from segmentum.errors import SegmentumError

# name -> (module under segmentum.cli, attribute, panel, one-line help). A command's module is imported only when
# the command runs, so `segmentum --help` does not pay for pandas, Ibis or scikit-learn (under 0.3 s).
# The one-line help repeats the first paragraph of the command's docstring; tests/cli/test_cli_lazy.py keeps them equal.
SETUP, DEFINE, LOOK, MODELS, ACT = (
    "Set up and load",
    "Define and run",
    "Look at the results",
    "Models",
    "Act and serve",
)
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "demo": (
        "demo",
        "demo_command",
        SETUP,
        "Make a demo workspace (B2C shop and B2B accounts), ingest, run every built-in, write the report.",
    ),
    "init": ("init", "init_command", SETUP, "Create a new workspace with a commented segmentum.yml."),
    "ingest": (
        "ingest",
        "ingest_command",
        SETUP,
        "Load a table from a file or a database; bad rows go to the quarantine (see `segmentum quarantine`).",
    ),
    "compact": (
        "compact",
        "compact_command",
        SETUP,
        "Rewrite orders, order items and events in customer order, so that real-time micro-batches read only their customers' rows.",
    ),
    "quarantine": (
        "quarantine",
        "quarantine_command",
        SETUP,
        "Rows that could not be stored: source file, line, column and reason, newest ingest first.",
    ),
    "coverage": (
        "coverage",
        "coverage_command",
        SETUP,
        "Data coverage: how many customers have each attribute, which built-ins can run and for how many customers, and which data to collect next (with the question to ask).",
    ),
    "builtins": ("builtins", "app", DEFINE, "The built-in segmentations: list them, or show one as YAML."),
    "validate": (
        "validate",
        "validate_command",
        DEFINE,
        "Check every definition (built-ins, segmentum.yml, definitions/*.yml) without running anything.",
    ),
    "preview": (
        "preview",
        "preview_command",
        DEFINE,
        "Compare edited (or new) definitions with the last run: sizes before/after, who enters and who leaves.",
    ),
    "run": (
        "run",
        "run_command",
        DEFINE,
        "Evaluate the definitions at a point in time, store the snapshot (traits and memberships) and enqueue the actions of the triggers its transitions fire (--no-triggers to skip).",
    ),
    "runs": (
        "runs",
        "runs_command",
        DEFINE,
        "List runs, newest first: as_of, status, kind, engine, customers, duration, started_at (as_of and started_at both in the workspace time zone).",
    ),
    "backfill": (
        "backfill",
        "backfill_command",
        DEFINE,
        "Run past points in time (point-in-time correct: each sees only data up to its day); no triggers fire.",
    ),
    "sql": (
        "sql",
        "sql_command",
        DEFINE,
        "Print the compiled SQL (one query: customers, per-table aggregates, derived traits, segments).",
    ),
    "segments": (
        "segments",
        "segments_command",
        LOOK,
        "Sizes of every segment: customers, share of the run's customers, revenue and revenue share.",
    ),
    "members": (
        "members",
        "members_command",
        LOOK,
        "Members of a segment (customer_id first, then their attributes).",
    ),
    "customer": (
        "customer",
        "customer_command",
        LOOK,
        "Everything segmentum knows about one customer: attributes, traits, model outputs, segments now, history and tasks.",
    ),
    "explain": (
        "explain",
        "explain_command",
        LOOK,
        "Each condition of the segment (and of the segmentation's earlier rules) with the customer's values.",
    ),
    "profile": (
        "profile",
        "profile_command",
        LOOK,
        "Size, value, behaviour, attribute distributions and distinguishing features: shares and means against everyone, with lift, effect size (Cohen's h / d) and significance.",
    ),
    "compare": (
        "compare",
        "compare_command",
        LOOK,
        "Compare segments: size, share, revenue share, order value, frequency, recency, NPS, CSAT, churn.",
    ),
    "crosstab": (
        "crosstab",
        "crosstab_command",
        LOOK,
        "Cross-tab of two dimensions with customer counts, revenue and share (e.g. company size x industry).",
    ),
    "pareto": (
        "pareto",
        "pareto_command",
        LOOK,
        "The Pareto curve of revenue (customers sorted by revenue, descending) and where A, B and C end on it.",
    ),
    "migration": (
        "migration",
        "migration_command",
        LOOK,
        "Transition matrix between two runs (counts or revenue); --who lists the customers behind a cell.",
    ),
    "behaviour": (
        "behaviour",
        "behaviour_command",
        LOOK,
        "Change of frequency, average order value and category mix in the last period against the previous one, with the rule that flagged each customer as growing, declining or stable.",
    ),
    "experience": (
        "experience",
        "experience_command",
        LOOK,
        "NPS and CSAT over time, first response time of tickets and churn rate, overall and per segment.",
    ),
    "report": (
        "report",
        "report_command",
        LOOK,
        "Write the HTML report: what changed, segments, RFM grid, Pareto curve, migration Sankey, CLV, profiles.",
    ),
    "churn": (
        "churn",
        "app",
        MODELS,
        "Churn rate per period and segment, its trend, survival, reasons; `fit` the risk model.",
    ),
    "clv": (
        "clv",
        "clv_command",
        MODELS,
        "Fit BG/NBD and Gamma-Gamma on purchases up to the end of --calibration-end and store each customer's p_alive, expected purchases in 90 days, expected spend per purchase and 12-month CLV in segmentum.model_clv (usable in definitions like customer attributes).",
    ),
    "cluster": (
        "cluster",
        "cluster_command",
        MODELS,
        "Cluster customers (k-means on mixed attributes) and save the result as segmentation NAME.",
    ),
    "replenishment": (
        "replenishment",
        "replenishment_command",
        MODELS,
        "Usual re-buy interval, next purchase date and status (due, overdue, not_due) per customer; stored in segmentum.model_replenishment (columns replen_* usable in definitions) and segmentum.replenishment_categories.",
    ),
    "outbox": (
        "outbox",
        "outbox_command",
        ACT,
        "Trigger actions (tasks, webhooks, emails, exports): retry failed ones, deliver, and list them.",
    ),
    "uplift": (
        "uplift",
        "uplift_command",
        ACT,
        "Treated vs hold-out customers after a trigger's transition: conversion and revenue with 95 % intervals.",
    ),
    "tasks": ("tasks", "app", ACT, "Tasks for managers, created by trigger actions: list, assign, complete."),
    "lists": (
        "lists",
        "app",
        ACT,
        "Static lists: segments whose members are given (do-not-contact, VIP by hand), usable in in_segment, suppress and as a trigger's segment.",
    ),
    "serve": (
        "serve",
        "serve_command",
        ACT,
        "Serve the HTTP API under /v1 (docs at /v1/docs) with real-time membership from posted events.",
    ),
    "keys": ("keys", "app", ACT, "API keys for the HTTP API (scopes: read < write < admin)."),
    "users": ("users", "app", ACT, "Dashboard users (sign-in with a user name and password)."),
    "forget": (
        "forget",
        "forget_command",
        ACT,
        "Erase a customer from every table, snapshot, task and outbox row; the audit log records it (hashed id).",
    ),
}
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


def load_command(name: str) -> click.Command:
    """Import the command's module and build its click command (a Typer app in the module becomes a group)."""
    module_name, attribute, panel, _ = COMMANDS[name]
    target = getattr(importlib.import_module(f"segmentum.cli.{module_name}"), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(
            context_settings=CONTEXT_SETTINGS, add_completion=False, pretty_exceptions_enable=False
        )
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    command.rich_help_panel = panel  # type: ignore[attr-defined]  # read by Typer's help with getattr
    return command


class LazyGroup(TyperGroup):
    """The root group: lists every command from COMMANDS and imports one only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_help_option(self, ctx: click.Context) -> Any:
        # An absent flag's value is None here, and Typer (0.29) coerces None through a pydantic TypeAdapter:
        # 0.3 s of imports before `segmentum COMMAND --help` prints anything. False is what the flag means.
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        # Listing for --help: a stand-in carrying the one-line help, so listing imports nothing.
        _, _, panel, short_help = COMMANDS[cmd_name]
        stand_in = TyperCommand(cmd_name, help=short_help)
        stand_in.rich_help_panel = panel
        return stand_in

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name in COMMANDS and name not in self.commands:
            self.commands[name] = load_command(name)
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            suggestion = get_close_matches(name, list(COMMANDS), n=1)
            if suggestion and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean '{suggestion[0]}'?"
            raise


app = typer.Typer(
    name="segmentum",
    cls=LazyGroup,
    help="Customer segmentation engine: load data, define segments, run, analyse and act.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT_SETTINGS,
)


def _print_version(value: bool) -> None:
    if value:
        from segmentum import __version__

        print(f"segmentum {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors", envvar="SEGMENTUM_DEBUG"),
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit", callback=_print_version, is_eager=True
    ),
) -> None:
    if debug:
        os.environ["SEGMENTUM_DEBUG"] = "1"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: `Error: ...` and exit 1 for expected errors; a traceback only with --debug."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("SEGMENTUM_DEBUG") == "1"
    try:
        app(args=args, prog_name="segmentum", standalone_mode=False)
    except SegmentumError as exc:
        if debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("Error: aborted", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the one boundary for unexpected errors
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if debug:
            raise
        print(f"Error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
