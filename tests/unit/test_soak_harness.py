"""The soak's own pieces that decide something without I/O: ``--phases`` and the alarm events it sends
(parsed by the alarm function's own parser, so the soak's alarm events are ones ``alarm`` acts on)."""

from __future__ import annotations

import argparse
import doctest
import json

import pytest

from bench import soak, soak_events
from pai_autopilot.events import parse_event
from pai_autopilot.events.alarm import cms_alarm


def test_phases_select_and_order_and_refuse_unknown_names():
    assert soak.parse_args([]).phases == ["duplicates", "faults", "crashes"]
    assert soak.parse_args(["--phases", "crashes, duplicates"]).phases == ["crashes", "duplicates"]
    for bad in ("crash", "duplicates,nope", ","):
        with pytest.raises(argparse.ArgumentTypeError, match="choose from duplicates, faults, crashes"):
            soak.phase_list(bad)


def test_help_names_every_phase_and_where_the_figures_go(capsys):
    with pytest.raises(SystemExit):
        soak.parse_args(["--help"])
    out = capsys.readouterr().out
    assert all(phase in out for phase in soak.PHASES) and "soak_<phase>.json" in out and "--phases" in out


def test_the_soaks_alarm_event_is_a_firing_alarm_on_the_service_it_names():
    envelope = {"id": "e1", "source": "acs.cms", "specversion": "1.0", "type": "cms:CloudMonitor:AlertWebHook",
                "subject": "acs:cms:cn-hangzhou:1:alert/r", "time": "2026-12-01T00:00:00Z",
                "data": soak_events.alarm_data("p0_model_v2", 1_764_547_200_000)}
    alarm = cms_alarm(parse_event(json.dumps(envelope).encode()))
    assert alarm.is_firing and alarm.dimensions["serviceName"] == "p0_model_v2"
    assert alarm.timestamp_ms == 1_764_547_200_000 and alarm.rule_id == soak_events.ALARM_RULE
    recovered = {**envelope, "data": soak_events.alarm_data("p0_model_v2", 1_764_547_260_000, "OK")}
    assert not cms_alarm(parse_event(json.dumps(recovered).encode())).is_firing


@pytest.mark.parametrize("module", [soak, soak_events])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
