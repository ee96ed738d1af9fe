"""``pai-autopilot local traffic``: steady inference traffic against localcloud's EAS gateway.

Requests go to ``http://<host>:<port>/api/predict/<target><suffix>`` at a fixed rate (a
scheduled loop: request *i* is due at ``start + i / qps``; a pool of worker threads sends them,
so slow answers do not slow the rate), for ``--duration`` seconds. A progress line is printed
every second and a summary at the end (sent, status counts, latency p50/p99, achieved QPS).
Only loopback hosts are allowed: this is a load generator for the emulator, not for the cloud.

Example
-------
>>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50)
3.0
>>> loopback("127.0.0.1"), loopback("10.0.0.1")
(True, False)
>>> TrafficSummary(sent=2, statuses={200: 1, 503: 1}, latencies_ms=[10.0, 30.0], elapsed=1.0).line()
'sent 2 · 200: 1 · 503: 1 · p50 10.0 ms · p99 30.0 ms · 2.0 QPS'
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import typer

from .failures import EXIT_UNREACHABLE, EXIT_USAGE, fail
from .local import DEFAULT_PORT, PortOption, local_app

ERROR = -1  # the status recorded for a request that got no HTTP answer (connection error, timeout)


@dataclasses.dataclass
class TrafficSummary:
    """What a traffic run did; ``statuses`` maps HTTP status (or -1: no answer) to a count."""

    sent: int = 0
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    latencies_ms: list[float] = dataclasses.field(default_factory=list)
    elapsed: float = 0.0

    @property
    def completed(self) -> int:
        return sum(self.statuses.values())

    @property
    def achieved_qps(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        counts = " · ".join(f"{'no answer' if s == ERROR else s}: {n}" for s, n in sorted(self.statuses.items()))
        return (
            f"sent {self.sent} · {counts or 'no answers yet'} · p50 {percentile(self.latencies_ms, 50):.1f} ms"
            f" · p99 {percentile(self.latencies_ms, 99):.1f} ms · {self.achieved_qps:.1f} QPS"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent, "completed": self.completed, "statuses": dict(sorted(self.statuses.items())),
            "p50_ms": round(percentile(self.latencies_ms, 50), 3), "p99_ms": round(percentile(self.latencies_ms, 99), 3),
            "achieved_qps": round(self.achieved_qps, 2), "elapsed_s": round(self.elapsed, 3),
        }


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine."""
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def run_traffic(
    url: str, *, qps: float, duration: float, concurrency: int = 0, body: bytes = b"{}",
    headers: dict[str, str] | None = None, timeout: float = 10.0,
    on_progress: Callable[[float, TrafficSummary], None] | None = None,
) -> TrafficSummary:
    """Send ``qps`` requests per second to ``url`` for ``duration`` seconds; return the summary.

    ``concurrency`` worker threads send the requests (0: enough for the rate, 4-64);
    ``on_progress(elapsed, summary)`` is called about once a second.
    """
    import requests

    if qps <= 0 or duration <= 0:
        raise ValueError("qps and duration must be > 0")
    total = max(1, round(qps * duration))
    workers = concurrency or min(64, max(4, math.ceil(qps / 20)))
    summary = TrafficSummary()
    lock = threading.Lock()
    local = threading.local()

    def send() -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        began = time.perf_counter()
        try:
            status = session.post(url, data=body, headers=headers, timeout=timeout).status_code
        except requests.RequestException:
            status = ERROR
        latency = (time.perf_counter() - began) * 1000
        with lock:
            summary.statuses[status] = summary.statuses.get(status, 0) + 1
            if status != ERROR:
                summary.latencies_ms.append(latency)

    start = time.perf_counter()
    next_report = start + 1.0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="traffic") as pool:
        for i in range(total):
            due = start + i / qps
            while True:
                now = time.perf_counter()
                if on_progress is not None and now >= next_report:
                    with lock:
                        summary.elapsed = now - start
                        on_progress(now - start, summary)
                    next_report += 1.0
                if now >= due:
                    break
                time.sleep(min(due - now, max(next_report - now, 0.0), 0.05))
            pool.submit(send)
            summary.sent += 1
    summary.elapsed = time.perf_counter() - start
    return summary


def _on_clock(url: str, *, port: int, host: str, qps: float, duration: float, concurrency: int, body: bytes,
              headers: dict[str, str], progress: Any) -> TrafficSummary:
    """``qps`` requests per clock second, as fast as they go, then the clock one second on."""
    import requests

    total = TrafficSummary()
    started = time.perf_counter()
    per_second = max(1, round(qps))
    for second in range(max(1, math.ceil(duration))):
        # a burst of one clock second's requests (the rate is the clock's, not the wall's)
        burst = run_traffic(url, qps=10_000, duration=per_second / 10_000, concurrency=concurrency or 16, body=body,
                            headers=headers)
        total.sent += burst.sent
        total.latencies_ms.extend(burst.latencies_ms)
        for status, n in burst.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        requests.post(f"http://{host}:{port}/_localcloud/clock", json={"advance": 1}, timeout=60)
        if progress is not None and (second + 1) % 10 == 0:
            total.elapsed = time.perf_counter() - started
            progress(float(second + 1), total)
    total.elapsed = time.perf_counter() - started
    return total


def eas_targets(host: str, port: int) -> list[str]:
    """The EAS services and groups of the localcloud at ``host:port`` (its control API's state)."""
    import requests

    try:
        state = requests.get(f"http://{host}:{port}/_localcloud/state", timeout=30).json()
    except requests.ConnectionError:
        raise fail(f"no localcloud on port {port} (connection refused); start one with: pai-autopilot local up --port {port}",
                   EXIT_UNREACHABLE) from None
    eas = state.get("eas") or {}
    names = {s.get("ServiceName") for s in eas.get("services") or []} | {g.get("Name") for g in eas.get("groups") or []}
    return sorted(n for n in names if n)


@local_app.command()
def traffic(
    target: Annotated[str, typer.Option("--target", "-t", help="EAS service or group name (/api/predict/<target>).")],
    qps: Annotated[float, typer.Option(help="Requests per second.", min=0.1, max=10000)],
    duration: Annotated[float, typer.Option(help="Seconds to send for.", min=0.1, max=86400)] = 10.0,
    port: PortOption = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="localcloud host (loopback only).")] = "127.0.0.1",
    path_suffix: Annotated[str, typer.Option(help="Appended to the endpoint path, e.g. /v1/predict.")] = "",
    body: Annotated[str, typer.Option(help="Request body.")] = '{"inputs": [[1.0, 2.0, 3.0]]}',
    token: Annotated[str | None, typer.Option(help="Authorization header (the service's AccessToken).")] = None,
    concurrency: Annotated[int, typer.Option(help="Sending threads (0: by rate).", min=0, max=256)] = 0,
    quiet: Annotated[bool, typer.Option(help="No progress lines, only the summary.")] = False,
    on_clock: Annotated[bool, typer.Option(
        "--on-clock", help="Fast-forward: send --qps requests per second of localcloud's clock, then move the clock one "
        "second on (timers on the way fire), for --duration clock seconds; a minute of traffic takes seconds.")] = False,
) -> None:
    """Send steady traffic to an EAS service or group on a running localcloud.

    Exit 2 for a non-loopback host or a target that is no service or group of that localcloud
    (the known ones are listed); 3 when no localcloud answers; 1 when no request got an answer.
    """
    if not loopback(host):
        typer.echo(f"error: {host!r} is not a loopback address; traffic only goes to a local localcloud", err=True)
        raise typer.Exit(2)
    known = eas_targets(host, port)
    if target not in known:
        raise fail(f"no EAS service or group {target!r} on localcloud port {port}; known: {', '.join(known) or '(none)'}",
                   EXIT_USAGE)
    if path_suffix and not path_suffix.startswith("/"):
        path_suffix = "/" + path_suffix
    url = f"http://{host}:{port}/api/predict/{target}{path_suffix}"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    typer.echo(f"{qps:g} QPS for {duration:g} s → {url}")

    def progress(elapsed: float, summary: TrafficSummary) -> None:
        if not quiet:
            typer.echo(f"[{elapsed:5.1f} s] {summary.line()}")

    if on_clock:
        summary = _on_clock(url, port=port, host=host, qps=qps, duration=duration, concurrency=concurrency,
                            body=body.encode(), headers=headers, progress=None if quiet else progress)
    else:
        summary = run_traffic(url, qps=qps, duration=duration, concurrency=concurrency, body=body.encode(),
                              headers=headers, on_progress=progress)
    typer.echo(f"done in {summary.elapsed:.1f} s: {summary.line()}")
    if summary.statuses.get(ERROR) == summary.completed and summary.completed:
        typer.echo(f"error: no answer from {url}; is localcloud running on port {port}?", err=True)
        raise typer.Exit(1)
