"""Function instances: worker processes that serve one invocation at a time.

An instance starts on its first invocation (a cold start) and stays warm. A timed-out
invocation kills its instance, as FC does; the next invocation starts a new one.

Example
-------
>>> inst = Instance("demo", env={"FC_FUNCTION_HANDLER": "json.dumps"}, cwd=".", pythonpath=[])  # doctest: +SKIP
>>> inst.invoke(b'{}', {"request_id": "r1"}, timeout=5).ok  # doctest: +SKIP
False
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


@dataclasses.dataclass
class InvokeResult:
    """The outcome of one invocation as the runtime saw it."""

    ok: bool
    result: Any = None
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None
    duration_ms: float = 0.0
    cold_start: bool = False


class Instance:
    """One worker process for one function."""

    def __init__(
        self,
        function: str,
        *,
        env: dict[str, str],
        cwd: str,
        pythonpath: list[str],
        on_log: Callable[[str, str], None] | None = None,
    ) -> None:
        self.function = function
        self.env = env
        self.cwd = cwd
        self.pythonpath = pythonpath
        self.on_log = on_log or (lambda _fn, _line: None)
        self._proc: subprocess.Popen[str] | None = None
        self._results: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def credentials(self) -> dict[str, str | None]:
        """The instance's STS triple, also handed to the handler as ``context.credentials``."""
        return {
            "access_key_id": self.env.get("ALIBABA_CLOUD_ACCESS_KEY_ID"),
            "access_key_secret": self.env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
            "security_token": self.env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None,
        }

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _start(self) -> None:
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join(self.pythonpath)
        env["PYTHONUNBUFFERED"] = "1"
        self._results = queue.Queue()
        self._proc = subprocess.Popen(
            [sys.executable, WORKER_SCRIPT],  # by path: the instance imports nothing of localcloud
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.cwd, env=env, text=True, encoding="utf-8", bufsize=1,
        )
        threading.Thread(target=self._pump_results, args=(self._proc, self._results), daemon=True).start()
        threading.Thread(target=self._pump_logs, args=(self._proc,), daemon=True).start()

    @staticmethod
    def _pump_results(proc: subprocess.Popen[str], results: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            results.put(line)
        results.put(None)

    def _pump_logs(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.on_log(self.function, line.rstrip("\n"))

    def invoke(self, event: bytes, context: dict[str, Any], *, timeout: float) -> InvokeResult:
        """Run the handler once; kill the instance if it exceeds ``timeout`` seconds."""
        with self._lock:
            cold = not self.running
            if cold:
                self._start()
            assert self._proc is not None and self._proc.stdin is not None
            context = {"credentials": self.credentials, **context}
            request = {"event": base64.b64encode(event).decode(), "context": context}
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
                line = self._results.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                return InvokeResult(
                    ok=False, error_type="FunctionTimeout", error=f"Function timed out after {timeout:g} seconds",
                    duration_ms=timeout * 1000, cold_start=cold,
                )
            except (BrokenPipeError, OSError) as exc:
                self.kill()
                return InvokeResult(ok=False, error_type="InstanceCrashed", error=str(exc), cold_start=cold)
            if line is None:
                code = self._proc.wait() if self._proc is not None else -9
                self._proc = None
                return InvokeResult(ok=False, error_type="InstanceCrashed", error=f"instance exited with code {code}", cold_start=cold)
            answer = json.loads(line)
            return InvokeResult(
                ok=answer["ok"], result=answer.get("result"), error_type=answer.get("error_type"),
                error=answer.get("error"), traceback=answer.get("traceback"),
                duration_ms=answer.get("duration_ms", 0.0), cold_start=cold,
            )

    def crash(self) -> bool:
        """Kill the worker process as a crash would (the invocation it is serving, if any, ends
        as ``InstanceCrashed``); the next invocation cold-starts a new one. True if it was running."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        proc.kill()
        proc.wait(timeout=5)
        return True

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            assert proc.stdin is not None
            try:
                proc.stdin.close()
                proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
