"""One FC instance: a worker process that loads a handler and serves invocations.

Protocol (parent ↔ worker): the parent writes one JSON request per line on the worker's
stdin (``{"request_id", "event" (base64), "context"}``); the worker answers one JSON line on
its *original* stdout. Everything the function prints — its logs — goes to stderr, which the
parent captures per function, like FC's log service. The handler module is imported on the
first invocation, so that invocation carries the cold start, as on FC.

localcloud's clock: when ``LOCALCLOUD_FOLLOW_CLOCK`` names this function (a comma-separated
list of FC function names, or ``*``), ``time.time()`` in the instance follows the clock time
the parent sends with each invocation (``context.clock_now``), like libfaketime: a function whose
logic compares its own "now" with timestamps localcloud made (CloudMonitor datapoints, ledger
records of a driven clock) sees one consistent time. Off by default.

Run as ``python <path>/worker.py`` (by path, so the instance imports nothing of localcloud) with ``FC_FUNCTION_HANDLER=<module>.<function>``.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import time
import traceback
from types import SimpleNamespace
from typing import Any


def _context(raw: dict[str, Any]) -> SimpleNamespace:
    """An FC python3.10-style context object (request id, credentials, function, service)."""
    creds = raw.get("credentials") or {}
    function = raw.get("function") or {}
    service = raw.get("service") or {}
    return SimpleNamespace(
        request_id=raw.get("request_id"),
        credentials=SimpleNamespace(
            access_key_id=creds.get("access_key_id"),
            access_key_secret=creds.get("access_key_secret"),
            security_token=creds.get("security_token"),
        ),
        function=SimpleNamespace(**function),
        service=SimpleNamespace(**service),
        region=raw.get("region"),
        account_id=raw.get("account_id"),
    )


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


_REAL_TIME = time.time


def _follows_clock() -> bool:
    names = os.environ.get("LOCALCLOUD_FOLLOW_CLOCK", "")
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    return "*" in wanted or os.environ.get("FC_FUNCTION_NAME", "") in wanted


def _follow_clock(clock_now: Any) -> None:
    """Make ``time.time()`` read localcloud's clock from now on (offset from the real time)."""
    if not isinstance(clock_now, (int, float)):
        return
    offset = float(clock_now) - _REAL_TIME()
    time.time = lambda: _REAL_TIME() + offset


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]  # run by path: hide our siblings
    results = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the function's prints and logs go to stderr
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", closefd=False)
    module_name, _, function_name = os.environ["FC_FUNCTION_HANDLER"].rpartition(".")
    handler = None
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["context"].get("request_id")
        print(f"FC Invoke Start RequestId: {request_id}", flush=True)
        started = time.perf_counter()
        if _follows_clock():
            _follow_clock(request["context"].get("clock_now"))
        try:
            if handler is None:
                handler = getattr(importlib.import_module(module_name), function_name)
            result = handler(base64.b64decode(request["event"]), _context(request["context"]))
            answer: dict[str, Any] = {"ok": True, "result": _jsonable(result)}
        except BaseException as exc:  # report every failure to the parent, as FC does
            answer = {
                "ok": False,
                "error_type": type(exc).__name__,
                "error": str(exc),
                "traceback": traceback.format_exc(),
            }
            traceback.print_exc()
        answer["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        sys.stdout.flush()
        sys.stderr.flush()
        print(f"FC Invoke End RequestId: {request_id}", flush=True)
        results.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
