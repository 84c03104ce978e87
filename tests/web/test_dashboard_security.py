"""The dashboard against a hostile client, on a real server on 127.0.0.1: roles and key scopes on every
state-changing route, CSRF tokens and the Origin check, and malformed bodies answering 4xx in the API's one
error shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service import users as auth
from segmentum.service.keys import READ_METHODS, KeyStore
from segmentum.workspace import Workspace
from servers import start_app

PASSWORD = "long enough secret"
PUBLIC = {"/login", "/logout"}  # need no session: sign-in itself and leaving


@dataclass
class Site:
    url: str
    ws: Workspace
    keys: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace.init(tmp_path_factory.mktemp("web-security") / "ws", name="security")
    for role in ("read", "write", "admin"):
        auth.add_user(ws.store, f"{role}-user", PASSWORD, role=role)
    keys = {
        scope: KeyStore(ws.store).create(scope, f"{scope} key")[0] for scope in ("read", "write", "admin")
    }
    app = create_app(ws, extra_routers=web_routers(), realtime=False)
    server, thread, url = start_app(app)
    try:
        yield Site(url, ws, keys)
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


@contextmanager
def session(site: Site, who: str) -> Iterator[httpx.Client]:
    """A client signed in as `who`: a user name (`read-user`, ...) or `key:<scope>` for an API key."""
    form = {"api_key": site.keys[who[4:]]} if who.startswith("key:") else {"user": who, "password": PASSWORD}
    with httpx.Client(base_url=site.url, timeout=30) as client:
        assert client.post("/login", data=form).status_code == 303
        yield client


def token(client: httpx.Client) -> str:
    """The session's CSRF token, as a page carries it for its forms and fetch calls."""
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', client.get("/editor").text)
    assert found, "every page carries the session's CSRF token"
    return found.group(1)


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def _routes(items: list) -> list[APIRoute]:
    """Routes of an app or router, those of included routers too (FastAPI may keep them as one entry)."""
    out: list[APIRoute] = []
    for item in items:
        included = getattr(item, "original_router", None) or getattr(item, "router", None)
        if isinstance(item, APIRoute):
            out.append(item)
        elif included is not None:
            out += _routes(list(included.routes))
    return out


def state_changing_routes() -> list[tuple[str, str]]:
    """Every dashboard route that is not a read, from the routers `serve` mounts beside the API: a route
    added later is checked too."""
    out = {
        (method, re.sub(r"\{[^}]+\}", "1", route.path))
        for router in web_routers()
        for route in _routes(list(router.routes))
        if route.path not in PUBLIC
        for method in route.methods
        if method not in READ_METHODS
    }
    return sorted(out)


def open_task(ws: Workspace) -> int:
    ws.store.cursor().execute(
        "INSERT INTO segmentum.tasks (id, title, status, created_at) "
        "VALUES (nextval('segmentum.task_seq'), 'Call back', 'open', now()::TIMESTAMP)"
    )
    return int(ws.store.cursor().execute("SELECT max(id) FROM segmentum.tasks").fetchone()[0])


def task_status(ws: Workspace, task_id: int) -> str:
    return (
        ws.store.cursor().execute("SELECT status FROM segmentum.tasks WHERE id = ?", [task_id]).fetchone()[0]
    )


@pytest.mark.parametrize("who", ["key:read", "read-user"])
def test_a_read_session_is_refused_every_state_changing_route(site: Site, who: str) -> None:
    routes = state_changing_routes()
    assert {("POST", "/editor/save"), ("POST", "/editor/check"), ("POST", "/tasks/1/complete")} <= set(routes)
    task = open_task(site.ws)
    with session(site, who) as client:
        csrf = token(client)
        for method, path in routes:
            path = path.replace("/1/", f"/{task}/")
            form = {"file": "evil.yml", "text": "segments: {}", "csrf_token": csrf}
            error = assert_error_shape(client.request(method, path, data=form), 403)
            assert "needs the role 'write'" in error["message"] and "has 'read'" in error["message"]
            response = client.request(
                method, path, json={"file": "evil.yml", "text": ""}, headers={"X-CSRF-Token": csrf}
            )
            assert_error_shape(response, 403)
    assert not (site.ws.root / "definitions" / "evil.yml").exists()
    assert task_status(site.ws, task) == "open"


@pytest.mark.parametrize("who", ["key:write", "key:admin", "write-user", "admin-user"])
def test_write_and_admin_sessions_save_definitions_and_complete_tasks(site: Site, who: str) -> None:
    name = f"{who.replace(':', '_')}.yml"
    task = open_task(site.ws)
    with session(site, who) as client:
        csrf = token(client)
        saved = client.post("/editor/save", data={"file": name, "text": "segments: {}\n", "csrf_token": csrf})
        assert saved.status_code == 303 and "saved=1" in saved.headers["location"]
        checked = client.post(
            "/editor/check", json={"file": name, "text": ""}, headers={"X-CSRF-Token": csrf}
        )
        assert checked.status_code == 200 and checked.json()["valid"] is True
        assert client.post(f"/tasks/{task}/complete", data={"csrf_token": csrf}).status_code == 303
    assert (site.ws.root / "definitions" / name).read_text() == "segments: {}\n"
    assert task_status(site.ws, task) == "done"


def test_a_read_session_sees_no_save_button_and_no_complete_button(site: Site) -> None:
    open_task(site.ws)
    with session(site, "read-user") as client:
        editor = client.get("/editor").text
        tasks = client.get("/tasks").text
    assert 'id="save"' not in editor and 'id="read-only"' in editor and "editor.js" not in editor
    assert 'class="complete"' not in tasks
    with session(site, "write-user") as client:
        assert 'class="complete"' in client.get("/tasks").text


def test_a_users_role_is_read_on_every_request(site: Site) -> None:
    auth.add_user(site.ws.store, "promoted", PASSWORD, role="read")
    with session(site, "promoted") as client:
        csrf = token(client)
        form = {"file": "promoted.yml", "text": "segments: {}\n", "csrf_token": csrf}
        assert client.post("/editor/save", data=form).status_code == 403
        auth.add_user(site.ws.store, "promoted", PASSWORD, replace=True, role="write")
        assert client.post("/editor/save", data=form).status_code == 303


def test_every_form_that_posts_carries_the_sessions_csrf_token(site: Site) -> None:
    open_task(site.ws)
    with session(site, "write-user") as client:
        csrf = token(client)
        pages = [client.get(path).text for path in ("/", "/editor", "/tasks", "/customers", "/migration")]
    forms = [f for page in pages for f in re.findall(r"<form\b[^>]*method=\"post\".*?</form>", page, re.S)]
    assert len(forms) >= 4  # sign out on every page, save, complete
    for form in forms:
        assert f'name="csrf_token" value="{csrf}"' in form, form


def test_a_cross_origin_post_is_refused(site: Site) -> None:
    task = open_task(site.ws)
    with session(site, "admin-user") as client:
        csrf = token(client)
        form = {"file": "csrf.yml", "text": "segments: {}\n", "csrf_token": csrf}
        for header in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Referer": "http://evil.example/attack.html"},
            {"Origin": f"http://evil.example:{site.url.rsplit(':', 1)[1]}"},
        ):
            error = assert_error_shape(client.post("/editor/save", data=form, headers=header), 403)
            assert "another site" in error["message"]
            assert_error_shape(client.post(f"/tasks/{task}/complete", data=form, headers=header), 403)
        # without the token, or with another session's, a same-site request is refused as well
        assert_error_shape(client.post("/editor/save", data={**form, "csrf_token": ""}), 403)
        assert_error_shape(client.post("/editor/save", data={**form, "csrf_token": "0" * 64}), 403)
        assert_error_shape(client.post("/editor/save", data={**form, "csrf_token": "é"}), 403)
        assert_error_shape(client.post("/editor/check", json={"file": "csrf.yml", "text": ""}), 403)
        assert not (site.ws.root / "definitions" / "csrf.yml").exists()
        assert task_status(site.ws, task) == "open"
        # the dashboard's own page (same origin, its token) goes through
        same = client.post(
            "/editor/save", data=form, headers={"Origin": site.url, "Referer": f"{site.url}/editor"}
        )
        assert same.status_code == 303
    assert (site.ws.root / "definitions" / "csrf.yml").exists()


def test_a_foreign_page_cannot_sign_a_browser_in(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        response = client.post(
            "/login",
            data={"user": "admin-user", "password": PASSWORD},
            headers={"Origin": "http://evil.example"},
        )
        assert_error_shape(response, 403)
        assert auth.SESSION_COOKIE not in client.cookies


@pytest.mark.parametrize(
    "body",
    ["[1, 2]", '"text"', "42", "null", '{"file": ["x.yml"], "text": ""}', "{not json", "[" * 100_000],
    ids=["list", "string", "number", "null", "file not text", "syntax", "too deep"],
)
def test_editor_check_answers_400_to_a_body_that_is_not_a_json_object(site: Site, body: str) -> None:
    with session(site, "write-user") as client:
        headers = {"content-type": "application/json", "X-CSRF-Token": token(client)}
        response = client.post("/editor/check", content=body, headers=headers)
    error = assert_error_shape(response, 400)
    assert "JSON object" in error["message"]


def test_sign_in_failures_are_limited_per_address_and_per_user() -> None:
    now = [1000.0]
    limiter = auth.SignInLimiter(max_failures=5, window=300, clock=lambda: now[0])
    for _ in range(5):
        assert limiter.retry_after("addr:10.0.0.1", "user:anna") is None
        limiter.failed("addr:10.0.0.1", "user:anna")
        now[0] += 10
    # anna is guessed at from elsewhere too, and the address may not try another user
    assert limiter.retry_after("addr:10.0.0.2", "user:anna") == 250
    assert limiter.retry_after("addr:10.0.0.1", "user:ivan") == 250
    assert limiter.retry_after("addr:10.0.0.2", "user:ivan") is None
    now[0] += 250  # the oldest failure ages out: one more attempt
    assert limiter.retry_after("addr:10.0.0.1", "user:anna") is None
    limiter.failed("addr:10.0.0.1", "user:anna")
    assert limiter.retry_after("addr:10.0.0.1", "user:anna") == 10
    limiter.succeeded("user:anna")  # clears the user, not the address
    assert limiter.retry_after("addr:10.0.0.2", "user:anna") is None
    assert limiter.retry_after("addr:10.0.0.1", "user:ivan") == 10


def test_the_sixth_failed_sign_in_within_five_minutes_answers_429_with_retry_after(tmp_path) -> None:
    ws = Workspace.init(tmp_path / "ws", name="limits")
    auth.add_user(ws.store, "anna", PASSWORD)
    key = KeyStore(ws.store).create("read")[0]
    server, thread, url = start_app(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for attempt in range(auth.MAX_FAILURES):
                wrong = {"user": "anna", "password": f"guess number {attempt}"}
                assert client.post("/login", data=wrong).status_code == 401
            # refused before the password is even checked: the right one waits as well
            for form in ({"user": "anna", "password": PASSWORD}, {"api_key": key}):
                response = client.post("/login", data=form)
                assert response.status_code == 429
                assert 0 < int(response.headers["Retry-After"]) <= auth.FAILURE_WINDOW
                assert "Too many failed sign-ins" in response.text
            assert auth.SESSION_COOKIE not in client.cookies
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def test_the_editor_saves_versions_refuses_a_stale_save_and_restores_an_earlier_one(site: Site) -> None:
    """The editor and the API share one home of versions (service/definitions): a save carries the tag the page
    was opened on, so a save after someone else's is refused (409) instead of overwriting it."""
    name = "versioned.yml"
    path = site.ws.root / "definitions" / name
    with session(site, "write-user") as client:
        csrf = token(client)
        first = {"file": name, "text": "segments: {}\n", "csrf_token": csrf, "etag": ""}
        assert client.post("/editor/save", data=first).status_code == 303
        page = client.get(f"/editor?file={name}").text
        tag = re.search(r'name="etag" value="([^"]*)"', page).group(1).replace("&#34;", '"')
        assert tag.startswith('"') and 'id="versions"' in page
        path.write_text("segments: {}\n# edited by someone else\n", encoding="utf-8")
        stale = client.post("/editor/save", data={**first, "text": "segments: {}\n# mine\n", "etag": tag})
        assert stale.status_code == 409 and "after you opened it" in stale.text
        assert path.read_text(encoding="utf-8").endswith("# edited by someone else\n")  # not overwritten
        page = client.get(f"/editor?file={name}").text
        fresh = re.search(r'name="etag" value="([^"]*)"', page).group(1).replace("&#34;", '"')
        restored = client.post(
            "/editor/rollback", data={"file": name, "version": "1", "etag": fresh, "csrf_token": csrf}
        )
        assert restored.status_code == 303
    assert path.read_text(encoding="utf-8") == "segments: {}\n"
    rows = site.ws.store.query(
        "SELECT version, action, saved_by, restored FROM segmentum.definition_versions WHERE file = ? ORDER BY 1",
        [name],
    )
    assert rows == [
        (1, "save", "user:write-user", None),
        (2, "found", None, None),
        (3, "rollback", "user:write-user", 1),
    ]


def test_the_lists_page_adds_shows_and_deletes_a_static_list(site: Site) -> None:
    """The dashboard manages static lists through their one home (service/lists), as the CLI and the API do;
    a read session sees them but cannot change them."""
    with session(site, "write-user") as client:
        csrf = token(client)
        added = client.post("/lists", data={"name": "vip_by_hand", "ids": "c1, c2\nc3", "csrf_token": csrf})
        assert added.status_code == 200 and 'id="list-message"' in added.text
        bad = client.post("/lists", data={"name": "vip by hand", "ids": "c1", "csrf_token": csrf})
        assert bad.status_code == 422 and "invalid list name" in bad.text
        page = client.get("/lists").text
        assert "vip_by_hand" in page and 'aria-current="page" id="nav-lists"' in page
    assert site.ws.store.query(
        "SELECT customer_id FROM segmentum.list_members WHERE name = 'vip_by_hand' ORDER BY 1"
    ) == [("c1",), ("c2",), ("c3",)]
    with session(site, "read-user") as client:
        csrf = token(client)
        page = client.get("/lists").text
        assert "vip_by_hand" in page and 'id="list-form"' not in page
        refused = client.post("/lists/vip_by_hand/delete", data={"csrf_token": csrf})
        assert refused.status_code == 403
    with session(site, "write-user") as client:
        csrf = token(client)
        assert client.post("/lists/vip_by_hand/delete", data={"csrf_token": csrf}).status_code == 303
    assert site.ws.store.query("SELECT count(*) FROM segmentum.list_members") == [(0,)]
