"""What a trigger's task and webhook payload carries: the customer's attributes, the traits the trigger's segments
use and its templates name, and the segment's offer, channel and action (a built-in's from its docs); never every
trait of the run nor the run's internal `__pop_*` columns."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from actions_helpers import Receiver

from segmentum.actions import list_outbox
from segmentum.store import META
from segmentum.workspace import Workspace

DEFS = """\
segments:
  top_spenders: {where: "percent_rank(rfm_monetary) >= 0.8"}
triggers:
  sleepy:
    on: enter
    segment: rfm.*
    on_first_run: fire
    do:
      - task: {title: "{{ customer.name }}: {{ segment.action }} (spent {{ customer.rfm_monetary }})"}
      - webhook: {url: "http://127.0.0.1:PORT/hooks/rfm"}
"""
# read off builtins/rfm.yml by hand: the traits its segments' conditions use
RFM_CONDITION_TRAITS = {"rfm_frequency", "rfm_r5", "rfm_f5"}


def test_payload_carries_attributes_used_traits_and_the_builtin_segment_channel(
    tmp_path: Path, receiver: Receiver
) -> None:
    root = tmp_path / "ws"
    Workspace.init(root)
    config = (root / "segmentum.yml").read_text()
    (root / "segmentum.yml").write_text(
        config + f'\nwebhooks:\n  allow: ["http://127.0.0.1:{receiver.port}/hooks/"]\n'
    )
    (root / "definitions" / "shop.yml").write_text(DEFS.replace("PORT", str(receiver.port)))
    ws = Workspace(root)
    ids = [f"c{i:02d}" for i in range(20)]
    ws.ingest_frame(
        "customers",
        pd.DataFrame(
            {
                "customer_id": ids,
                "name": [f"Name {c}" for c in ids],
                "email": [f"{c}@example.com" for c in ids],
                "country": ["UA"] * 20,
            }
        ),
    )
    start = datetime(2024, 1, 1)
    orders = [
        {
            "order_id": f"o{i}_{k}",
            "customer_id": c,
            "ordered_at": start + timedelta(days=17 * i + 3 * k),
            "amount": 10.0 * (i + 1),
        }
        for i, c in enumerate(ids)
        for k in range(1 + i % 4)
    ]
    ws.ingest_frame("orders", pd.DataFrame(orders))
    result = ws.run(as_of="2024-12-31")
    assert result.actions is not None and result.actions["fired"] == {"sleepy": 20}
    run_id = result.run_id
    columns = ws.store.columns(f"traits_{run_id}", schema=META)
    assert len(columns) > 20 and any(c.startswith("__pop") for c in columns)  # what must not leak

    rows = list_outbox(ws, payload=True)
    tasks = [r for r in rows if r["action_type"] == "task"]
    assert len(tasks) == 20
    attributes = set(ws.store.columns("customers"))
    docs = {  # builtins/rfm.yml `docs`, read by hand
        "champions": ("email", "Reward them; early access, referral programme; ask for reviews"),
        "hibernating": ("ads", "Offer relevant products and special discounts; recreate value"),
        "at_risk": ("call", "Personal win-back message; renewals, helpful resources"),
    }
    seen = set()
    for row in tasks:
        payload = row["payload"]
        assert set(payload["customer"]) == attributes  # the customer's attributes, nothing else
        assert set(payload["traits"]) == RFM_CONDITION_TRAITS | {"rfm_monetary"}
        segment = payload["segment"]
        assert segment["channel"] and segment["action"]  # used to be null for built-in segments
        if segment["segment"] in docs:
            seen.add(segment["segment"])
            assert (segment["channel"], segment["action"]) == docs[segment["segment"]]
        assert segment["action"] in payload["action"]["title"]
        assert not any(k.startswith("__") for k in json.dumps(payload).split('"') if k)
    assert seen  # at least one of the checked segments occurred
    bodies = [r["body"] for r in receiver.requests]
    assert len(bodies) == 20
    for body in bodies:
        assert set(body["customer"]) == attributes and set(body["traits"]) <= RFM_CONDITION_TRAITS | {
            "rfm_monetary"
        }
        assert body["segment"]["channel"] is not None and body["segment"]["action"] is not None
        assert "__pop" not in json.dumps(body)
    ws.close()


def test_profile_and_trigger_payload_show_the_same_channel_and_action_of_a_segment(tmp_path: Path) -> None:
    """`segment_metadata` is the one rule: a built-in segment's profile and the payload of a task fired on
    entering it carry the same description, offer, channel and action (the built-in's docs, read by hand)."""
    from segmentum.analysis.profile import profile

    root = tmp_path / "ws"
    Workspace.init(root)
    (root / "definitions" / "shop.yml").write_text(
        "segments:\n  vip: {where: \"rfm_monetary >= 100\", channel: sms, offer: '10 % off'}\n"
        + "triggers:\n"
        + "".join(
            f"  {t}:\n    on: enter\n    segment: {s}\n    on_first_run: fire\n"
            '    do:\n      - task: {title: "{{ segment.name }}"}\n'
            for t, s in (("moved", "rfm.*"), ("vip_in", "vip"))
        )
    )
    ws = Workspace(root)
    try:
        ids = [f"c{i:02d}" for i in range(12)]
        ws.ingest_frame("customers", pd.DataFrame({"customer_id": ids, "email": [f"{c}@x.org" for c in ids]}))
        start = datetime(2024, 1, 1)
        orders = [
            {
                "order_id": f"o{i}_{k}",
                "customer_id": c,
                "ordered_at": start + timedelta(days=29 * i + 3 * k),
                "amount": 20.0 * (i + 1),
            }
            for i, c in enumerate(ids)
            for k in range(1 + i % 3)
        ]
        ws.ingest_frame("orders", pd.DataFrame(orders))
        ws.run(as_of="2024-12-31")
        keys = ("description", "offer", "channel", "action")
        payloads = {
            r["payload"]["segment"]["name"]: r["payload"]["segment"] for r in list_outbox(ws, payload=True)
        }
        assert "vip" in payloads and any(n.startswith("rfm.") for n in payloads)
        for name, segment in payloads.items():
            shown = profile(ws, name, brief=True)
            assert {k: shown[k] for k in keys} == {k: segment[k] for k in keys}, name
        assert (payloads["vip"]["channel"], payloads["vip"]["offer"], payloads["vip"]["action"]) == (
            "sms",
            "10 % off",
            None,
        )
        docs = {  # builtins/rfm.yml `docs`, read by hand
            "rfm.champions": ("email", "Reward them; early access, referral programme; ask for reviews"),
            "rfm.hibernating": ("ads", "Offer relevant products and special discounts; recreate value"),
            "rfm.at_risk": ("call", "Personal win-back message; renewals, helpful resources"),
            "rfm.new_customers": ("email", "Onboarding series; help them to a second purchase"),
            "rfm.promising": ("ads", "Brand awareness; free trials, small incentives"),
        }
        checked = [n for n in payloads if n in docs]
        assert checked
        for name in checked:
            assert (payloads[name]["channel"], payloads[name]["action"]) == docs[name]
    finally:
        ws.close()
