"""Shared fixtures: localcloud in a thread (reset between tests), sample events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"


def load_event(name: str) -> bytes:
    """The raw bytes of ``events/<name>`` as FC would deliver them."""
    return (EVENTS_DIR / name).read_bytes()


def load_event_json(name: str) -> Any:
    return json.loads(load_event(name))


pytest_plugins = ["localcloud.pytest_plugin"]


@pytest.fixture
def cloud(localcloud: Any) -> Any:
    """A running localcloud without functions, reset before the test (see localcloud.pytest_plugin)."""
    return localcloud
