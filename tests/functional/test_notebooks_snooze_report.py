"""Snoozes (API, signed link, CLI), the savings report against seeded timelines and the price table,
the status page's recent actions, and the CLI's plan/report."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from typer.testing import CliRunner

from pai_autopilot.cli import app
from pai_autopilot.errors import InvalidInputError
from pai_autopilot.notebooks.errors import NotebookNotFound
from pai_autopilot.notebooks.links import verify_snooze_query
from pai_autopilot.notebooks.report import recent_actions, savings_report
from pai_autopilot.notebooks.report_html import render_html
from pai_autopilot.notebooks.snooze import snooze_instance
from pai_autopilot.notebooks.tick import governor_tick

from . import notebooks_support
from .notebooks_support import (
    BASE_CONFIG,
    BUCKET,
    CPU_SPEC,
    GPU_SPEC,
    T0,
    create,
    culler,
    runtime,
    seed,
    states,
)

_notice_server, nb_cloud, notices = notebooks_support._notice_server, notebooks_support.nb_cloud, notebooks_support.notices  # the fixtures

POLICY = {"mode": "enforce", "idle_minutes": 60, "warn_minutes": 30, "max_avoided_hours": 72}
SECRET = "s3cr3t-for-the-snooze-links-0123"


def test_snooze_records_once_drops_the_culler_and_rejects_bad_input(nb_cloud):
    rt = runtime(nb_cloud, POLICY)
    iid = create(rt, "nb_1")
    nb_cloud.advance(10)
    seed(nb_cloud, iid, cpu=50, gpu=50, minutes=60, step=300)
    governor_tick(rt)  # the policy's culler goes on
    assert culler(rt, iid) is not None

    first = snooze_instance(rt, iid, 4, actor="alice", reason="training overnight")
    again = snooze_instance(rt, iid, 4, actor="alice")  # a retried webhook call, a double click
    shorter = snooze_instance(rt, iid, 1, actor="bob")

    assert first["outcome"] == "applied" and first["snoozed_until"] == nb_cloud.clock.now() + 4 * 3600
    assert first["culler"] == "deleted" and culler(rt, iid) is None
    assert again["outcome"] == "noop" and shorter["outcome"] == "noop"
    assert states(rt, iid) == ["snoozed"]
    with pytest.raises(NotebookNotFound, match="dsw-doesnotexist"):
        snooze_instance(rt, "dsw-doesnotexist", 4, actor="alice")
    for hours in (0, -1, 73, float("nan")):
        with pytest.raises(InvalidInputError, match="hours must be"):
            snooze_instance(rt, iid, hours, actor="alice")
    with pytest.raises(InvalidInputError, match="not a DSW instance id"):
        snooze_instance(rt, "../../etc/passwd", 4, actor="alice")
    # the snooze ends: the governor puts the culler back
    nb_cloud.advance(4 * 3600 + 60)
    governor_tick(rt)
    assert culler(rt, iid) is not None


def test_the_warning_carries_signed_links_that_snooze_and_no_secret(nb_cloud, notices, capsys):
    env = {"AUTOPILOT_WEBHOOK_URL": "https://hook.example/", "AUTOPILOT_WEBHOOK_SECRET": SECRET}
    rt = runtime(nb_cloud, POLICY, **env)
    iid = create(rt, "nb_1")
    nb_cloud.advance(10)
    seed(nb_cloud, iid, cpu=1, gpu=1, minutes=200, step=300, start=nb_cloud.clock.now() - 65 * 60)

    result = governor_tick(rt)

    (warning,) = notices.of("notebook_idle_warning")
    link = warning["details"]["snooze 4 h"]
    assert link.startswith(f"https://hook.example/v1/notebooks/{iid}/snooze?")
    assert SECRET not in json.dumps(warning) and SECRET not in json.dumps(result)
    query = dict(parse_qsl(urlsplit(link).query))
    hours = verify_snooze_query(iid, query, secret=SECRET, now=nb_cloud.clock.now())
    assert hours == 4.0
    assert snooze_instance(rt, iid, hours, actor="link")["outcome"] == "applied"
    nb_cloud.advance(31 * 60)
    assert governor_tick(rt)["counts"] == {}  # snoozed: no stop after the grace
    with pytest.raises(InvalidInputError, match="expired") as excinfo:
        verify_snooze_query(iid, query, secret=SECRET, now=float(query["exp"]) + 1)
    assert SECRET not in str(excinfo.value) and query["sig"] not in str(excinfo.value)
    logged = capsys.readouterr()
    assert "notebooks tick" in logged.out and SECRET not in logged.out + logged.err
    assert query["sig"] not in logged.out + logged.err  # the link itself is only in the notification
    assert SECRET not in repr(rt.settings)


def _stop_after_warning(nb_cloud, rt):
    """Warn now, stop after the 30-minute grace; the time of the stop."""
    governor_tick(rt)
    nb_cloud.advance(30 * 60)
    governor_tick(rt)
    return nb_cloud.clock.now()


def test_savings_report_matches_the_timelines_and_the_price_table(nb_cloud, tmp_path):
    cloud = nb_cloud
    rt = runtime(cloud, {**POLICY, "prices": {"ecs.gn7e-c12g1.3xlarge": {"per_hour": 32.0, "gpus": 1}}})
    a100 = create(rt, "a100", spec=GPU_SPEC, gpus=1)
    cpu = create(rt, "cpu", spec=CPU_SPEC)
    weekender = create(rt, "weekender", spec=GPU_SPEC, gpus=1)
    cloud.advance(10)
    for iid in (a100, cpu):  # idle since 65 minutes ago
        seed(cloud, iid, cpu=1, gpu=1, minutes=4000, step=600, start=cloud.clock.now() - 65 * 60)
    seed(cloud, weekender, cpu=90, gpu=90, minutes=4000, step=600)
    stopped_at = _stop_after_warning(cloud, rt)  # Friday 08:30
    assert states(rt, a100)[-1] == "stopped" and states(rt, cpu)[-1] == "stopped"
    # the A100's owner starts it again 3 hours later; the next tick sees it running
    cloud.advance(3 * 3600)
    rt.clients.dsw.start_instance(a100)
    cloud.advance(60)
    governor_tick(rt)
    restarted_at = cloud.clock.now()
    # Monday 10:00: the CPU instance stayed stopped (capped at 72 h); the weekender ran all weekend
    cloud.advance(T0 + 3 * 86400 + 2 * 3600 - cloud.clock.now())

    report = savings_report(rt, 7 * 86400)

    a100_hours = (restarted_at - stopped_at) / 3600
    by_instance = {i["instance_id"]: i for i in report["instances"]}
    assert by_instance[a100]["hours"] == pytest.approx(a100_hours, abs=1e-3)
    assert by_instance[a100]["gpu_hours"] == pytest.approx(a100_hours, abs=1e-3)
    assert by_instance[a100]["cost"] == pytest.approx(a100_hours * 32.0, abs=0.01)
    assert by_instance[cpu]["hours"] == 72.0 and by_instance[cpu]["gpu_hours"] == 0.0
    assert by_instance[cpu]["cost"] == 72.0  # ecs.g7.xlarge default estimate: 1.0 per hour
    assert report["totals"]["cost"] == pytest.approx(a100_hours * 32.0 + 72.0, abs=0.01)
    owners = {o["owner"]: o["cost"] for o in report["owners"]}
    assert owners == {"u-a100": pytest.approx(a100_hours * 32.0, abs=0.01), "u-cpu": 72.0}
    weekend = {w["instance_id"]: w for w in report["through_weekend"]}
    assert set(weekend) == {weekender} and weekend[weekender]["weekends"] == ["2027-01-16"]
    assert weekend[weekender]["still_running"]

    page = render_html(report)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert f"{a100_hours * 32.0 + 72.0:,.2f} CNY" in page

    recent = recent_actions(rt, 7 * 86400)
    assert [(r["instance_id"], r["action"]) for r in recent if r["instance_id"] == a100] == [
        (a100, "warned"), (a100, "stopped"), (a100, "restarted")]
    assert recent_actions(rt, 60) == []


def test_cli_plan_snooze_and_report(nb_cloud, tmp_path, monkeypatch):
    cloud = nb_cloud
    now = float(int(time.time()))
    cloud.clock.freeze(now)  # the CLI's runtime reads the wall clock
    config = tmp_path / "autopilot.yaml"
    config.write_text(json.dumps({**BASE_CONFIG, "notebooks": POLICY}))
    env = {**cloud.env(BUCKET), "AUTOPILOT_CONFIG": str(config)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rt = runtime(cloud, POLICY)
    iid = create(rt, "nb_cli")
    cloud.advance(10)
    seed(cloud, iid, cpu=1, gpu=1, minutes=200, step=300, start=cloud.clock.now() - 70 * 60)
    runner = CliRunner()

    plan = runner.invoke(app, ["notebooks", "plan", "--json"])
    assert plan.exit_code == 0, plan.output
    assert {a["action"] for a in json.loads(plan.output)["actions"]} == {"would warn", "would culler create"}
    listing = runner.invoke(app, ["notebooks", "--json"])
    assert listing.exit_code == 0 and json.loads(listing.output)[0]["note"] == "no culler yet"
    snoozed = runner.invoke(app, ["notebooks", "snooze", iid, "--hours", "2"])
    assert snoozed.exit_code == 0 and "snoozed until" in snoozed.output
    unknown = runner.invoke(app, ["notebooks", "snooze", "dsw-nope", "--hours", "2"])
    assert unknown.exit_code == 2 and "no DSW instance 'dsw-nope'" in unknown.output
    html = tmp_path / "savings.html"
    report = runner.invoke(app, ["notebooks", "report", "--since", "1d", "--html", str(html)])
    assert report.exit_code == 0 and html.read_text().startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["notebooks", "report", "--since", "soon"])
    assert bad.exit_code == 2 and "not a duration" in bad.output
