"""Trigger actions in definition files: the built-in kinds are strict models; any other name is a plug-in
sink's action whose settings the sink checks (segmentum.actions validates that the sink exists)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from segmentum.spec.models import Action, PluginAction, TaskAction


def test_a_built_in_action_is_its_strict_model() -> None:
    action = Action.model_validate({"task": {"title": "Call {{ customer.name }}"}})
    assert action.kind == "task" and isinstance(action.settings, TaskAction)
    with pytest.raises(ValidationError, match="titel"):
        Action.model_validate({"task": {"titel": "typo"}})


def test_any_other_name_is_a_plug_in_action_with_free_settings() -> None:
    action = Action.model_validate({"slack": {"channel": "#sales", "text": "{{ customer.name }}"}})
    assert action.kind == "slack" and isinstance(action.settings, PluginAction)
    assert action.settings.model_dump() == {"channel": "#sales", "text": "{{ customer.name }}"}
    assert Action.model_validate({"ping": None}).settings.model_dump() == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "exactly one of task, webhook, email, export or a plug-in sink's name; found none"),
        ({"task": {"title": "x"}, "slack": {}}, r"found \['task', 'slack'\]"),
        ({"Slack-Hook": {}}, "'Slack-Hook' is not an action"),
        ({"slack": "#sales"}, "the settings of action 'slack' must be a mapping"),
    ],
)
def test_malformed_actions_are_errors(raw: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Action.model_validate(raw)
