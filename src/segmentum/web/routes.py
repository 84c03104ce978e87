"""The dashboard: server-rendered pages over the library (overview, segment, migration, customer, tasks,
definition editor), mounted by `segmentum serve` next to the API.

Every page but /login and /static needs a signed session cookie (see web/auth.py); without one the answer is
303 to /login. Pages only wire: numbers come from segmentum.analysis, snapshot, engine and actions.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import numbers
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import jinja2
import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmentum.errors import DefinitionError, NotFoundError, SegmentumError
from segmentum.i18n import LANGUAGES, Translator
from segmentum.report import charts
from segmentum.runs.sizes import segment_sizes
from segmentum.service import users as auth
from segmentum.store import snapshots as snapshot

log = logging.getLogger("segmentum.web")
router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "segmentum_lang"
PAGE_SIZE = 50
_LOCATION = re.compile(r":(\d+):(\d+):")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.ya?ml$")

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


# ------------------------------------------------------------------ plumbing
def _ws(request: Request) -> Any:
    state = request.app.state
    return state.runtime.ws if hasattr(state, "runtime") else state.ws


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "en"
    return lang if lang in LANGUAGES else "en"


def _key(request: Request) -> bytes:
    state = request.app.state
    if not hasattr(state, "web_secret"):
        state.web_secret = auth.secret(_ws(request).store)
    return bytes(state.web_secret)


def _user(request: Request) -> str | None:
    """The signed-in user, while the session is valid and the user (or API key) still exists unrevoked."""
    session = auth.read_session(_key(request), request.cookies.get(auth.SESSION_COOKIE))
    if session is None:
        return None
    runtime = getattr(request.app.state, "runtime", None)
    internal = runtime is not None and runtime.internal_token is not None
    return (
        session.user if auth.still_allowed(_ws(request).store, session.user, internal_key=internal) else None
    )


def _with_lang(request: Request, response: Response) -> Response:
    """Remember an explicit ?lang= choice in a cookie."""
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    lang = _lang(request)
    t = Translator(lang)
    html = _ENV.get_template(template).render(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        user=context.pop("user", None),
        request=request,
        lang_url=lambda code: _lang_url(request, code),
        nav=context.pop("nav", ""),
        **context,
    )
    return _with_lang(request, HTMLResponse(html, status_code=status_code))


def _lang_url(request: Request, code: str) -> str:
    params = dict(request.query_params)
    params["lang"] = code
    return request.url.path + "?" + urlencode(params)


def _error_page(request: Request, user: str, message: str, status_code: int = 404) -> Response:
    return _render(request, "error.html", status_code=status_code, user=user, message=message)


async def _form(request: Request) -> dict[str, str]:
    """An url-encoded form body (our forms send nothing else; python-multipart is not a dependency)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _figure(fig: Any, div_id: str) -> str | None:
    return charts.to_div(fig, div_id) if fig is not None else None


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


# ------------------------------------------------------------------ static and sign-in
@router.get("/static/plotly.js")
def plotly_js() -> Response:
    return Response(
        _plotly_js(), media_type="application/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return PlainTextResponse("not found", status_code=404)
    kind = {"css": "text/css", "js": "application/javascript"}.get(path.suffix.lstrip("."), "text/plain")
    return Response(path.read_bytes(), media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login")
def login_page(request: Request) -> Response:
    no_users = not auth.list_users(_ws(request).store)
    return _render(
        request, "login.html", error=None, next=request.query_params.get("next", "/"), no_users=no_users
    )


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    name = str(form.get("user") or "").strip()
    password = str(form.get("password") or "")
    api_key = str(form.get("api_key") or "").strip()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never redirect off-site
    ws = _ws(request)
    who: str | None = None
    if api_key:
        runtime = getattr(request.app.state, "runtime", None)
        key = await run_in_threadpool(runtime.authenticate, api_key) if runtime is not None else None
        who = f"key:{key.prefix}" if key is not None else None
    elif name and password:
        ok = await run_in_threadpool(auth.check_password, ws.store, name, password)
        who = name if ok else None
    if who is None:
        t = Translator(_lang(request))
        return _render(
            request,
            "login.html",
            status_code=401,
            next=target,
            no_users=False,
            error=t("Wrong user name, password or API key."),
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.sign_session(_key(request), who),
        max_age=auth.SESSION_SECONDS,
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ pages
@router.get("/")
def overview(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    ws = _ws(request)
    t = Translator(_lang(request))
    info = snapshot.latest_run(ws.store)
    if info is None:
        return _render(
            request,
            "overview.html",
            user=user,
            nav="overview",
            run=None,
            groups=[],
            chart=None,
            extra=[],
            runs=[],
        )
    sizes = segment_sizes(ws.store, info.run_id)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in sizes.itertuples():
        segmentation = row.segmentation if isinstance(row.segmentation, str) else t("Standalone segments")
        groups.setdefault(segmentation, []).append(
            {
                "name": row.name,
                "segment": row.segment,
                "customers": t.number(row.customers),
                "share": t.percent(row.share),
                "revenue_share": t.percent(row.revenue_share),
                "bar": max(0.0, min(100.0, float(row.share) * 100)),
            }
        )
    standalone = t("Standalone segments")
    if standalone in groups:  # after the segmentations
        groups[standalone] = groups.pop(standalone)
    chart = _figure(charts.overview_treemap(sizes, t), "chart-overview")
    extra = [_figure(charts.rfm_heatmap(ws, info.run_id, t), "chart-rfm")]
    try:
        from segmentum.analysis import pareto

        extra.append(_figure(charts.pareto_chart(pareto(ws, run_id=info.run_id), t), "chart-pareto"))
    except Exception:  # noqa: BLE001 - an extra chart that cannot be drawn must not take the overview down
        log.warning("the overview's Pareto curve failed", exc_info=True)
    runs = snapshot.list_runs(ws.store)[:10]
    return _render(
        request,
        "overview.html",
        user=user,
        nav="overview",
        run=info,
        groups=list(groups.items()),
        chart=chart,
        extra=[c for c in extra if c],
        runs=runs,
    )


@router.get("/segments/{name}")
def segment_page(request: Request, name: str, q: str = "", page: int = 1) -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    from segmentum.analysis import profile, segment_history

    ws = _ws(request)
    t = Translator(_lang(request))
    try:
        p = profile(ws, name, top=8)
        total, shown = members_page(ws, p["run_id"], name, q, page)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    segmentation = name.partition(".")[0] if "." in name else None
    history = segment_history(ws, segmentation)
    history = history[history["name"] == name]
    size_chart = (
        _figure(charts.size_over_time(history, t, t("Size over time")), "chart-size")
        if not history.empty
        else None
    )
    metrics = [
        (t("Customers"), t.number(p["size"])),
        (t("Share"), t.percent(p["share"])),
        (t("Revenue"), t.number(p["revenue"], 2)),
        (t("Revenue share"), t.percent(p["revenue_share"])),
        (t("Average order value"), t.number(_nan(p["avg_order_value"]), 2)),
        (t("Orders per customer"), t.number(_nan(p["avg_orders"]), 1)),
        (t("Days since last order"), t.number(_nan(p["avg_recency_days"]))),
    ]
    features = [
        {
            "feature": r.feature,
            "segment": _fmt_value(t, r.segment),
            "base": _fmt_value(t, r.base),
            "lift": t.number(r.lift, 2),
        }
        for r in p["distinguishing"].itertuples()
    ]
    columns = list(shown.columns)
    rows = [[_cell(t, v) for v in row] for row in shown.itertuples(index=False)]
    query = {"q": q} if q else {}
    return _render(
        request,
        "segment.html",
        user=user,
        nav="segments",
        name=name,
        p=p,
        metrics=metrics,
        features=features,
        size_chart=size_chart,
        columns=columns,
        rows=rows,
        q=q,
        page=page,
        pages=pages,
        total=t.number(total),
        prev_url=f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        next_url=f"?{urlencode({**query, 'page': page + 1})}" if page < pages else None,
        csv_url=f"/segments/{quote(name)}/members.csv" + (f"?{urlencode(query)}" if q else ""),
    )


@router.get("/segments/{name}/members.csv")
def members_csv(request: Request, name: str, q: str = "") -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    ws = _ws(request)
    try:
        info = snapshot.resolve_run(ws.store)
        if (
            ws.store.cursor()
            .execute(
                "SELECT 1 FROM segmentum.memberships WHERE run_id = ? AND name = ? LIMIT 1",
                [info.run_id, name],
            )
            .fetchone()
            is None
        ):
            raise NotFoundError(
                f"no members of '{name}' in run {info.run_id}; the overview lists the segments"
            )
        sql, params = members_query(ws, info.run_id, name, q)
        # through Arrow: money stays exact in the file
        table = ws.store.cursor().execute(sql, params).to_arrow_table().to_pandas()
    except SegmentumError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


def members_query(ws: Any, run_id: int, name: str, q: str = "") -> tuple[str, list[Any]]:
    """SQL for a segment's members with their attributes, optionally those where any column contains `q`
    (case-insensitive); paging and search run in the store, so a segment of a million stays quick."""
    columns = (
        [c for c in ws.store.columns("customers") if c != "customer_id"]
        if ws.store.table_exists("customers")
        else []
    )
    columns = ['"' + c.replace('"', '""') + '"' for c in columns]
    select = "m.customer_id" + "".join(f", c.{c}" for c in columns)
    join = "LEFT JOIN main.customers c USING (customer_id)" if columns else ""
    sql = f"SELECT {select} FROM segmentum.memberships m {join} WHERE m.run_id = ? AND m.name = ?"
    params: list[Any] = [int(run_id), name]
    if q.strip():
        text = " || ' ' || ".join(["m.customer_id", *(f"coalesce(c.{c}::VARCHAR, '')" for c in columns)])
        sql += f" AND strpos(lower({text}), ?) > 0"
        params.append(q.strip().lower())
    return sql + " ORDER BY m.customer_id", params


def members_page(ws: Any, run_id: int, name: str, q: str, page: int) -> tuple[int, pd.DataFrame]:
    """(how many match, the members on page `page` of PAGE_SIZE)."""
    sql, params = members_query(ws, run_id, name, q)
    cur = ws.store.cursor()
    row = cur.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    total = int(row[0]) if row else 0
    page = min(max(1, page), max(1, math.ceil(total / PAGE_SIZE)))
    return total, cur.execute(f"{sql} LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}", params).df()


@router.get("/migration")
def migration_page(
    request: Request, segmentation: str = "", from_run: int | None = None, to_run: int | None = None
) -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    from segmentum.analysis import migration

    ws = _ws(request)
    t = Translator(_lang(request))
    runs = [r for r in snapshot.list_runs(ws.store) if r.status == "complete" and r.kind == "batch"]
    # the newest run's segmentations only: scanning every run's memberships would be slow on big stores
    known = (
        [
            r[0]
            for r in ws.store.cursor()
            .execute(
                "SELECT DISTINCT segmentation FROM segmentum.memberships WHERE run_id = ? "
                "AND segmentation IS NOT NULL ORDER BY segmentation",
                [runs[0].run_id],
            )
            .fetchall()
        ]
        if runs
        else []
    )
    if not segmentation and known:
        segmentation = "rfm" if "rfm" in known else known[0]
    chart = None
    flows: list[dict[str, Any]] = []
    message = None
    result = None
    if segmentation:
        try:
            result = migration(ws, segmentation, from_run=from_run, to_run=to_run)
        except SegmentumError as exc:
            message = str(exc)
    else:
        message = t("No data yet")
    if result is not None:
        chart = _figure(charts.sankey_chart(result, t), "chart-migration")
        flows = [
            {"from": r.from_segment, "to": r.to_segment, "customers": t.number(r.customers)}
            for r in result["flows"].sort_values("customers", ascending=False).itertuples()
            if r.from_segment != r.to_segment
        ]
        from_run, to_run = result["from_run"], result["to_run"]
    return _render(
        request,
        "migration.html",
        user=user,
        nav="migration",
        segmentations=known,
        segmentation=segmentation,
        runs=runs,
        from_run=from_run,
        to_run=to_run,
        chart=chart,
        flows=flows,
        message=message,
    )


@router.get("/customers")
def customer_search(request: Request, q: str = "") -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    ws = _ws(request)
    found: list[str] = []
    if q.strip() and ws.store.table_exists("customers"):
        needle = q.strip()
        exact = (
            ws.store.cursor()
            .execute("SELECT customer_id FROM main.customers WHERE customer_id = ?", [needle])
            .fetchone()
        )
        if exact is not None:
            return RedirectResponse(f"/customers/{quote(needle, safe='')}", status_code=303)
        text_columns = [c for c, kind in ws.store.columns("customers").items() if kind == "VARCHAR"]
        where = " OR ".join(f'"{c}" ILIKE ?' for c in text_columns)
        found = [
            r[0]
            for r in ws.store.cursor()
            .execute(
                f"SELECT customer_id FROM main.customers WHERE {where} ORDER BY customer_id LIMIT 50",
                [f"%{needle}%"] * len(text_columns),
            )
            .fetchall()
        ]
    return _render(request, "customers.html", user=user, nav="customers", q=q, found=found)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str, explain: str = "") -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    ws = _ws(request)
    t = Translator(_lang(request))
    attributes: dict[str, str] = {}
    if ws.store.table_exists("customers"):
        cur = ws.store.cursor().execute("SELECT * FROM main.customers WHERE customer_id = ?", [customer_id])
        row = cur.fetchone()
        if row is not None:
            attributes = {d[0]: _cell(t, v) for d, v in zip(cur.description, row, strict=True)}
    history = snapshot.history(ws.store, customer_id)
    if not attributes and history.empty:
        return _error_page(request, user, t("No customer {id}.", id=customer_id))
    current = snapshot.current_memberships(ws.store, customer_id)
    traits: dict[str, str] = {}
    if not current.empty:
        frame = snapshot.traits(ws.store, int(current["run_id"].iloc[0]), [customer_id])
        if not frame.empty:
            traits = {
                c: _cell(t, v)
                for c, v in frame.iloc[0].items()
                if c != "customer_id" and not str(c).startswith("__")
            }
    timeline = []
    for run_id, group in history.groupby("run_id", sort=True):
        first = group.iloc[0]
        timeline.append(
            {
                "run_id": int(run_id),
                "as_of": t.date(first["as_of"]),
                "kind": first["kind"],
                "names": list(group["name"]),
            }
        )
    explanation = None
    explain_error = None
    if explain:
        from segmentum.runs.explain import explain as explain_fn

        try:
            explanation = explain_fn(ws, customer_id, explain)
        except SegmentumError as exc:
            explain_error = str(exc)
    choices = (
        sorted(set(current["name"]) | {n.partition(".")[0] for n in current["name"] if "." in n})
        if not current.empty
        else []
    )
    return _render(
        request,
        "customer.html",
        user=user,
        nav="customers",
        customer_id=customer_id,
        attributes=attributes,
        traits=traits,
        current=list(current["name"]) if not current.empty else [],
        timeline=timeline,
        explain=explain,
        explanation=explanation,
        explain_error=explain_error,
        choices=choices,
        tasks=_customer_tasks(ws, customer_id, t),
        fmt=lambda v: _cell(t, v),
    )


def _customer_tasks(ws: Any, customer_id: str, t: Translator) -> list[dict[str, Any]]:
    from segmentum.actions.tasks import list_tasks

    tasks = list_tasks(ws, customer_id=customer_id, status=None)
    for task in tasks:
        task["due"] = t.date(task["due_at"])
    return tasks


@router.get("/tasks")
def tasks_page(request: Request, status: str = "open") -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    from segmentum.actions.tasks import list_tasks

    t = Translator(_lang(request))
    status = status if status in ("open", "done", "all") else "open"
    tasks = list_tasks(_ws(request), status=None if status == "all" else status)
    for task in tasks:
        task["due"] = t.date(task["due_at"])
    return _render(request, "tasks.html", user=user, nav="tasks", tasks=tasks, status=status)


@router.post("/tasks/{task_id}/complete")
def complete(request: Request, task_id: int) -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    from segmentum.actions.tasks import complete_task

    try:
        complete_task(_ws(request), task_id)
    except NotFoundError as exc:
        return _error_page(request, user, str(exc))
    return RedirectResponse("/tasks", status_code=303)


# ------------------------------------------------------------------ definition editor
def _definition_files(ws: Any) -> list[str]:
    folder = ws.root / "definitions"
    return (
        sorted(p.name for p in folder.glob("*.y*ml") if _FILE_NAME.match(p.name)) if folder.is_dir() else []
    )


@router.get("/editor")
def editor(request: Request, file: str = "", saved: str = "") -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    ws = _ws(request)
    files = _definition_files(ws)
    if not file:
        file = files[0] if files else "segments.yml"
    if not _FILE_NAME.match(file):
        return _error_page(
            request,
            user,
            f"file name {file!r} is not allowed: use letters, digits, '_' or '-' ending in .yml",
            400,
        )
    path = ws.root / "definitions" / file
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return _render(
        request,
        "editor.html",
        user=user,
        nav="editor",
        files=files,
        file=file,
        text=text,
        saved=bool(saved),
        error=None,
    )


def check_definitions(ws: Any, file: str, text: str) -> dict[str, Any]:
    """Validate an unsaved definitions file and preview its effect against the last run (nothing stored)."""
    from segmentum.runs.preview import preview

    overrides = {f"definitions/{file}": text}
    try:
        ws.definitions(overrides=overrides)
    except DefinitionError as exc:
        message = str(exc)
        where = _LOCATION.search(message.splitlines()[0] if message else "")
        return {
            "valid": False,
            "error": message,
            "line": int(where.group(1)) if where else None,
            "col": int(where.group(2)) if where else None,
        }
    try:
        result = preview(ws, overrides=overrides)
    except SegmentumError as exc:
        return {"valid": True, "preview_error": str(exc), "changed": {}, "segments": []}
    out = result.to_dict()
    out["as_of"] = str(out["as_of"]) if out["as_of"] is not None else None
    return {"valid": True, **out}


@router.post("/editor/check")
async def editor_check(request: Request) -> Response:
    if _user(request) is None:
        return JSONResponse({"error": "sign in first"}, status_code=401)
    body = await request.json()
    file = str(body.get("file") or "")
    if not _FILE_NAME.match(file):
        return JSONResponse(
            {
                "valid": False,
                "error": f"file name {file!r} is not allowed; use letters, digits, '_' or '-' ending in .yml",
                "line": None,
                "col": None,
            }
        )
    result = await run_in_threadpool(check_definitions, _ws(request), file, str(body.get("text") or ""))
    return JSONResponse(result)


@router.post("/editor/save")
async def editor_save(request: Request) -> Response:
    user = _user(request)
    if user is None:
        return _sign_in_redirect(request)
    form = await _form(request)
    file = str(form.get("file") or "")
    text = str(form.get("text") or "").replace("\r\n", "\n")
    ws = _ws(request)
    if not _FILE_NAME.match(file):
        return _error_page(
            request,
            user,
            f"file name {file!r} is not allowed; use letters, digits, '_' or '-' ending in .yml",
            400,
        )
    try:
        await run_in_threadpool(ws.definitions, overrides={f"definitions/{file}": text})
    except DefinitionError as exc:
        return _render(
            request,
            "editor.html",
            status_code=422,
            user=user,
            nav="editor",
            files=_definition_files(ws),
            file=file,
            text=text,
            saved=False,
            error=str(exc),
        )
    path = ws.root / "definitions" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return RedirectResponse(f"/editor?{urlencode({'file': file, 'saved': 1})}", status_code=303)


# ------------------------------------------------------------------ formatting
def _fmt_value(t: Translator, value: Any) -> str:
    value = _nan(value)
    if value is None:
        return "—"
    if isinstance(value, float) and 0 <= value <= 1:
        return t.percent(value)
    return t.number(value, 2)


def _cell(t: Translator, value: Any) -> str:
    """One value for a table cell, formatted for the language (numpy and Decimal numbers included)."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return t("Yes") if value else t("No")
    if isinstance(value, datetime):
        return t.date(value) + (value.strftime(" %H:%M") if (value.hour, value.minute) != (0, 0) else "")
    if isinstance(value, date):
        return t.date(value)
    if isinstance(value, numbers.Integral):
        return t.number(int(value))
    if isinstance(value, (numbers.Real, Decimal)):
        return t.number(value, 0 if float(value).is_integer() else 2)
    return str(value)
