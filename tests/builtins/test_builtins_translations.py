"""Every text of a built-in that the dashboard and the report show (its title, the titles of its segmentations
and segments, and its `docs`: recommended action, channel, offer, description) has a Ukrainian and a Russian
entry in the locale catalogs (src/segmentum/locales), as the built-ins' titles do (issue 19, item 8)."""

from __future__ import annotations

import pytest

from segmentum.i18n import DEFAULT_ELSE, catalog
from segmentum.spec.builtins import builtin_names, load_builtin

DOC_KEYS = ("action", "channel", "offer", "description")


def shown_texts(name: str) -> list[str]:
    """The catalog keys of what is shown of built-in `name` with its default settings."""
    b = load_builtin(name)
    data = b.located.data
    keys = [b.title]
    for segmentation, spec in (data.get("segmentations") or {}).items():
        keys.append(segmentation)
        keys += [f"{segmentation}.{s['name']}" for s in spec.get("segments") or []]
        if spec.get("else") and spec["else"] != DEFAULT_ELSE:  # the default `else` is "(other)"
            keys.append(f"{segmentation}.{spec['else']}")
    keys += list(data.get("segments") or {})
    for doc in (b.docs or {}).values():
        if isinstance(doc, dict):
            keys += [str(doc[k]) for k in DOC_KEYS if doc.get(k)]
    return keys


@pytest.mark.parametrize("lang", ["uk", "ru"])
def test_every_shown_text_of_every_builtin_is_translated(lang: str) -> None:
    translations = catalog(lang)
    missing = [
        (name, key) for name in builtin_names() for key in shown_texts(name) if not translations.get(key)
    ]
    assert not missing, f"add to src/segmentum/locales/{lang}.json: {missing}"


def test_the_texts_checked_include_the_docs_of_every_builtin_that_has_them() -> None:
    texts = shown_texts("cohort")
    assert "cohort.jan" in texts and "No order yet: a first-purchase incentive" in texts
    assert "Reward them; early access, referral programme; ask for reviews" in shown_texts("rfm")
