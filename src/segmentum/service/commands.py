"""The operations the CLI starts, each run where the store's owner is (DESIGN.md principle 6).

DuckDB lets one process write a file. While `segmentum serve` runs for a workspace it owns the store, so a
CLI command of that workspace must not open it: `call(ws, name, **params)` sends the operation to the
server (`POST /v1/commands/{name}`, allowed only with the server's internal token, which only the local
CLI can read), and otherwise runs it here. Either way the answer is the same JSON-able value, so the CLI
renders one shape whichever process did the work.

Each operation is one library call; this module only names them, says which ones write (they take the
server's run lock, so a micro-batch never interleaves with them), and converts the answer to JSON values.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from segmentum.errors import BusyError, NotFoundError, RunError, SegmentumError
from segmentum.jsonable import jsonable
from segmentum.progress import Progress, notify
from segmentum.workspace import Workspace


@dataclass(frozen=True)
class Command:
    name: str
    func: Callable[..., Any]
    writes: bool  # takes the run lock while serving
    # loads, erases or rewrites the canonical tables events are appended to: while serving it holds the event
    # writer, whose appends would otherwise conflict with its transaction (posted events get 429 meanwhile)
    canonical: bool = False


COMMANDS: dict[str, Command] = {}


def command(
    name: str, *, writes: bool = False, canonical: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS[name] = Command(name, func, writes, canonical)
        return func

    return register


def execute(ws: Workspace, name: str, params: dict[str, Any], *, lock: threading.Lock | None = None) -> Any:
    """Run operation `name` here, with the run lock when it writes; the answer as JSON values."""
    found = COMMANDS.get(name)
    if found is None:
        from segmentum.errors import did_you_mean

        raise NotFoundError(
            f"no command '{name}'{did_you_mean(name, COMMANDS)}; commands: {', '.join(sorted(COMMANDS))}"
        )
    guard: AbstractContextManager[Any] = lock if (lock is not None and found.writes) else nullcontext()
    with guard:
        return jsonable(found.func(ws, **params))


def call(ws: Workspace, name: str, /, **params: Any) -> Any:
    """Run operation `name` in the process that owns the store: the running server, else this one."""
    from segmentum.service.ownership import ServerClient, running_server

    record = running_server(ws.root)
    if record is None:
        return execute(ws, name, params)
    # progress bars are drawn by the process that shows them: the server records the operation's progress
    # under a tag this process chose, and this process reads it back while the operation runs
    progress = params.pop("progress", None)
    # long operations (ingest of a large file, a run) answer when they are done
    client = ServerClient(record, timeout=None)
    if progress is None:
        return client.request("POST", f"/v1/commands/{name}", json_body=jsonable(params))
    return _forwarded_with_progress(ServerClient(record), client, name, params, progress)


def _forwarded_with_progress(
    poller: Any, client: Any, name: str, params: dict[str, Any], progress: Progress, poll_s: float = 0.5
) -> Any:
    """Operation `name` through the server, while its progress there (`GET /v1/commands/progress/{tag}`)
    is polled and drawn here; the last state is drawn once more after the answer, so that even an operation
    quicker than one poll shows where it ended."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import TimeoutError as StillRunning

    tag = uuid.uuid4().hex

    def show() -> None:
        try:
            state = poller.request("GET", f"/v1/commands/progress/{tag}")
        except SegmentumError:  # not registered yet or already forgotten: the next poll or the answer tells
            return
        if state and state.get("label"):
            notify(progress, state["done"], state["total"] or None, state["label"], state.get("unit") or "")

    with ThreadPoolExecutor(1, thread_name_prefix="segmentum-forward") as pool:
        answer = pool.submit(
            client.request, "POST", f"/v1/commands/{name}", json_body=jsonable(params), params={"tag": tag}
        )
        while True:
            try:
                result = answer.result(timeout=poll_s)
                break
            except StillRunning:
                show()
        show()
        return result


def call_backfill(
    ws: Workspace,
    *,
    start: str,
    end: str,
    every: str = "1m",
    engine: str = "duckdb",
    only: list[str] | None = None,
    progress: Progress | None = None,
    poll_s: float = 0.5,
) -> list[dict[str, Any]]:
    """The backfill operation with its progress wherever it runs: here, the library reports each point;
    through a running server, as the server's backfill job (`POST /v1/runs/backfill`), whose record
    (`GET /v1/runs/jobs/{id}`) is polled for its points done. The answer is `backfill`'s rows either way."""
    import time

    from segmentum.service.ownership import ServerClient, running_server

    params: dict[str, Any] = {"start": start, "end": end, "every": every, "engine": engine, "only": only}
    record = running_server(ws.root)
    if record is None:
        return execute(ws, "backfill", {**params, "progress": progress})
    if engine != "duckdb":  # the server's job runs its own engine: ask for this one as one request
        return call(ws, "backfill", **params)
    client = ServerClient(record)
    body = {"from": start, "to": end, "every": every, "only": only}
    while True:  # a run in progress (a scheduled one, another backfill) is waited for, as the run lock would
        try:
            job = client.request("POST", "/v1/runs/backfill", json_body=body)
            break
        except BusyError as exc:
            busy = exc.details if isinstance(exc.details, dict) else {}
            label = f"waiting for the {busy.get('kind', 'run')} in progress (job {busy.get('job_id', '?')})"
            notify(progress, 0, None, label)
            time.sleep(poll_s)
    while True:
        state = job["progress"]
        notify(progress, state["done"], state["total"], f"backfill to {end} through segmentum serve")
        if job["status"] != "running":
            break
        time.sleep(poll_s)
        job = client.request("GET", f"/v1/runs/jobs/{job['job_id']}")
    if job["status"] != "complete":
        raise RunError(
            f"the backfill (job {job['job_id']} of segmentum serve at {record.url}) failed after "
            f"{job['progress']['done']} of {job['progress']['total']} points: {job['message']}"
        )
    return list(job["runs"])


# ------------------------------------------------------------------------------------------- operations


def _table(frame: Any) -> dict[str, Any]:
    """A DataFrame as its columns and records: the columns keep the header of an empty table."""
    return {"columns": [str(c) for c in frame.columns], "rows": frame.to_dict(orient="records")}


@command("ingest", writes=True, canonical=True)
def _ingest(
    ws: Workspace, *, table: str, path: str, progress: Progress | None = None, **options: Any
) -> dict[str, Any]:
    """`progress` is the CLI's display here, or the server's job record when the server ingests."""
    from segmentum.ingest.load import StrictIngestError, ingest

    try:
        report = ingest(ws, table, path, progress=progress, **options)
    except StrictIngestError as exc:
        return {"report": exc.report.to_dict(), "summary": exc.report.summary(), "error": str(exc)}
    return {"report": report.to_dict(), "summary": report.summary(), "error": None}


@command("run", writes=True)
def _run(
    ws: Workspace, *, triggers: bool = True, progress: Progress | None = None, **options: Any
) -> dict[str, Any]:
    """`progress` is the CLI's display here, or the server's job record when the server runs it."""
    # inside `segmentum serve` the delivery worker sends what the run enqueues
    record = ws.server()
    serving = record is not None and record.pid == os.getpid()
    result = ws.run(triggers=triggers, deliver=not serving, progress=progress, **options)
    # as_of is wall-clock time in the workspace zone: say which (the CLI labels it)
    return {**result.summary(), "timezone": ws.config.timezone, "actions": result.actions}


@command("backfill", writes=True)
def _backfill(
    ws: Workspace, *, start: str, end: str, every: str = "1m", **options: Any
) -> list[dict[str, Any]]:
    from datetime import date

    from segmentum.runs.backfill import backfill, point_row

    results = backfill(ws, date.fromisoformat(start), date.fromisoformat(end), every, **options)
    return [point_row(r) for r in results]


@command("lists")
def _lists(ws: Workspace) -> list[dict[str, Any]]:
    from segmentum.service.lists import listing

    return listing(ws)


@command("lists_members")
def _lists_members(ws: Workspace, *, name: str) -> list[str]:
    from segmentum.store.lists import members

    return members(ws.store, name)


@command("lists_add", writes=True)
def _lists_add(ws: Workspace, *, name: str, path: str, replace: bool = False) -> dict[str, Any]:
    from segmentum.service.lists import add
    from segmentum.store.lists import read_ids

    return add(ws, name, read_ids(path), replace=replace)


@command("lists_remove", writes=True)
def _lists_remove(ws: Workspace, *, name: str, ids: list[str] | None = None) -> dict[str, Any]:
    from segmentum.service.lists import remove

    return remove(ws, name, ids)


@command("segments")
def _segments(ws: Workspace, *, run_id: int | None = None) -> dict[str, Any]:
    from segmentum.views.segments import segment_sizes

    overview = segment_sizes(ws, run_id)
    return {"run": overview.run.to_dict(), "sizes": overview.sizes.to_dict(orient="records")}


@command("members")
def _members(
    ws: Workspace,
    *,
    name: str,
    run_id: int | None = None,
    filters: list[str] | None = None,
    output: str | None = None,
    columns: list[str] | None = None,
    delimiter: str | None = None,
) -> dict[str, Any]:
    """The members (every attribute, or the chosen `columns`: attributes, traits, model outputs), or with
    `output` (an absolute path) the file written there by the store's owner (the one export home)."""
    from segmentum.actions.sinks.export import export_options, file_format, member_rows, write_export

    options = export_options(ws, delimiter)  # a bad delimiter fails before the query
    if output is not None:
        file_format(output)  # and an unknown extension
    rows = member_rows(ws, name, run_id=run_id, filters=filters, columns=columns)
    if output is not None:
        return {"count": len(rows), "written": str(write_export(rows, output, options))}
    return {"count": len(rows), **_table(rows)}


@command("customer")
def _customer(ws: Workspace, *, customer_id: str) -> dict[str, Any]:
    from segmentum.views.customers import customer

    return customer(ws, customer_id)


@command("explain")
def _explain(ws: Workspace, *, customer_id: str, name: str, as_of: str | None = None) -> dict[str, Any]:
    from segmentum.runs.explain import explain

    return explain(ws, customer_id, name, as_of=as_of).to_dict()


@command("preview")
def _preview(ws: Workspace, *, names: list[str] | None = None) -> dict[str, Any]:
    from segmentum.runs.preview import preview

    result = preview(ws, names=names)
    return {**result.to_dict(), "table": result.frame().to_dict(orient="records")}


@command("profile")
def _profile(ws: Workspace, *, name: str, run_id: int | None = None, top: int = 10) -> dict[str, Any]:
    import pandas as pd

    from segmentum.analysis.profile import profile

    result = profile(ws, name, run_id=run_id, top=top)
    return {k: (v.to_dict(orient="records") if isinstance(v, pd.DataFrame) else v) for k, v in result.items()}


@command("migration")
def _migration(
    ws: Workspace,
    *,
    segmentation: str,
    from_run: int | None = None,
    to_run: int | None = None,
    who: list[str] | None = None,
) -> dict[str, Any]:
    import pandas as pd

    from segmentum.analysis.migration import migration

    result = migration(ws, segmentation, from_run=from_run, to_run=to_run, who=tuple(who) if who else None)  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for key, value in result.items():
        if isinstance(value, pd.DataFrame):
            if key.endswith("matrix"):
                value = value.reset_index()
            out[key] = value.to_dict(orient="records")
        else:
            out[key] = value
    return out


@command("tasks")
def _tasks(
    ws: Workspace, *, assignee: str | None = None, status: str | None = "open", customer_id: str | None = None
) -> list[dict[str, Any]]:
    from segmentum.views.tasks import tasks

    return list(tasks(ws, assignee=assignee, status=status, customer_id=customer_id)["tasks"])


@command("tasks.assign", writes=True)
def _assign(ws: Workspace, *, task_id: int, user: str) -> Any:
    from segmentum.actions.tasks import assign_task

    return assign_task(ws, task_id, user)


@command("tasks.complete", writes=True)
def _complete(ws: Workspace, *, task_id: int) -> Any:
    from segmentum.actions.tasks import complete_task

    return complete_task(ws, task_id)


@command("outbox", writes=True)
def _outbox(
    ws: Workspace,
    *,
    status: str | None = None,
    reason: str | None = None,
    retry_ids: list[int] | None = None,
    retry_all: bool = False,
    deliver_now: bool = False,
    force: bool = False,
    run_id: int | None = None,
    limit: int = 100,
    reprocess: int | None = None,
) -> dict[str, Any]:
    from segmentum.actions.outbox import check_reason, counts, deliver, list_outbox, retry
    from segmentum.actions.triggers import finish_pending
    from segmentum.actions.triggers import reprocess as reprocess_run

    check_reason(reason)  # before anything is done
    out: dict[str, Any] = {"retried": None, "delivery": None, "reprocessed": None}
    # a run whose process stopped before its transitions reached the outbox is finished first
    resumed, out["warnings"] = finish_pending(ws)
    out["resumed"] = [r.as_dict() for r in resumed]
    if reprocess is not None:
        out["reprocessed"] = reprocess_run(ws, reprocess).as_dict()
    if retry_all or retry_ids:
        out["retried"] = retry(ws, list(retry_ids or []) or None, all_failed=retry_all)
    if deliver_now:
        out["delivery"] = deliver(ws, due_only=not force).as_dict()
    out["counts"] = counts(ws)
    out["items"] = list_outbox(ws, status=status, run_id=run_id, limit=limit, reason=reason)
    return out


@command("uplift")
def _uplift(ws: Workspace, *, trigger: str, as_of: str | None = None) -> dict[str, Any]:
    from segmentum.analysis.uplift import uplift

    return uplift(ws, trigger, as_of=as_of).as_dict()


@command("forget", writes=True, canonical=True)
def _forget(ws: Workspace, *, customer_id: str, delete_files: list[str] | None = None) -> dict[str, Any]:
    from segmentum.ingest.aliases import resolve_columns
    from segmentum.store.erase import delete_files as delete
    from segmentum.store.erase import forget

    if delete_files is not None:  # the second step: files `forget` listed, which the user chose to delete
        return {"deleted_files": delete(ws, delete_files)}

    def id_column(table: str, columns: list[str], mapping: dict[str, str] | None) -> str | None:
        # the ingest's own rule: which source column (`Customer ID`, `Клиент`, ...) became customer_id
        return next(
            (s for s, t in resolve_columns(table, columns, mapping).items() if t == "customer_id"), None
        )

    return forget(ws, customer_id, id_column=id_column)


@command("compact", writes=True, canonical=True)
def _compact(ws: Workspace, *, force: bool = False) -> list[dict[str, Any]]:
    """The fact tables rewritten in customer order where their unsorted tail is large (all with `force`).
    While serving, posted events are refused with 429 meanwhile (`Runtime.command` holds the event writer)."""
    from dataclasses import asdict

    from segmentum.store.compact import compact, layout

    before = {t.table: t for t in layout(ws.store)}
    return [
        {**asdict(c), "tail_before": before[c.table].tail if c.table in before else 0}
        for c in compact(ws.store, force=force)
    ]


# ------------------------------------------------------------------------------------------- reads
# runs, quarantine, coverage, pareto, compare, crosstab, sql, validate, users, builtins


@command("runs")
def _runs(ws: Workspace, *, limit: int = 50) -> list[dict[str, Any]]:
    from segmentum.store.snapshots import list_runs

    # as_of, started_at and finished_at are all wall-clock times in the workspace zone: say which
    return [{**r.to_dict(), "timezone": ws.config.timezone} for r in list_runs(ws.store)[:limit]]


@command("quarantine")
def _quarantine(
    ws: Workspace, *, table: str | None = None, ingest_id: int | None = None, limit: int | None = 100
) -> list[dict[str, Any]]:
    from segmentum.ingest.load import quarantined_rows

    return quarantined_rows(ws, table=table, ingest_id=ingest_id, limit=limit)


@command("coverage")
def _coverage(ws: Workspace) -> dict[str, Any]:
    from segmentum.analysis.coverage import coverage

    return coverage(ws).to_dict()


@command("pareto")
def _pareto(ws: Workspace, *, run_id: int | None = None, points: int = 20) -> dict[str, Any]:
    from segmentum.analysis import pareto

    result = pareto(ws, run_id=run_id, points=points)
    curve = result["curve"]
    return {**result, "curve": curve.to_dict(orient="records"), "curve_columns": [str(c) for c in curve]}


@command("compare")
def _compare(ws: Workspace, *, names: list[str], run_id: int | None = None) -> dict[str, Any]:
    from segmentum.analysis import compare

    return _table(compare(ws, names, run_id=run_id))


@command("crosstab")
def _crosstab(ws: Workspace, *, rows: str, columns: str, run_id: int | None = None) -> dict[str, Any]:
    from segmentum.analysis import crosstab

    return _table(crosstab(ws, rows, columns, run_id=run_id))


@command("sql")
def _sql(ws: Workspace, *, name: str | None = None, dialect: str = "duckdb", as_of: str = "latest") -> str:
    from segmentum.runs.execute import compiled_sql

    return compiled_sql(ws, name, dialect=dialect, as_of=as_of)


@command("validate")
def _validate(ws: Workspace) -> dict[str, Any]:
    from segmentum.actions import validate_triggers

    defs = ws.definitions()
    validate_triggers(ws, defs)  # webhook allowlist, templates, export targets
    return {
        "valid": True,
        "files": defs.files,
        "builtins": defs.builtins,
        "skipped_builtins": defs.skipped,
        "traits": len(defs.traits),
        "segments": len(defs.segments),
        "segmentations": len(defs.segmentations),
        "triggers": len(defs.triggers),
    }


@command("builtins")
def _builtins(ws: Workspace) -> dict[str, list[str]]:
    """Built-in -> what this workspace lacks for it (empty when it can run)."""
    from segmentum.analysis.coverage import requirements

    return requirements(ws)


@command("users.add", writes=True)
def _users_add(
    ws: Workspace, *, name: str, password: str, replace: bool = False, role: str | None = None
) -> None:
    from segmentum.service.users import add_user

    add_user(ws.store, name, password, replace=replace, role=role)


@command("users.list")
def _users_list(ws: Workspace) -> list[dict[str, Any]]:
    from segmentum.service.users import list_users

    return list_users(ws.store)


@command("users.remove", writes=True)
def _users_remove(ws: Workspace, *, name: str) -> None:
    from segmentum.service.users import remove_user

    remove_user(ws.store, name)


# ------------------------------------------------------------------------ models and reports
# (`segmentum report` is registered in segmentum/report/command.py: the report package is above this layer)


@command("churn")
def _churn(
    ws: Workspace,
    *,
    as_of: str = "latest",
    period: str = "month",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
    periods: int | None = 24,
) -> dict[str, Any]:
    from segmentum.models.churn import churn_report

    report = churn_report(
        ws,
        as_of=as_of,
        period=period,
        segmentation=segmentation,
        run_id=run_id,
        inactivity_days=inactivity_days,
        basis=basis,
        periods=periods,
    )
    return {k: (_table(v) if hasattr(v, "to_dict") else v) for k, v in report.items()}


@command("churn.fit", writes=True)
def _churn_fit(
    ws: Workspace,
    *,
    as_of: str = "latest",
    horizon_days: int = 90,
    inactivity_days: int = 90,
    basis: str = "auto",
) -> dict[str, Any]:
    from segmentum.models.churn import fit_churn_risk
    from segmentum.models.persist import CHURN_TABLE, qualified, write_model_churn

    result = fit_churn_risk(
        ws, as_of, horizon_days=horizon_days, inactivity_days=inactivity_days, basis=basis
    )
    write_model_churn(ws, result)
    return {"model": result.to_dict(), "table": qualified(CHURN_TABLE)}


@command("clv", writes=True)
def _clv(
    ws: Workspace,
    *,
    calibration_end: str,
    holdout_end: str | None = None,
    time_unit: str = "week",
    horizon: str = "12m",
    discount_rate: float = 0.01,
    penalizer: float = 0.0,
    chart: str | None = None,
    store: bool = True,
    customers: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The fit, stored unless `store` is false; with `customers` the per-customer table; with `chart` (an
    absolute path) the holdout chart written there by the store's owner when there is a holdout."""
    from segmentum.models.clv import fit_clv, validation_figure
    from segmentum.models.persist import CLV_TABLE, qualified, write_model_clv

    result = fit_clv(
        ws,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        time_unit=time_unit,
        horizon=horizon,
        discount_rate=discount_rate,
        penalizer=penalizer,
        progress=progress,
    )
    data = result.to_dict()
    if store:
        data["stored"] = {"table": qualified(CLV_TABLE), "rows": write_model_clv(ws, result)}
    chart_written = None
    if chart is not None and result.validation is not None:
        validation_figure(result.validation).write_html(chart, include_plotlyjs=True)
        chart_written = chart
    return {
        "fit": data,
        "horizon": result.horizon,
        "customers": _table(result.customers.reset_index()) if customers else None,
        "validation": None if result.validation is None else _table(result.validation),
        "chart": chart_written,
    }


@command("cluster", writes=True)
def _cluster(
    ws: Workspace,
    *,
    name: str,
    assign: bool = False,
    features: list[str] | None = None,
    k: int | str = "auto",
    k_range: tuple[int, int] | list[int] = (2, 10),
    run_id: int | None = None,
    from_survey: bool = False,
    surveys: list[str] | None = None,
    random_state: int = 0,
    sample_size: int = 50_000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from segmentum.models.cluster_store import assign_clustering, fit_clustering

    if assign:
        result = assign_clustering(ws, name, run_id=run_id)
    else:
        low, high = k_range
        result = fit_clustering(
            ws,
            name,
            features=features,
            k=k,
            k_range=(low, high),
            run_id=run_id,
            from_survey=from_survey,
            surveys=surveys,
            random_state=random_state,
            sample_size=sample_size,
            progress=progress,
        )
    model = result.model
    return {
        **result.to_dict(),
        "assignments": [
            {
                "cluster": cid,
                "segment": model.segments_[cid],
                "name": model.names_[cid],
                "customers": result.counts.get(cid, 0),
            }
            for cid in model.cluster_ids_
        ],
        "k_scores_table": _table(model.k_scores_),
    }


@command("replenishment", writes=True)
def _replenishment(
    ws: Workspace,
    *,
    as_of: str = "latest",
    tolerance: float = 0.2,
    min_gaps: int = 2,
    categories: list[str] | str | None = None,
    customers: bool = False,
) -> dict[str, Any]:
    from segmentum.models.persist import REPLENISHMENT_TABLE, qualified, write_replenishment
    from segmentum.models.replenishment import ReplenishmentModel, replenishment_summary

    summary = replenishment_summary(ws, as_of, categories=categories)
    model = ReplenishmentModel(min_gaps=min_gaps, tolerance=tolerance).fit(summary)
    write_replenishment(ws, model)
    return {
        "as_of": model.as_of_,
        "customers": len(model.customers_),
        "table": qualified(REPLENISHMENT_TABLE),
        "rows": _table(model.customers_.drop(columns=["replen_as_of"]) if customers else model.summary()),
    }


@command("behaviour")
def _behaviour(
    ws: Workspace,
    *,
    as_of: str = "latest",
    period: str = "90d",
    baseline: str | None = None,
    status: str | None = None,
    customers: bool = False,
) -> dict[str, Any]:
    """Per customer (all, or those of one `status`), else the customers and category shifts per status."""
    from segmentum.analysis.behaviour import behaviour_changes

    frame = behaviour_changes(ws, as_of, period, baseline=baseline)
    window = {k: frame.attrs[k] for k in ("previous_start", "period_start", "as_of")}
    if status is not None:
        frame = frame[frame["status"] == status]
    if customers or status is not None:
        return {**window, "per_customer": True, "rows": _table(frame)}
    summary = (
        frame.groupby("status")
        .agg(customers=("customer_id", "size"), category_shift=("category_shift", "sum"))
        .reset_index()
    )
    return {**window, "per_customer": False, "rows": _table(summary)}


@command("experience")
def _experience(
    ws: Workspace,
    *,
    segmentation: str | None = None,
    as_of: str = "latest",
    run_id: int | None = None,
    period: str = "month",
    periods: int = 24,
) -> dict[str, Any]:
    from segmentum.analysis.experience import experience

    data = experience(ws, segmentation, as_of=as_of, run_id=run_id, period=period, periods=periods)
    return {k: _table(v) for k, v in data.items() if hasattr(v, "to_dict")}


__all__ = ["COMMANDS", "Command", "SegmentumError", "call", "command", "execute"]
