"""The `segmentum` application: only registers commands (one module per command) and the error boundary."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import typer

from segmentum.errors import SegmentumError

app = typer.Typer(
    name="segmentum",
    help="Customer segmentation engine: load data, define segments, run, analyse and act.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors", envvar="SEGMENTUM_DEBUG"),
) -> None:
    if debug:
        os.environ["SEGMENTUM_DEBUG"] = "1"


def _register() -> None:
    """One module per command (or command group), listed in the order of the user's journey."""
    from segmentum.cli import (
        backfill,
        behaviour,
        builtins,
        churn,
        cluster,
        clv,
        compare,
        coverage,
        crosstab,
        customer,
        demo,
        experience,
        explain,
        forget,
        ingest,
        init,
        keys,
        members,
        migration,
        outbox,
        pareto,
        preview,
        profile,
        quarantine,
        replenishment,
        report,
        run,
        runs,
        segments,
        serve,
        sql,
        tasks,
        users,
        validate,
    )

    commands: dict[str, Callable[..., Any]] = {
        # set up and load
        "demo": demo.demo_command,
        "init": init.init_command,
        "ingest": ingest.ingest_command,
        "quarantine": quarantine.quarantine_command,
        "coverage": coverage.coverage_command,
        # define and run
        "validate": validate.validate_command,
        "preview": preview.preview_command,
        "run": run.run_command,
        "runs": runs.runs_command,
        "backfill": backfill.backfill_command,
        "sql": sql.sql_command,
        # look at the results
        "segments": segments.segments_command,
        "members": members.members_command,
        "customer": customer.customer_command,
        "explain": explain.explain_command,
        "profile": profile.profile_command,
        "compare": compare.compare_command,
        "crosstab": crosstab.crosstab_command,
        "pareto": pareto.pareto_command,
        "migration": migration.migration_command,
        "behaviour": behaviour.behaviour_command,
        "experience": experience.experience_command,
        "report": report.report_command,
        # models
        "clv": clv.clv_command,
        "cluster": cluster.cluster_command,
        "replenishment": replenishment.replenishment_command,
        # act and serve
        "outbox": outbox.outbox_command,
        "serve": serve.serve_command,
        "forget": forget.forget_command,
    }
    for name, command in commands.items():
        app.command(name)(command)
    for name, group in {
        "builtins": builtins.app,
        "churn": churn.app,
        "tasks": tasks.app,
        "keys": keys.app,
        "users": users.app,
    }.items():
        app.add_typer(group, name=name)


_register()


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
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if debug:
            raise
        print(f"Error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
