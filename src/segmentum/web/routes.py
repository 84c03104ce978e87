"""The dashboard: server-rendered pages over the library (overview, segment, migration, customer, tasks,
definition editor), mounted by `segmentum serve` next to the API.

Every page but /login and /static needs a signed session cookie (`service/users.py`), checked once by the
`signed_in` dependency of the `pages` router; without one the answer is 303 to /login. The same dependency
gives every state-changing route the role the API asks of a key (`service.keys.required_scope`), the
same-origin check and the session's CSRF token. Pages only wire: what
they show comes from `segmentum.views` (read models) and `segmentum.analysis`, formatted for the language.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import numbers
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jinja2
import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from segmentum.actions.outbox import list_outbox
from segmentum.actions.sinks.export import MEDIA_TYPES, export_bytes, export_options
from segmentum.actions.tasks import assign_task, complete_task, create_tasks, reopen_task
from segmentum.analysis import migration
from segmentum.analysis.base import segment_names, segmentations
from segmentum.analysis.migration import batch_runs
from segmentum.analysis.profile import PAGE_TOP, describe_feature, stored_profile
from segmentum.clock import add_duration, now
from segmentum.context import Context
from segmentum.errors import ActionError, DefinitionError, NotFoundError, SegmentumError, VersionConflictError
from segmentum.i18n import LANGUAGES, Translator
from segmentum.progress import duration
from segmentum.report import charts
from segmentum.runs.explain import explain as explain_customer
from segmentum.service import definitions as definition_versions
from segmentum.service import lists as static_lists
from segmentum.service import users as auth
from segmentum.service.keys import READ_METHODS, required_scope, scope_allows, split_key
from segmentum.service.overview import overview_data
from segmentum.spec.builtins import builtin_names, render_builtin_yaml
from segmentum.spec.describe import describe_segment
from segmentum.store import snapshots as snapshot
from segmentum.views.changes import definition_order
from segmentum.views.customers import NAME_COLUMNS, cards, customer, purchases, search_total
from segmentum.views.customers import search as search_customers
from segmentum.views.history import size_history
from segmentum.views.members import MemberPage, members
from segmentum.views.tasks import DUES as TASK_DUES
from segmentum.views.tasks import SORTS as TASK_SORTS
from segmentum.views.tasks import task_choices, task_counts
from segmentum.views.tasks import tasks as task_list

log = logging.getLogger("segmentum.web")
router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "segmentum_lang"
CSRF_FIELD = "csrf_token"  # in every form that changes state
CSRF_HEADER = "x-csrf-token"  # in every fetch call that changes state (editor.js reads it from a meta tag)
PAGE_SIZE = 50
_LOCATION = re.compile(r":(\d+):(\d+):")
_FILE_NAME = definition_versions.FILE_NAME  # the one rule of a definitions file name

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


# ------------------------------------------------------------------ plumbing
async def _write(request: Request, func: Any, *args: Any, **kwargs: Any) -> Any:
    """Every change made from a page, by the one rule of `Runtime.write` (never in the middle of a run)."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:  # an app without a runtime runs no runs
        return await run_in_threadpool(func, *args, **kwargs)
    return await run_in_threadpool(runtime.write, func, *args, **kwargs)


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


def _session(request: Request) -> tuple[str, str, str] | None:
    """(who, role, cookie) of a valid session whose user (or API key) still exists unrevoked, else None.

    `role` is the user's role or the key's scope, read afresh from the store on every request."""
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    session = auth.read_session(_key(request), cookie)
    if session is None or cookie is None:
        return None
    runtime = getattr(request.app.state, "runtime", None)
    internal = runtime is not None and runtime.internal_token is not None
    role = auth.session_scope(_ws(request).store, session.user, internal_key=internal)
    return (session.user, role, cookie) if role is not None else None


def _same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from a page of this dashboard, by its Origin (else Referer).

    Browsers send Origin with every cross-site POST, so a foreign site fails here even before the CSRF token
    is checked; a client that sends neither header (a script) must still present the token."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    netloc = urlsplit(source).netloc.lower() if source != "null" else ""
    return bool(netloc) and netloc == request.headers.get("host", "").lower()


async def _csrf_sent(request: Request) -> str:
    """The CSRF token a request carries: the X-CSRF-Token header (fetch calls) or the form field (forms)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return (await _form(request)).get(CSRF_FIELD, "")
    return ""


def _refuse_foreign(request: Request) -> None:
    if not _same_origin(request):
        raise HTTPException(
            403,
            f"{request.method} {request.url.path} came from another site "
            f"({request.headers.get('origin') or request.headers.get('referer')}); the dashboard accepts changes "
            "only from its own pages",
        )


async def signed_in(request: Request) -> str:
    """The one check of every dashboard page (a dependency of the `pages` router): the signed-in user.

    Without a valid session a page answers 303 to /login (which comes back here after signing in), and a JSON
    request (the editor's live check) answers 401. A request that changes state (any method but GET, HEAD and
    OPTIONS) also needs the role the API asks of a key for the same kind of request
    (`segmentum.service.keys.required_scope`: write), and must come from the dashboard's own pages: the same
    origin and the session's CSRF token. Refusals answer 403 in the API's one error shape.
    """
    found = await run_in_threadpool(_session, request)
    if found is None:
        if request.headers.get("content-type", "").startswith("application/json"):
            raise HTTPException(401, "sign in first: your session has ended")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            303, "sign in first", headers={"Location": f"/login?next={quote(target, safe='')}"}
        )
    who, role, cookie = found
    request.state.role = role
    request.state.csrf = auth.csrf_token(_key(request), cookie)
    if request.method not in READ_METHODS:
        needed = required_scope(request.method, request.url.path)
        if needed is not None and not scope_allows(role, needed):
            shown = f"API key {who[4:]}" if who.startswith("key:") else f"user {who!r}"
            raise HTTPException(
                403,
                f"{request.method} {request.url.path} needs the role '{needed}'; {shown} has '{role}' "
                "(read < write < admin; `segmentum users add NAME --replace --role write` changes a user's)",
            )
        _refuse_foreign(request)
        sent = (await _csrf_sent(request)).encode("utf-8", "replace")
        if not hmac.compare_digest(sent, request.state.csrf.encode("ascii")):
            raise HTTPException(
                403,
                f"{request.method} {request.url.path} lacks this session's CSRF token (the '{CSRF_FIELD}' "
                f"form field or the {CSRF_HEADER} header); reload the page and try again",
            )
    return who


User = Annotated[str, Depends(signed_in)]
# every page but sign-in and static files; included into `router` at the end of this module
pages = APIRouter(dependencies=[Depends(signed_in)])


def _with_lang(request: Request, response: Response) -> Response:
    """Remember an explicit ?lang= choice in a cookie."""
    lang = request.query_params.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    lang = _lang(request)
    t = Translator(lang)
    html = _ENV.get_template(template).render(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        user=context.pop("user", None),
        request=request,
        csrf=getattr(request.state, "csrf", ""),
        can_write=scope_allows(getattr(request.state, "role", "read"), "write"),
        lang_url=lambda code: _lang_url(request, code),
        nav=context.pop("nav", ""),
        in_progress=_in_progress(request, t),
        **context,
    )
    return _with_lang(request, HTMLResponse(html, status_code=status_code))


def _in_progress(request: Request, t: Translator) -> list[str]:
    """One line per job of the server running now (a batch run, a backfill, an ingest or a report started
    by the CLI): what, how far, and the time left by `segmentum.progress`'s estimate."""
    runtime = getattr(request.app.state, "runtime", None)
    lines = []
    for job in runtime.in_progress() if runtime is not None else []:
        state = job["progress"]
        what = f"{job['kind']} {state['label']}" if state.get("label") else str(job["kind"])
        if state["total"] and state["eta_s"] is not None:
            percent = t.percent(min(1.0, state["done"] / state["total"]))
            lines.append(
                t(
                    "{what}: {percent}, about {eta} left",
                    what=what,
                    percent=percent,
                    eta=duration(state["eta_s"]),
                )
            )
        else:
            lines.append(t("{what}: running for {elapsed}", what=what, elapsed=duration(state["elapsed_s"])))
    return lines


@pages.get("/progress.json")
def progress_json(request: Request, user: User) -> Response:
    """The lines of work in progress the pages show (base.html polls this while there are any)."""
    return JSONResponse({"lines": _in_progress(request, Translator(_lang(request)))})


def _lang_url(request: Request, code: str) -> str:
    params = dict(request.query_params)
    params["lang"] = code
    return request.url.path + "?" + urlencode(params)


def _error_page(request: Request, user: str, message: str, status_code: int = 404) -> Response:
    return _render(
        request, "error.html", status_code=status_code, user=user, message=message, status=status_code
    )


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


def _sign_in_limiter(request: Request) -> auth.SignInLimiter:
    """The server's one count of failed sign-ins (in memory: a restart forgets it)."""
    state = request.app.state
    if not hasattr(state, "sign_in_limiter"):
        state.sign_in_limiter = auth.SignInLimiter()
    return state.sign_in_limiter


@router.post("/login")
async def login(request: Request) -> Response:
    _refuse_foreign(request)  # no session yet, so no token: a foreign page must not sign a browser in
    form = await _form(request)
    name = str(form.get("user") or "").strip()
    password = str(form.get("password") or "")
    api_key = str(form.get("api_key") or "").strip()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never redirect off-site
    ws = _ws(request)
    limiter = _sign_in_limiter(request)
    # who is guessed at: the user name, or the prefix of a key (the address alone when neither is given)
    subject = f"key:{split_key(api_key) or '?'}" if api_key else f"user:{name}" if name else None
    counted = [f"addr:{request.client.host if request.client else '?'}", *([subject] if subject else [])]
    wait = limiter.retry_after(*counted)
    if wait is not None:
        t = Translator(_lang(request))
        minutes = max(1, math.ceil(wait / 60))
        error = t("Too many failed sign-ins. Try again in {minutes} min.", minutes=minutes)
        response = _render(request, "login.html", status_code=429, next=target, no_users=False, error=error)
        response.headers["Retry-After"] = str(wait)
        return response
    who: str | None = None
    if api_key:
        runtime = getattr(request.app.state, "runtime", None)
        key = await run_in_threadpool(runtime.authenticate, api_key) if runtime is not None else None
        who = f"key:{key.prefix}" if key is not None else None
    elif name and password:
        ok = await run_in_threadpool(auth.check_password, ws.store, name, password)
        who = name if ok else None
    if who is None:
        limiter.failed(*counted)
        t = Translator(_lang(request))
        return _render(
            request,
            "login.html",
            status_code=401,
            next=target,
            no_users=False,
            error=t("Wrong user name, password or API key."),
        )
    if subject is not None:
        limiter.succeeded(subject)
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
    _refuse_foreign(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ pages
def _title(t: Translator, name: str) -> str:
    return t.title(name)  # the one title helper (i18n), as the report shows it


def _money(ws: Context, t: Translator, value: Any, signed: bool = False) -> str:
    """An amount in the workspace's currency (`currency` in segmentum.yml), whole units."""
    return t.money(value, ws.config.currency, signed=signed)


def _signed(t: Translator, value: Any) -> str:
    return t.signed(value)


def _segment_row(ws: Context, t: Translator, row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "title": _title(t, row.name),
        "group": _title(t, row.segmentation) if isinstance(row.segmentation, str) else None,
        "customers": t.number(row.customers),
        "share": t.percent(row.share),
        "bar": max(0.0, min(100.0, float(row.share or 0) * 100)),
        "revenue": _money(ws, t, row.revenue),
        "revenue_share": t.percent(row.revenue_share),
        "change": _signed(t, _nan(row.change)),
        "direction": "up" if (_nan(row.change) or 0) > 0 else "down" if (_nan(row.change) or 0) < 0 else "",
        "revenue_change": _money(ws, t, _nan(row.revenue_change), signed=True),
        "description": row.description if isinstance(row.description, str) else "",
    }


@pages.get("/")
def overview(request: Request, user: User) -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    try:
        data = overview_data(ws)
    except NotFoundError:  # no complete run yet
        return _render(request, "overview.html", user=user, nav="overview", run=None)
    changes, curve, grid = data.changes, data.curve, data.grid
    info = changes.run
    segments = changes.segments
    groups: dict[str, list[dict[str, Any]]] = {}
    titles: dict[str, str] = {}
    standalone = "\0standalone"
    for row in segments.itertuples():
        key = row.segmentation if isinstance(row.segmentation, str) else standalone
        titles[key] = _title(t, key) if key != standalone else t("Standalone segments")
        groups.setdefault(key, []).append(_segment_row(ws, t, row))
    if standalone in groups:  # after the segmentations
        groups[standalone] = groups.pop(standalone)
    previous = segments["previous_as_of"].dropna()
    rfm = None
    if grid is not None:
        names = data.cell_names
        rfm = {
            "chart": _figure(charts.rfm_heatmap(grid, t), "chart-rfm"),
            # recency score 5 (bought most recently) at the top, as the best end reads first
            "rows": [
                (
                    r,
                    [
                        (
                            t.number(grid[r - 1][f - 1]),
                            _title(t, f"rfm.{names[(r, f)]}") if names.get((r, f)) else "",
                        )
                        for f in range(1, 6)
                    ],
                )
                for r in range(5, 0, -1)
            ],
        }
    pareto_chart = None
    cuts: list[tuple[str, str, str]] = []
    if curve is not None:
        try:
            pareto_chart = _figure(charts.pareto_chart(curve, t), "chart-pareto")
            # the chart's table: where each ABC class ends on the curve
            cuts = [
                (str(cls), t.percent(cut["customer_share"]), t.percent(cut["revenue_share"]))
                for cls, cut in sorted(curve["cuts"].items())
            ]
        except Exception:  # noqa: BLE001 - an extra chart that cannot be drawn must not take the overview down
            log.warning("the overview's Pareto curve failed", exc_info=True)
    return _render(
        request,
        "overview.html",
        user=user,
        nav="overview",
        run=info,
        previous_as_of=previous.max() if not previous.empty else None,
        data_until=changes.data_until,
        movers=[_segment_row(ws, t, row) for row in changes.movers().itertuples()],
        fired=changes.triggers,
        open_tasks=t.number(changes.open_tasks),
        groups=[(titles[k], rows) for k, rows in groups.items()],
        rfm=rfm,
        pareto=pareto_chart,
        cuts=cuts,
        runs=snapshot.list_runs(ws.store)[:10],
    )


MEMBER_COLUMNS = 8  # columns of the members table unless the user chooses them


def _definition(ws: Context, name: str) -> tuple[Any, dict[str, Any]] | None:
    """(SegmentDef, traits) of a segment as defined now; None when it is not defined (any more)."""
    try:
        defs = ws.definitions()
    except SegmentumError:
        return None
    try:
        return defs.segment(name), defs.traits
    except NotFoundError:
        return None


def _member_columns(
    ws: Context, name: str, run_id: int, definition: Any, chosen: str
) -> tuple[list[str], list[str]]:
    """(shown, available) columns of the members table: the chosen ones, else the segment's own traits (those
    its rule reads) first, then the customer's attributes, up to MEMBER_COLUMNS."""
    trait_cols = [
        c
        for c in ws.store.columns(snapshot.traits_table(run_id), schema="segmentum")
        if c != "customer_id" and not c.startswith("__")
    ]
    attr_cols = [c for c in ws.store.columns("customers") if c != "customer_id" and c not in trait_cols]
    available = [*trait_cols, *attr_cols]
    if chosen:
        picked = [c for c in chosen.split(",") if c in available]
        if picked:
            return picked, available
    own: list[str] = []
    if definition is not None and definition[0].where is not None:
        own = [n for n in _names_in_order(definition[0].where) if n in trait_cols]
    return list(dict.fromkeys([*own, *attr_cols]))[:MEMBER_COLUMNS], available


def _names_in_order(node: Any) -> list[str]:
    from segmentum.spec import ast

    return list(dict.fromkeys(n.name for n in ast.walk(node) if isinstance(n, ast.Name)))


def _members_query(
    ws: Context, name: str, run_id: int, chosen: str, sort: str
) -> tuple[list[str], list[str], str | None]:
    """(shown columns, available columns, the column to sort by or None) of the members table."""
    definition = _definition(ws, name)
    shown, available = _member_columns(ws, name, run_id, definition, chosen)
    order = sort if sort in ("customer_id", *shown) else None
    return shown, available, order


@pages.get("/segments/{name}")
def segment_page(
    request: Request,
    user: User,
    name: str,
    q: str = "",
    page: int = 1,
    cols: str = "",
    sort: str = "",
    desc: int = 0,
) -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    try:
        p = stored_profile(ws, name, top=PAGE_TOP)  # computed once per run (and warmed after a batch run)
        shown, available, order = _members_query(ws, name, p["run_id"], cols, sort)
        found = _members_page(ws, name, p["run_id"], q, page, shown, order, bool(desc))
        history = size_history(ws, name)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc))
    definition = _definition(ws, name)
    pages_count = max(1, math.ceil(found.total / PAGE_SIZE))
    page = found.offset // PAGE_SIZE + 1
    size_chart = (
        _figure(charts.size_over_time(history, t, t("Size over time")), "chart-size")
        if not history.empty
        else None
    )
    metrics = [
        (t("Customers"), t.number(p["size"])),
        (t("Share"), t.percent(p["share"])),
        (t("Revenue"), _money(ws, t, p["revenue"])),
        (t("Revenue share"), t.percent(p["revenue_share"])),
        (t("Average order value"), _money(ws, t, _nan(p["avg_order_value"]))),
        (t("Orders per customer"), t.number(_nan(p["avg_orders"]), 1)),
        (t("Days since last order"), t.number(_nan(p["avg_recency_days"]))),
    ]
    features = [describe_feature(row, t) for row in p["distinguishing"].to_dict(orient="records")]
    shown_rows = found.rows
    # what the table shows travels in every link: search, columns, sort
    state = {
        **({"q": q} if q else {}),
        **({"cols": ",".join(shown)} if cols else {}),
        **({"sort": order} if order else {}),
        **({"desc": 1} if order and desc else {}),
    }

    def sort_url(column: str) -> str:
        again = column == order and not desc
        return "?" + urlencode(
            {**{k: v for k, v in state.items() if k not in ("sort", "desc")}, "sort": column}
            | ({"desc": 1} if again else {})
        )

    history_rows = [
        (t.date(r.as_of), t.number(r.customers), t.percent(r.share)) for r in history.itertuples()
    ]
    return _render(
        request,
        "segment.html",
        user=user,
        nav="segments",
        name=name,
        title=_title(t, name),
        p=p,
        metrics=metrics,
        features=features,
        size_chart=size_chart,
        history_rows=history_rows,
        rule=definition[0].where_text if definition else None,
        sentence=describe_segment(definition[0], definition[1], t) if definition else None,
        columns=list(shown_rows.columns),
        sort_urls={c: sort_url(c) for c in shown_rows.columns},
        order=order,
        desc=bool(desc),
        available=available,
        shown=shown,
        rows=[[_cell(t, v) for v in row] for row in shown_rows.itertuples(index=False)],
        q=q,
        cols=",".join(shown) if cols else "",
        page=page,
        pages=pages_count,
        total=t.number(found.total),
        prev_url=f"?{urlencode({**state, 'page': page - 1})}" if page > 1 else None,
        next_url=f"?{urlencode({**state, 'page': page + 1})}" if page < pages_count else None,
        csv_url=f"/segments/{quote(name)}/members.csv" + (f"?{urlencode(state)}" if state else ""),
    )


def _members_page(
    ws: Context,
    name: str,
    run_id: int,
    q: str,
    page: int,
    columns: list[str] | None = None,
    sort: str | None = None,
    desc: bool = False,
) -> MemberPage:
    """Page `page` of PAGE_SIZE members (the last page when `page` is past it), with these trait and
    attribute columns (default: every attribute), sorted by `sort`."""
    first = (max(1, page) - 1) * PAGE_SIZE
    picked: dict[str, Any] = {"traits": columns, "attributes": columns} if columns is not None else {}

    def read(offset: int) -> MemberPage:
        return members(
            ws,
            name,
            run_id=run_id,
            search=q,
            limit=PAGE_SIZE,
            offset=offset,
            sort=sort,
            descending=desc,
            **picked,
        )

    found = read(first)
    last = max(0, math.ceil(found.total / PAGE_SIZE) - 1) * PAGE_SIZE
    if first > last:
        found = read(last)
    return found


@pages.get("/segments/{name}/members.csv")
def members_csv(
    request: Request, user: User, name: str, q: str = "", cols: str = "", sort: str = "", desc: int = 0
) -> Response:
    return _members_file(request, name, q, cols, sort, desc, "csv")


@pages.get("/segments/{name}/members.xlsx")
def members_xlsx(
    request: Request, user: User, name: str, q: str = "", cols: str = "", sort: str = "", desc: int = 0
) -> Response:
    return _members_file(request, name, q, cols, sort, desc, "xlsx")


def _members_file(request: Request, name: str, q: str, cols: str, sort: str, desc: int, fmt: str) -> Response:
    """The members the segment page shows (its search, columns and order, every page) as a file of the one
    export home."""
    ws = _ws(request)
    try:
        run = snapshot.resolve_run_of(ws.store, name, None)
        shown, _, order = _members_query(ws, name, run.run_id, cols, sort)
        # the newest batch run, like the segment page; through Arrow, so money stays exact in the file
        table = members(
            ws,
            name,
            run_id=run.run_id,
            search=q,
            traits=shown,
            attributes=shown,
            sort=order,
            descending=bool(desc),
        ).rows
    except SegmentumError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return Response(
        export_bytes(table, fmt, export_options(ws)),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'},
    )


def _plain_value(value: Any) -> Any:
    """A list (numpy array) as 'a, b, c', as the page shows it; other values as they are."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(str(v) for v in value)
    return value


def _segment_order(ws: Context, definition: str) -> list[str]:
    """The segments of a segmentation (their short names) in definition order; in/out for one segment."""
    names = [n for n in definition_order(ws) if n.startswith(f"{definition}.")]
    return [n.partition(".")[2] for n in names] or ["in", "out"]


@pages.get("/migration")
def migration_page(
    request: Request,
    user: User,
    segmentation: str = "",
    from_run: int | None = None,
    to_run: int | None = None,
) -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    runs = batch_runs(ws)[::-1]  # newest first
    # the newest run's segmentations (then its standalone segments: in/out) only: scanning every run's
    # memberships would be slow on big stores
    known = (
        [*segmentations(ws, runs[0].run_id), *(n for n in segment_names(ws, runs[0].run_id) if "." not in n)]
        if runs
        else []
    )
    if segmentation and segmentation not in known:
        known.append(segmentation)
    if not segmentation and known:
        segmentation = "rfm" if "rfm" in known else known[0]
    chart = None
    flows: list[dict[str, Any]] = []
    matrix: dict[str, Any] | None = None
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
        order = _segment_order(ws, segmentation)
        chart = _figure(charts.sankey_chart(result, t, order), "chart-migration")
        from_run, to_run = result["from_run"], result["to_run"]
        frame = result["flows"]
        origin = frame.groupby("from_segment")["customers"].sum()

        def cell_url(a: str, b: str) -> str:
            query = {"segmentation": segmentation, "from_run": from_run, "to_run": to_run, "from": a, "to": b}
            return "/migration/customers?" + urlencode(query)

        for r in frame.sort_values("customers", ascending=False).itertuples():
            if r.from_segment == r.to_segment:
                continue
            flows.append(
                {
                    "from": _title(t, f"{segmentation}.{r.from_segment}"),
                    "to": _title(t, f"{segmentation}.{r.to_segment}"),
                    "customers": t.number(r.customers),
                    "share": t.percent(r.customers / origin[r.from_segment])
                    if origin[r.from_segment]
                    else "—",
                    "revenue": _money(ws, t, float(r.revenue)),
                    "url": cell_url(r.from_segment, r.to_segment),
                }
            )
        rank = {s: i for i, s in enumerate(order)}
        rows = sorted(frame["from_segment"].unique(), key=lambda s: (rank.get(s, len(rank)), s))
        cols = sorted(frame["to_segment"].unique(), key=lambda s: (rank.get(s, len(rank)), s))
        counts = {(r.from_segment, r.to_segment): int(r.customers) for r in frame.itertuples()}
        matrix = {
            "columns": [_title(t, f"{segmentation}.{c}") for c in cols],
            "rows": [
                (
                    _title(t, f"{segmentation}.{a}"),
                    [
                        (t.number(counts[(a, b)]), cell_url(a, b), a == b) if (a, b) in counts else None
                        for b in cols
                    ],
                )
                for a in rows
            ],
        }
    by_id = {r.run_id: r for r in runs}
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
        from_date=t.date(by_id[from_run].as_of) if from_run in by_id else None,
        to_date=t.date(by_id[to_run].as_of) if to_run in by_id else None,
        chart=chart,
        flows=flows,
        matrix=matrix,
        message=message,
    )


def _moved(
    ws: Context, segmentation: str, from_run: int | None, to_run: int | None, a: str, b: str
) -> dict[str, Any]:
    """The customers behind one cell of a migration (analysis.migration's `who`, the one home of the pair)."""
    result = migration(ws, segmentation, from_run=from_run, to_run=to_run, who=(a, b))
    result["ids"] = list(result["customers"]["customer_id"])
    return result


def _moved_query(segmentation: str, result: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """The address of one migration cell, with the runs `_moved` resolved: the page, its CSV and the tasks
    made from it link to the same customers."""
    return {
        "segmentation": segmentation,
        "from_run": result["from_run"],
        "to_run": result["to_run"],
        "from": a,
        "to": b,
    }


@pages.get("/migration/customers")
def migration_customers(
    request: Request,
    user: User,
    segmentation: str,
    to: str,
    from_run: int | None = None,
    to_run: int | None = None,
    created: int | None = None,
) -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    a = request.query_params.get("from", "")
    try:
        result = _moved(ws, segmentation, from_run, to_run, a, to)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc))
    ids = result["ids"]
    shown = cards(ws, ids[:CARD_LIMIT])
    origin = int(result["flows"].loc[result["flows"]["from_segment"] == a, "customers"].sum())
    moved = result["flows"][(result["flows"]["from_segment"] == a) & (result["flows"]["to_segment"] == to)]
    query = _moved_query(segmentation, result, a, to)
    return _render(
        request,
        "moved.html",
        user=user,
        nav="migration",
        segmentation=segmentation,
        from_segment=_title(t, f"{segmentation}.{a}"),
        to_segment=_title(t, f"{segmentation}.{to}"),
        from_date=t.date(result["from_as_of"]),
        to_date=t.date(result["to_as_of"]),
        count=t.number(len(ids)),
        share=t.percent(len(ids) / origin) if origin else "—",
        revenue=_money(ws, t, float(moved["revenue"].sum()) if not moved.empty else 0.0),
        people=[{**c, "segments": ", ".join(c["segments"])} for c in shown],
        more=max(0, len(ids) - CARD_LIMIT),
        query=query,
        csv_url="/migration/customers.csv?" + urlencode(query),
        back_url="/migration?" + urlencode({k: query[k] for k in ("segmentation", "from_run", "to_run")}),
        created=created,
        default_title=t(
            "Follow up: {a} → {b}", a=_title(t, f"{segmentation}.{a}"), b=_title(t, f"{segmentation}.{to}")
        ),
    )


CARD_LIMIT = 200  # customers listed on the page; the export and the tasks take them all


@pages.get("/migration/customers.csv")
def migration_customers_csv(
    request: Request,
    user: User,
    segmentation: str,
    to: str,
    from_run: int | None = None,
    to_run: int | None = None,
) -> Response:
    ws = _ws(request)
    a = request.query_params.get("from", "")
    try:
        result = _moved(ws, segmentation, from_run, to_run, a, to)
    except SegmentumError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    table = pd.DataFrame(cards(ws, result["ids"]), columns=["customer_id", "name", "email", "segments"])
    table["segments"] = [", ".join(s) for s in table["segments"]]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{segmentation}_{a}_to_{to}")
    return (
        Response(  # a file of the one export home (UTF-8 with a BOM, formula-safe, the workspace's options)
            export_bytes(table, "csv", export_options(ws)),
            media_type=MEDIA_TYPES["csv"],
            headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
        )
    )


@pages.post("/migration/tasks")
async def migration_tasks(request: Request, user: User) -> Response:
    """A task for every customer behind one migration cell."""
    ws = _ws(request)
    form = await _form(request)
    segmentation, a, b = form.get("segmentation", ""), form.get("from", ""), form.get("to", "")
    runs = [int(form[k]) if form.get(k, "").isdigit() else None for k in ("from_run", "to_run")]
    days = form.get("due_days", "")
    try:
        result = await run_in_threadpool(_moved, ws, segmentation, runs[0], runs[1], a, b)
        due = add_duration(now(ws.config.timezone), f"{int(days)}d") if days.strip().isdigit() else None
        made = await _write(
            request,
            lambda: create_tasks(
                ws,
                result["ids"],
                form.get("title", ""),
                description=form.get("description") or None,
                assignee=form.get("assignee") or None,
                due_at=due,
                reason={
                    "event": "moved",
                    "segment": f"{segmentation}.{b}" if segmentation != b else b,
                    "from": a,
                    "run": result["to_run"],
                },
            ),
        )
    except SegmentumError as exc:
        return _error_page(request, user, str(exc), 400)
    query = {**_moved_query(segmentation, result, a, b), "created": len(made)}
    return RedirectResponse("/migration/customers?" + urlencode(query), status_code=303)


@pages.get("/customers")
def customer_search(request: Request, user: User, q: str = "") -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    exact, found = search_customers(ws, q)
    if exact:
        return RedirectResponse(f"/customers/{quote(found[0], safe='')}", status_code=303)
    total = search_total(ws, q) if q.strip() else 0
    people = [{**c, "segments": [(n, _title(t, n)) for n in c["segments"]]} for c in cards(ws, found)]
    return _render(
        request,
        "customers.html",
        user=user,
        nav="customers",
        q=q,
        found=people,
        total=t.number(total),
        shown=t.number(len(found)),
        more=total > len(found),
    )


def _trait_groups(t: Translator, traits: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Traits grouped by the built-in or family their name starts with (`rfm_r5` -> RFM), named readably."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, value in traits.items():
        prefix = key.split("_", 1)[0] if "_" in key else ""
        family = TRAIT_FAMILIES.get(prefix)
        label = t(family) if family else t("Other traits")
        groups.setdefault(label, []).append((key, _cell(t, value)))
    other = t("Other traits")
    if other in groups:
        groups[other] = groups.pop(other)
    return list(groups.items())


TRAIT_FAMILIES = {
    "rfm": "RFM",
    "lc": "Lifecycle",
    "abc": "ABC",
    "health": "Health",
    "clv": "Customer lifetime value",
    "churn": "Churn",
    "nps": "NPS",
    "csat": "CSAT",
}


def _changes(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs where the customer's segments changed: what they entered and left (the first run: where they
    started), newest first."""
    out: list[dict[str, Any]] = []
    before: set[str] | None = None
    for h in history:
        now_in = set(h["segments"])
        if before is None or now_in != before:
            out.append(
                {
                    "as_of": h["as_of"],
                    "kind": h["kind"],
                    "run_id": h["run_id"],
                    "entered": sorted(now_in - (before or set())),
                    "left": sorted((before or set()) - now_in),
                    "first": before is None,
                }
            )
        before = now_in
    return out[::-1]


@pages.get("/customers/{customer_id}")
def customer_page(request: Request, user: User, customer_id: str, explain: str = "") -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    try:
        view = customer(ws, customer_id)
    except NotFoundError:
        return _error_page(request, user, t("No customer {id}.", id=customer_id))
    explanation = None
    explain_error = None
    if explain:
        try:
            explanation = explain_customer(ws, customer_id, explain)
        except SegmentumError as exc:
            explain_error = str(exc)
    current = view["segments"]
    tasks = view["tasks"]
    for task in tasks:
        task["due"] = t.date(task["due_at"])
    attributes = view["attributes"]
    bought = purchases(ws, customer_id)
    traits = view["traits"]
    health = next(
        (
            (k, v)
            for k, v in traits.items()
            if "health" in k and isinstance(v, numbers.Real) and v is not None
        ),
        None,
    )
    changes = _changes(view["history"])
    newest = view["history"][-1]["run_id"] if view["history"] else None

    def label(name: str) -> str:
        return _title(t, name) + (f" ({_title(t, name.partition('.')[0])})" if "." in name else "")

    shown_changes = [
        {
            **c,
            "as_of": t.date(c["as_of"]),
            "entered": [label(n) for n in c["entered"]],
            "left": [label(n) for n in c["left"]],
        }
        for c in changes
    ]
    # what changed in the customer's newest run, unless that run is where they started
    latest = (
        shown_changes[0] if changes and not changes[0]["first"] and changes[0]["run_id"] == newest else None
    )
    name_key = next((c for c in NAME_COLUMNS if attributes.get(c)), None)
    defined = definition_order(ws)
    return _render(
        request,
        "customer.html",
        user=user,
        nav="customers",
        customer_id=customer_id,
        who=attributes.get(name_key) if name_key else None,
        email=attributes.get("email"),
        summary=[
            (
                t("Revenue"),
                _money(ws, t, float(bought["revenue"]) if bought["revenue"] is not None else None),
            ),
            (t("Orders"), t.number(bought["orders"])),
            (t("Last order"), t.date(bought["last_order_at"])),
            *([(t("Health"), _cell(t, health[1]))] if health else []),
            (t("Open tasks"), t.number(sum(1 for x in tasks if x["status"] == "open"))),
        ],
        latest=latest,
        attributes={k: _cell(t, v) for k, v in attributes.items()},
        trait_groups=_trait_groups(t, traits),
        current=[(n, _title(t, n), _title(t, n.partition(".")[0]) if "." in n else "") for n in current],
        changes=shown_changes,
        explain=explain,
        explanation=explanation,
        explain_error=explain_error,
        choices=[(n, f"{_title(t, n)} ({n})") for n in [*current, *(d for d in defined if d not in current)]],
        tasks=tasks,
        fmt=lambda v: _cell(t, v),
    )


TASK_PAGE = 25


def _reason(t: Translator, reason: Any) -> str:
    """Why a task exists, in words: the trigger's event and segment (the task sink's `reason`), or a note."""
    if isinstance(reason, str):
        try:
            reason = json.loads(reason)
        except ValueError:
            return reason
    if not isinstance(reason, dict):
        return ""
    if reason.get("text"):
        return str(reason["text"])
    event, segment = reason.get("event"), reason.get("segment")
    if event and segment:
        return t("{event} {segment}", event=t(str(event)), segment=_title(t, str(segment)) + f" ({segment})")
    return str(event or segment or "")


@pages.get("/tasks")
def tasks_page(
    request: Request,
    user: User,
    status: str = "open",
    assignee: str | None = None,
    trigger: str = "",
    segment: str = "",
    due: str = "",
    sort: str = "due",
    page: int = 1,
    undo: int | None = None,
) -> Response:
    ws = _ws(request)
    t = Translator(_lang(request))
    status = status if status in ("open", "done", "all") else "open"
    filters: dict[str, Any] = {
        "status": status,
        "assignee": assignee if assignee is not None and assignee != "*" else None,
        "trigger": trigger or None,
        "segment": segment or None,
        "due": due if due in TASK_DUES else None,
        "sort": sort if sort in TASK_SORTS else "due",
    }
    first = (max(1, page) - 1) * TASK_PAGE
    try:
        found = task_list(ws, **filters, limit=TASK_PAGE, offset=first)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc), 400)
    pages_count = max(1, math.ceil(found["total"] / TASK_PAGE))
    for task in found["tasks"]:
        task["due"] = t.date(task["due_at"])
        task["overdue"] = (
            task["status"] == "open"
            and task["due_at"] is not None
            and task["due_at"] < now(ws.config.timezone)
        )
        task["why"] = _reason(t, task["reason"])
        task["worth"] = _money(ws, t, float(task["value"]) if task["value"] is not None else None)
        task["closed"] = _cell(t, task["completed_at"])
    state = {k: v for k, v in request.query_params.items() if k not in ("page", "undo", "lang")}
    here = "/tasks" + (f"?{urlencode(state)}" if state else "")
    return _render(
        request,
        "tasks.html",
        user=user,
        nav="tasks",
        tasks=found["tasks"],
        counts={k: t.number(v) for k, v in task_counts(ws).items()},
        total=t.number(found["total"]),
        filters={**filters, "assignee": assignee or ""},
        choices=task_choices(ws),
        sorts=[
            ("due", t("Due soonest")),
            ("-due", t("Due latest")),
            ("-value", t("Most valuable customer")),
            ("-created", t("Newest")),
            ("created", t("Oldest")),
        ],
        status=status,
        here=here,
        undo=undo,
        page=found["offset"] // TASK_PAGE + 1,
        pages=pages_count,
        prev_url=f"?{urlencode({**state, 'page': page - 1})}" if page > 1 else None,
        next_url=f"?{urlencode({**state, 'page': page + 1})}" if page < pages_count else None,
    )


def _back(form: dict[str, str], undo: int | None = None) -> str:
    """Where a task form returns: the task list it was sent from (never off the page), with the undo."""
    target = form.get("back") or "/tasks"
    if not target.startswith("/tasks") or target.startswith("//"):
        target = "/tasks"
    if undo is not None:
        target += ("&" if "?" in target else "?") + f"undo={int(undo)}"
    return target


@pages.post("/tasks/{task_id}/complete")
async def complete(request: Request, user: User, task_id: int) -> Response:
    form = await _form(request)
    try:
        await _write(request, complete_task, _ws(request), task_id, user=user, note=form.get("note"))
    except NotFoundError as exc:
        return _error_page(request, user, str(exc))
    return RedirectResponse(_back(form, undo=task_id), status_code=303)


@pages.post("/tasks/{task_id}/reopen")
async def reopen(request: Request, user: User, task_id: int) -> Response:
    form = await _form(request)
    try:
        await _write(request, reopen_task, _ws(request), task_id)
    except NotFoundError as exc:
        return _error_page(request, user, str(exc))
    return RedirectResponse(_back(form), status_code=303)


@pages.post("/tasks/{task_id}/assign")
async def assign(request: Request, user: User, task_id: int) -> Response:
    form = await _form(request)
    try:
        await _write(request, assign_task, _ws(request), task_id, form.get("assignee") or user)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc), 400)
    return RedirectResponse(_back(form), status_code=303)


# ------------------------------------------------------------------ actions (the outbox)
ACTIONS_SHOWN = 500


@pages.get("/actions")
def actions_page(request: Request, user: User, status: str = "", reason: str = "") -> Response:
    """The outbox as people read it: what each trigger did, and why a policy skipped or held an action (the
    same read as `segmentum outbox` and GET /v1/outbox)."""
    from segmentum.actions.outbox import REASONS, STATUSES

    try:
        rows = list_outbox(_ws(request), status=status or None, reason=reason or None, limit=ACTIONS_SHOWN)
    except SegmentumError as exc:
        return _error_page(request, user, str(exc), 400)
    return _render(
        request,
        "actions.html",
        user=user,
        nav="actions",
        rows=rows,
        statuses=STATUSES,
        reasons=REASONS,
        status=status,
        reason=reason,
        limit=ACTIONS_SHOWN,
    )


# ------------------------------------------------------------------ static lists
def _lists_page(
    request: Request,
    user: str,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return _render(
        request,
        "lists.html",
        status_code=status_code,
        user=user,
        nav="lists",
        lists=static_lists.listing(_ws(request)),
        message=message,
        error=error,
    )


@pages.get("/lists")
def lists_page(request: Request, user: User) -> Response:
    """The static lists (service/lists is their home, as for the CLI and the API)."""
    return _lists_page(request, user)


@pages.post("/lists")
async def lists_add(request: Request, user: User) -> Response:
    form = await _form(request)
    name = str(form.get("name") or "").strip()
    ids = [i for i in re.split(r"[\s,;]+", str(form.get("ids") or "")) if i]
    t = Translator(_lang(request))
    try:
        change = await _write(
            request,
            static_lists.add,
            _ws(request),
            name,
            ids,
            replace=bool(form.get("replace")),
        )
    except SegmentumError as exc:
        return _lists_page(request, user, error=str(exc), status_code=422)
    return _lists_page(
        request,
        user,
        message=t("List {name} has {n} members.", name=name, n=t.number(change["members"])),
    )


@pages.post("/lists/{name}/delete")
async def lists_delete(request: Request, user: User, name: str) -> Response:
    await _form(request)
    try:
        await _write(request, static_lists.remove, _ws(request), name)
    except SegmentumError as exc:
        return _lists_page(request, user, error=str(exc), status_code=404)
    return RedirectResponse("/lists", status_code=303)


# ------------------------------------------------------------------ uplift of a trigger


@pages.get("/triggers/{name}/uplift")
def uplift_page(request: Request, user: User, name: str) -> Response:
    """Treated vs hold-out customers of a trigger (segmentum.analysis.uplift; the report `segmentum uplift` shows)."""
    from segmentum.analysis.uplift import uplift

    t = Translator(_lang(request))
    try:
        report = uplift(_ws(request), name).as_dict()
    except (NotFoundError, ActionError) as exc:
        return _error_page(request, user, str(exc))

    def show(value: float | None, percent: bool) -> str:
        if value is None:
            return "—"
        return f"{value * 100:+.1f} %" if percent else f"{value:+,.2f}"

    rows = []
    for key, percent, label, stat in (
        ("conversion", True, report["conversion_rule"], "conversion_rate"),
        ("revenue", False, report["revenue_column"], "revenue_per_customer"),
    ):
        if label is None:
            continue
        interval = report[key] or {}
        rows.append(
            {
                "key": key,
                "label": f"{t('Conversion') if percent else t('Revenue per customer')} ({label})",
                "treated": show(report["treated"][stat], percent).lstrip("+"),
                "control": show(report["control"][stat], percent).lstrip("+"),
                "difference": show(interval.get("difference"), percent),
                "interval": f"{show(interval.get('low'), percent)} … {show(interval.get('high'), percent)}"
                if interval
                else "—",
                "verdict": report["verdicts"].get(key),
            }
        )
    return _render(request, "uplift.html", user=user, nav="", report=report, rows=rows)


# ------------------------------------------------------------------ definition editor
def _editor_page(
    request: Request,
    user: str,
    file: str,
    *,
    text: str | None = None,
    etag: str | None = None,
    saved: bool = False,
    started: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The editor on one file, with its version tag and saved versions (service/definitions is their home),
    the built-ins to copy from, and the run started from it."""
    ws = _ws(request)
    current = definition_versions.state(ws, file)
    return _render(
        request,
        "editor.html",
        status_code=status_code,
        user=user,
        nav="editor",
        files=definition_versions.files(ws),
        file=file,
        text=current.text or "" if text is None else text,
        etag=current.etag or "" if etag is None else etag,
        versions=list(reversed(definition_versions.versions(ws, file))),
        current_version=current.version,
        saved=saved,
        started=started,
        builtins=builtin_names(),
        error=error,
    )


@pages.get("/editor")
def editor(
    request: Request, user: User, file: str = "", saved: str = "", copy: str = "", started: str = ""
) -> Response:
    if not file:
        files = definition_versions.files(_ws(request))
        file = files[0] if files else "segments.yml"
    if not _FILE_NAME.match(file):
        return _error_page(
            request,
            user,
            f"file name {file!r} is not allowed: use letters, digits, '_' or '-' ending in .yml",
            400,
        )
    text = None
    if copy and copy in builtin_names() and definition_versions.state(_ws(request), file).text is None:
        # a new file that starts as a copy of a built-in (nothing is saved until Save)
        try:
            text = render_builtin_yaml(copy)
        except SegmentumError as exc:
            return _error_page(request, user, str(exc))
    return _editor_page(request, user, file, text=text, saved=bool(saved), started=started)


@pages.get("/editor/builtins/{name}")
def builtin_page(request: Request, user: User, name: str) -> Response:
    """A built-in's YAML, to read and copy into a definitions file of one's own."""
    if name not in builtin_names():
        return _error_page(
            request, user, f"no built-in {name!r}; the built-ins are {', '.join(builtin_names())}"
        )
    return _render(
        request,
        "builtin.html",
        user=user,
        nav="editor",
        name=name,
        text=render_builtin_yaml(name),
        copy_url="/editor?" + urlencode({"file": f"my_{name}.yml", "copy": name}),
    )


@pages.post("/editor/run")
async def editor_run(request: Request, user: User) -> Response:
    """Start a batch run at the data's newest time (the runtime's job, as POST /v1/runs starts)."""
    form = await _form(request)
    file = form.get("file", "")
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return _error_page(request, user, "this server cannot start runs; run `segmentum run` instead", 501)
    try:
        job = await run_in_threadpool(runtime.start_batch, "latest", None, trigger="dashboard")
    except SegmentumError as exc:  # another run is going on
        return _error_page(request, user, str(exc), 409)
    query = {"file": file, "started": job.job_id} if _FILE_NAME.match(file) else {"started": job.job_id}
    return RedirectResponse("/editor?" + urlencode(query), status_code=303)


def check_definitions(ws: Context, file: str, text: str) -> dict[str, Any]:
    """Validate an unsaved definitions file and preview its effect against the last run (nothing stored)."""
    from segmentum.runs.preview import preview

    overrides = {f"definitions/{file}": text}
    try:
        defs = ws.definitions(overrides=overrides)
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
        result = preview(ws, overrides=overrides, definitions=defs)  # validated once
    except SegmentumError as exc:
        return {"valid": True, "preview_error": str(exc), "changed": {}, "segments": []}
    out = result.to_dict()
    out["as_of"] = str(out["as_of"]) if out["as_of"] is not None else None
    return {"valid": True, **out}


@pages.post("/editor/check")
async def editor_check(request: Request, user: User) -> Response:
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past what the decoder takes
        body = None
    if not isinstance(body, dict) or not all(isinstance(body.get(k, ""), str) for k in ("file", "text")):
        # answered in the API's one error shape by its handler of HTTPException
        raise HTTPException(400, 'the body must be a JSON object {"file": "NAME.yml", "text": "..."}')
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


@pages.post("/editor/save")
async def editor_save(request: Request, user: User) -> Response:
    """Save through the one home of definition versions: validated, versioned, refused when stale."""
    form = await _form(request)
    file = str(form.get("file") or "")
    text = str(form.get("text") or "").replace("\r\n", "\n")
    if not _FILE_NAME.match(file):
        return _error_page(
            request,
            user,
            f"file name {file!r} is not allowed; use letters, digits, '_' or '-' ending in .yml",
            400,
        )
    # the tag of the version the page was opened on; an empty tag means a new file
    tag = str(form.get("etag") or "") or None
    try:
        await _write(
            request, definition_versions.save, _ws(request), file, text, by=f"user:{user}", if_match=tag
        )
    except (DefinitionError, VersionConflictError) as exc:
        message = str(exc)
        if isinstance(exc, VersionConflictError):
            message = Translator(_lang(request))(
                "Someone saved definitions/{file} after you opened it. Copy your text, reload, and apply it again.",
                file=file,
            )
        # the tag stays the one the page was opened on: saving again must not overwrite the other change
        status = 422 if isinstance(exc, DefinitionError) else 409
        return _editor_page(request, user, file, text=text, etag=tag or "", error=message, status_code=status)
    return RedirectResponse(f"/editor?{urlencode({'file': file, 'saved': 1})}", status_code=303)


@pages.post("/editor/rollback")
async def editor_rollback(request: Request, user: User) -> Response:
    """Restore an earlier version (saved as a new version, as the API's rollback)."""
    form = await _form(request)
    file = str(form.get("file") or "")
    try:
        number = int(str(form.get("version") or ""))
        await _write(
            request,
            definition_versions.rollback,
            _ws(request),
            file,
            number,
            by=f"user:{user}",
            if_match=str(form.get("etag") or "") or None,
        )
    except ValueError:
        return _error_page(request, user, "choose a version to restore", 400)
    except (DefinitionError, VersionConflictError, NotFoundError) as exc:
        return _editor_page(request, user, file, error=str(exc), status_code=409)
    return RedirectResponse(f"/editor?{urlencode({'file': file, 'saved': 1})}", status_code=303)


# ------------------------------------------------------------------ formatting
def _cell(t: Translator, value: Any) -> str:
    """One value for a table cell, formatted for the language (numpy and Decimal numbers included; a list
    as 'a, b, c', never a numpy repr)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return ", ".join(_cell(t, v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(t, v)}" for k, v in value.items())
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


router.include_router(pages)
