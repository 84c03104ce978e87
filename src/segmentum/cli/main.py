"""The `segmentum` application: only registers commands (one module per command) and the error boundary."""

from __future__ import annotations

import os
import sys

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
    # One line per command module; each module holds one command (or one command group).
    from segmentum.cli import backfill, compare, crosstab, forget, init, migration, pareto, profile, report, validate

    app.command("init")(init.init_command)
    app.command("validate")(validate.validate_command)
    from segmentum.cli import builtins as builtins_cli
    from segmentum.cli import coverage as coverage_cli

    app.add_typer(builtins_cli.app, name="builtins")
    app.command("coverage")(coverage_cli.coverage_command)
    app.command("profile")(profile.profile_command)
    app.command("compare")(compare.compare_command)
    app.command("crosstab")(crosstab.crosstab_command)
    app.command("pareto")(pareto.pareto_command)
    app.command("migration")(migration.migration_command)
    app.command("report")(report.report_command)
    app.command("backfill")(backfill.backfill_command)
    app.command("forget")(forget.forget_command)
    from segmentum.cli import cluster

    app.command("cluster")(cluster.cluster_command)
    from segmentum.cli import clv

    app.command("clv")(clv.clv_command)
    from segmentum.cli import replenishment as replenishment_cli

    app.command("replenishment")(replenishment_cli.replenishment_command)
    from segmentum.cli import churn as churn_cli

    app.add_typer(churn_cli.app, name="churn")
    from segmentum.cli import behaviour as behaviour_cli
    from segmentum.cli import experience as experience_cli

    app.command("behaviour")(behaviour_cli.behaviour_command)
    app.command("experience")(experience_cli.experience_command)
    from segmentum.cli import keys, serve

    app.add_typer(keys.app, name="keys")
    from segmentum.cli import users as users_cli

    app.add_typer(users_cli.app, name="users")
    app.command("serve")(serve.serve_command)
    from segmentum.cli import outbox, tasks

    app.add_typer(tasks.app, name="tasks")
    app.command("outbox")(outbox.outbox_command)
    from segmentum.cli import demo

    app.command("demo")(demo.demo_command)
    from segmentum.cli import ingest as ingest_cli
    from segmentum.cli import quarantine as quarantine_cli

    app.command("ingest")(ingest_cli.ingest_command)
    app.command("quarantine")(quarantine_cli.quarantine_command)
    from segmentum.cli import customer as customer_cli
    from segmentum.cli import explain as explain_cli
    from segmentum.cli import members as members_cli
    from segmentum.cli import preview as preview_cli
    from segmentum.cli import run as run_cli
    from segmentum.cli import runs as runs_cli
    from segmentum.cli import segments as segments_cli
    from segmentum.cli import sql as sql_cli

    app.command("run")(run_cli.run_command)
    app.command("runs")(runs_cli.runs_command)
    app.command("segments")(segments_cli.segments_command)
    app.command("members")(members_cli.members_command)
    app.command("customer")(customer_cli.customer_command)
    app.command("sql")(sql_cli.sql_command)
    app.command("explain")(explain_cli.explain_command)
    app.command("preview")(preview_cli.preview_command)


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
