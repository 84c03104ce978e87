"""`settle_heap`: the serving process's long-lived objects are left out of Python's full collections (each held
the GIL for 96-301 ms at 1M customers, and every lookup waited it out), without keeping garbage for good."""

from __future__ import annotations

import gc
import weakref

import pytest

from segmentum.service.runtime import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only a collection frees it


@pytest.fixture(autouse=True)
def _unfrozen():
    yield
    gc.unfreeze()  # the rest of the test session collects as usual


def _tracked(obj: object) -> bool:
    """Whether a collection would look at `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_what_is_alive_when_settled_is_left_out_of_collections() -> None:
    kept = _Node()
    assert _tracked(kept)
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert not _tracked(kept)
    made_after = _Node()
    assert _tracked(made_after)


def test_garbage_of_a_frozen_object_is_collected_by_the_next_settling_not_kept() -> None:
    node = _Node()
    gone = weakref.ref(node)
    settle_heap()  # alive: frozen
    del node
    gc.collect()
    assert gone() is not None  # a frozen cycle is not collected meanwhile...
    settle_heap()
    assert gone() is None  # ...but by the next settling, which unfreezes first
