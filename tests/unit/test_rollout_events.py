"""The canary function's sample events, field by field, and the kick event's shape."""

from __future__ import annotations

import json

from pai_autopilot.events import TimerEvent, parse_event
from pai_autopilot.rollout.handlers import KICK_TRIGGER, kick_event
from tests.conftest import load_event


def test_the_canary_timer_sample_parses_as_a_timer_tick():
    raw = json.loads(load_event("timerCanary.json"))
    event = parse_event(load_event("timerCanary.json"))
    assert isinstance(event, TimerEvent)
    assert (event.trigger_time, event.trigger_name, event.payload) == (raw["triggerTime"], "every-minute", raw["payload"])
    assert event.payload_json() == {"task": "canary"}


def test_the_kick_sample_is_what_kick_event_builds():
    sample = parse_event(load_event("timerCanaryKick.json"))
    built = parse_event(kick_event("demo", "ro-demo-v2-de6f5759", now=1714557607.0))
    assert sample == built and built.trigger_name == KICK_TRIGGER
    assert built.payload_json() == {"pipeline": "demo", "rollout_id": "ro-demo-v2-de6f5759"}
