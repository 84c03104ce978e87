"""API keys are stored hashed with a per-key salt; scopes order read < write < admin."""

from __future__ import annotations

import pytest

from segmentum.errors import NotFoundError
from segmentum.service.keys import ApiKeyError, KeyStore, normalize_prefix, scope_allows


def test_a_created_key_verifies_and_only_its_hash_is_stored(workspace) -> None:
    keys = KeyStore(workspace.store)
    key, record = keys.create("write", "crm sync")
    assert key.startswith(record.prefix + "_")
    assert keys.verify(key).scope == "write"
    rows = workspace.store.query("SELECT * FROM segmentum.api_keys")
    assert len(rows) == 1
    assert all(key not in str(value) for value in rows[0])
    assert keys.verify(key + "x") is None
    assert keys.verify(record.prefix + "_wrongsecret") is None


def test_two_keys_with_the_same_secret_text_get_different_hashes(workspace) -> None:
    keys = KeyStore(workspace.store)
    keys.create("read")
    keys.create("read")
    salts = workspace.store.query("SELECT salt, hash FROM segmentum.api_keys")
    assert len({s for s, _ in salts}) == 2 and len({h for _, h in salts}) == 2


def test_revoke_by_prefix_with_or_without_sgm(workspace) -> None:
    keys = KeyStore(workspace.store)
    key, record = keys.create("admin")
    assert keys.revoke(record.prefix.removeprefix("sgm_")).revoked_at is not None
    assert keys.verify(key) is None
    with pytest.raises(NotFoundError, match="no API key with prefix"):
        keys.revoke("sgm_00000000")


def test_unknown_scope_and_bad_prefix_are_clear_errors(workspace) -> None:
    with pytest.raises(ApiKeyError, match="allowed: read, write, admin"):
        KeyStore(workspace.store).create("superuser")
    with pytest.raises(ApiKeyError, match="not a key prefix"):
        normalize_prefix("a b")


def test_scope_order() -> None:
    assert scope_allows("admin", "read") and scope_allows("write", "write")
    assert not scope_allows("read", "write") and not scope_allows("write", "admin")
