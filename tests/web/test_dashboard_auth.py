"""Dashboard sign-in without a browser: password hashing, signed sessions, and which paths need what."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest

from segmentum.api.middleware import required_scope
from segmentum.service import users as auth
from segmentum.workspace import Workspace


def test_passwords_are_salted_scrypt_hashes_and_checked(workspace: Workspace) -> None:
    auth.add_user(workspace.store, "olha", "long enough secret")
    auth.add_user(workspace.store, "ivan", "long enough secret")
    rows = (
        workspace.store.cursor().execute("SELECT name, password_hash, salt FROM segmentum.users").fetchall()
    )
    hashes = {r[0]: r[1] for r in rows}
    assert hashes["olha"] != hashes["ivan"]  # same password, different salt
    assert all("long enough" not in r[1] for r in rows)
    assert auth.check_password(workspace.store, "olha", "long enough secret")
    assert not auth.check_password(workspace.store, "olha", "long enough secreT")
    assert not auth.check_password(workspace.store, "nobody", "long enough secret")


def test_users_are_refused_with_a_reason(workspace: Workspace) -> None:
    with pytest.raises(auth.UserError, match="at least 8"):
        auth.add_user(workspace.store, "olha", "short")
    with pytest.raises(auth.UserError, match="not allowed"):
        auth.add_user(workspace.store, "o l h a", "long enough secret")
    auth.add_user(workspace.store, "olha", "long enough secret")
    with pytest.raises(auth.UserError, match="--replace"):
        auth.add_user(workspace.store, "olha", "another password")
    auth.add_user(workspace.store, "olha", "another password", replace=True)
    assert auth.check_password(workspace.store, "olha", "another password")


def test_session_cookie_is_signed_and_expires(workspace: Workspace) -> None:
    key = auth.secret(workspace.store)
    assert auth.secret(workspace.store) == key  # kept in the store: sessions survive a restart
    cookie = auth.sign_session(key, "olha")
    assert auth.read_session(key, cookie).user == "olha"
    payload, _, mac = cookie.rpartition(".")
    forged = auth.sign_session(b"another key", "admin")
    assert auth.read_session(key, forged) is None
    assert auth.read_session(key, payload[:-2] + "xx." + mac) is None
    assert auth.read_session(key, cookie, now=time.time() + auth.SESSION_SECONDS + 1) is None
    assert auth.read_session(key, "garbage") is None


def test_api_key_check_leaves_dashboard_pages_to_the_dashboard_and_guards_unknown_paths() -> None:
    from segmentum.api.middleware import is_page
    from segmentum.web.routes import router

    def scope(method: str, path: str) -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    pages = list(router.routes)
    assert is_page(scope("GET", "/"), pages) and is_page(scope("POST", "/editor/save"), pages)
    assert not is_page(scope("GET", "/v1/segments"), pages)
    assert not is_page(scope("GET", "/no-such-page"), pages)  # unknown paths still answer 401 without a key
    assert required_scope("GET", "/v1/segments") == "read"
    assert required_scope("GET", "/no-such-page") == "read"


@pytest.mark.slow
def test_every_page_redirects_to_sign_in_and_v1_still_needs_a_key(dashboard) -> None:
    with httpx.Client(base_url=dashboard.url, timeout=30) as anon:
        for path in (
            "/",
            "/segments/value_tier.vip",
            "/segments/value_tier.vip/members.csv",
            "/migration",
            "/customers",
            "/customers/c001",
            "/tasks",
            "/editor",
        ):
            response = anon.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
        assert anon.post("/editor/save", data={"file": "x.yml", "text": "segments: {}"}).status_code == 303
        assert anon.post("/editor/check", json={"file": "x.yml", "text": ""}).status_code == 401
        assert not (dashboard.ws.root / "definitions" / "x.yml").exists()
        assert anon.get("/login").status_code == 200
        assert anon.get("/static/style.css").status_code == 200
        assert "Plotly" in anon.get("/static/plotly.js").text[:2000]
        assert anon.get("/v1/segments").status_code == 401


@pytest.mark.slow
def test_signed_in_csv_export_holds_the_members(dashboard) -> None:
    with httpx.Client(base_url=dashboard.url, timeout=60) as client:
        assert (
            client.post("/login", data={"user": "anna", "password": "correct horse battery"}).status_code
            == 303
        )
        response = client.get("/segments/value_tier.vip/members.csv")
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.text.strip().splitlines()
        expected = (
            dashboard.ws.store.cursor()
            .execute(
                "SELECT count(*) FROM segmentum.memberships WHERE name = 'value_tier.vip' AND run_id = 2"
            )
            .fetchone()[0]
        )
        assert lines[0].startswith("\ufeffcustomer_id,") and len(lines) - 1 == expected
        # a file name that would leave definitions/ is refused
        csrf = re.search(r'name="csrf-token" content="(\w+)"', client.get("/editor").text).group(1)
        form = {"file": "../segmentum.yml", "text": "x", "csrf_token": csrf}
        assert client.post("/editor/save", data=form).status_code == 400


def test_users_cli_adds_a_user_with_a_role_that_can_sign_in(workspace: Workspace) -> None:
    root = workspace.root
    workspace.close()  # the CLI process opens the store itself
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "users",
            "add",
            "olha",
            "--password",
            "long enough secret",
            "--role",
            "write",
            "--workspace",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with Workspace(root) as ws:
        assert auth.check_password(ws.store, "olha", "long enough secret")
        assert auth.session_scope(ws.store, "olha") == "write"


def test_sessions_end_when_the_user_is_removed_or_the_key_revoked(workspace: Workspace) -> None:
    from segmentum.service.keys import KeyStore

    auth.add_user(workspace.store, "olha", "long enough secret")
    assert auth.still_allowed(workspace.store, "olha")
    auth.remove_user(workspace.store, "olha")
    assert not auth.still_allowed(workspace.store, "olha")
    keys = KeyStore(workspace.store)
    _, record = keys.create("read", "dashboard")
    assert auth.still_allowed(workspace.store, f"key:{record.prefix}")
    keys.revoke(record.prefix)
    assert not auth.still_allowed(workspace.store, f"key:{record.prefix}")
    assert not auth.still_allowed(workspace.store, "key:internal")  # only while a server holds that token


def test_users_have_a_role_read_by_default_and_listed(workspace: Workspace) -> None:
    auth.add_user(workspace.store, "olha", "long enough secret")
    auth.add_user(workspace.store, "ivan", "long enough secret", role="admin")
    assert [(u["name"], u["role"]) for u in auth.list_users(workspace.store)] == [
        ("ivan", "admin"),
        ("olha", "read"),
    ]
    assert auth.session_scope(workspace.store, "olha") == "read"
    auth.add_user(workspace.store, "olha", "another password", replace=True)  # the role stays
    assert auth.session_scope(workspace.store, "olha") == "read"
    auth.add_user(workspace.store, "olha", "another password", replace=True, role="write")
    assert auth.session_scope(workspace.store, "olha") == "write"
    with pytest.raises(auth.UserError, match="role 'root' is not one of read, write, admin"):
        auth.add_user(workspace.store, "petro", "long enough secret", role="root")


def test_a_session_opened_with_a_key_has_the_keys_scope(workspace: Workspace) -> None:
    from segmentum.service.keys import KeyStore

    for scope in ("read", "write", "admin"):
        _, record = KeyStore(workspace.store).create(scope)
        assert auth.session_scope(workspace.store, f"key:{record.prefix}") == scope
    assert auth.session_scope(workspace.store, "key:internal", internal_key=True) == "admin"
    assert auth.session_scope(workspace.store, "nobody") is None


def test_users_of_a_store_before_roles_keep_what_they_could_do_there(tmp_path) -> None:
    from segmentum.store import Store

    path = tmp_path / "before-roles.duckdb"
    store = Store(path)
    auth.add_user(store, "olha", "long enough secret")
    cur = store.cursor()
    # the layout of schema version 1: no role column
    cur.execute("ALTER TABLE segmentum.users DROP COLUMN role")
    cur.execute("DELETE FROM segmentum.schema_version WHERE version > 1")
    store.close()
    store = Store(path)
    try:
        assert auth.session_scope(store, "olha") == "write"  # they edited definitions before roles existed
        auth.add_user(store, "ivan", "long enough secret")
        assert auth.session_scope(store, "ivan") == "read"
    finally:
        store.close()
