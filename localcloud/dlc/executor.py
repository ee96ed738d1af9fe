"""Exec mode (``Envs.LOCALCLOUD_RUNNER=exec``): a ``Running`` job runs its ``UserCommand`` as local
processes, so a real small training script can run offline.

* one ``bash -c UserCommand`` process per pod, with DLC's environment: ``RANK`` (0, 1, … in pod
  order), ``WORLD_SIZE`` (the pod count), ``LOCAL_RANK=0``, ``MASTER_ADDR=127.0.0.1``, a free
  ``MASTER_PORT``, ``JOB_ID``, ``PYTHONUNBUFFERED=1`` and the job's ``Envs``; the directory of the
  Python running localcloud comes first on ``PATH``;
* each OSS data source (``DataSources[].Uri`` → ``MountPath``) is downloaded into a temporary
  directory. Nothing is written under the real ``MountPath`` (``/mnt/…``): instead every
  occurrence of the MountPath in ``UserCommand`` and in the ``Envs`` values is **rewritten** to that
  directory. Data sources given only by ``DataSourceId`` are skipped (logged);
* ``$LOCALCLOUD_OUTPUT_DIR`` is uploaded to ``AUTOPILOT_OUTPUT_URI`` and
  ``$LOCALCLOUD_CHECKPOINT_DIR`` to ``AUTOPILOT_CHECKPOINT_URI`` once the processes exit (marker
  files ``_SUCCESS``/``_COMPLETE`` last); ``AUTOPILOT_RESUME_FROM`` is downloaded into
  ``$LOCALCLOUD_RESUME_DIR`` first;
* stdout and stderr of each pod are its GetPodLogs; all exit 0 → ``Succeeded``, otherwise ``Failed``
  with ``JobFailed``. StopJob (or a time-based fault rule) terminates the process group.

The processes run in real time; the clock only decides when the job reaches ``Running``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .jobs import Job
from .ossio import OssIO

log = logging.getLogger("localcloud.dlc")
KILL_GRACE_SECONDS = 3.0
LOG_TAIL = 5000


@dataclasses.dataclass
class ExecResult:
    """How an exec run ended: exit codes by pod id, an error before or after the run, the logs,
    and the ending a kill asked for (``(status, code, message, evicted)``)."""

    codes: dict[str, int]
    error: str | None
    logs: dict[str, list[str]]
    kill_plan: tuple[str, str, str, bool] | None


@dataclasses.dataclass
class _Run:
    job_id: str
    workdir: Path
    procs: list[subprocess.Popen[bytes]] = dataclasses.field(default_factory=list)
    log_paths: dict[str, Path] = dataclasses.field(default_factory=dict)
    kill_plan: tuple[str, str, str, bool] | None = None
    abandoned: bool = False


def rewrite_mounts(text: str, mounts: list[tuple[str, str]]) -> str:
    """Replace each MountPath (with or without its trailing ``/``) by its local directory.

    >>> rewrite_mounts("python t.py --data /mnt/data/ --x /mnt/data2", [("/mnt/data/", "/tmp/d")])
    'python t.py --data /tmp/d/ --x /mnt/data2'
    """
    for mount, local in sorted(mounts, key=lambda m: -len(m[0])):
        bare = mount.rstrip("/")
        if bare:
            text = re.sub(re.escape(bare) + r"(?![\w.\-])", lambda _m, local=local: local, text)
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Executor:
    """Runs exec-mode jobs in background threads; ``on_exit(job_id, result)`` reports each end."""

    def __init__(self, *, io: OssIO, on_exit: Callable[[str, ExecResult], None]) -> None:
        self.io = io
        self.on_exit = on_exit
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}

    def active(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._runs

    def start(self, job: Job) -> None:
        """Start the job's processes (in a thread: data sources are downloaded first)."""
        run = _Run(job.job_id, Path(tempfile.mkdtemp(prefix=f"localcloud-dlc-{job.job_id}-")))
        spec = {
            "command": job.user_command, "envs": dict(job.envs), "sources": list(job.data_sources),
            "pods": [p.pod_id for p in job.pods] or [f"{job.job_id}-worker-0"],
        }
        with self._lock:
            self._runs[job.job_id] = run
        threading.Thread(target=self._run, args=(run, spec), name=f"dlc-exec-{job.job_id}", daemon=True).start()

    def kill(self, job_id: str, plan: tuple[str, str, str, bool]) -> bool:
        """Terminate the job's processes; the run then ends as ``plan`` says. False if not running."""
        with self._lock:
            run = self._runs.get(job_id)
            if run is None:
                return False
            run.kill_plan = run.kill_plan or plan
            procs = list(run.procs)
        _terminate(procs)
        return True

    def logs(self, job_id: str) -> dict[str, list[str]] | None:
        """The live logs of a running job by pod id (``None`` if it is not running)."""
        with self._lock:
            run = self._runs.get(job_id)
            paths = dict(run.log_paths) if run else None
        return None if paths is None else {pod: _tail(path) for pod, path in paths.items()}

    def reset(self) -> None:
        """Kill every process at once; their runs report nothing."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in runs:
            run.abandoned = True
            _terminate(run.procs, grace=0)

    # -- the run thread ----------------------------------------------------------------------
    def _run(self, run: _Run, spec: dict[str, Any]) -> None:
        codes: dict[str, int] = {}
        error: str | None = None
        notes: list[str] = []
        dirs = {name: run.workdir / name for name in ("work", "output", "checkpoints", "resume", "logs", "mounts")}
        try:
            for path in dirs.values():
                path.mkdir(parents=True, exist_ok=True)
            mounts = self._mount(spec["sources"], dirs["mounts"], notes)
            envs = spec["envs"]
            if envs.get("AUTOPILOT_RESUME_FROM"):
                self.io.download(envs["AUTOPILOT_RESUME_FROM"], dirs["resume"])
            command = rewrite_mounts(spec["command"], mounts)
            base = {
                **os.environ, **{k: rewrite_mounts(v, mounts) for k, v in envs.items()},
                "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
                "WORLD_SIZE": str(len(spec["pods"])), "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(free_port()), "JOB_ID": run.job_id, "PYTHONUNBUFFERED": "1",
                "LOCALCLOUD_OUTPUT_DIR": str(dirs["output"]), "LOCALCLOUD_CHECKPOINT_DIR": str(dirs["checkpoints"]),
                "LOCALCLOUD_RESUME_DIR": str(dirs["resume"]),
            }
            with self._lock:
                if run.kill_plan is None and not run.abandoned:
                    for rank, pod in enumerate(spec["pods"]):
                        path = run.log_paths[pod] = dirs["logs"] / f"{pod}.log"
                        with path.open("wb") as out:
                            if rank == 0 and notes:
                                out.write(("\n".join(notes) + "\n").encode())
                                out.flush()
                            run.procs.append(subprocess.Popen(
                                ["bash", "-c", command], cwd=dirs["work"], env={**base, "RANK": str(rank)},
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                            ))
            for pod, proc in zip(spec["pods"], list(run.procs), strict=False):
                codes[pod] = proc.wait()
        except Exception as exc:
            error = f"{getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'message', exc)}"
        if not run.abandoned:
            error = self._upload(spec["envs"], dirs, error)
        logs = {pod: _tail(path) for pod, path in run.log_paths.items()}
        if notes and not run.log_paths:
            logs[spec["pods"][0]] = notes
        try:
            if not run.abandoned:
                self.on_exit(run.job_id, ExecResult(codes, error, logs, run.kill_plan))
        except Exception:
            log.exception("DLC exec job %s: reporting its end failed", run.job_id)
        finally:
            with self._lock:
                if self._runs.get(run.job_id) is run:
                    del self._runs[run.job_id]
            shutil.rmtree(run.workdir, ignore_errors=True)

    def _mount(self, sources: list[dict[str, Any]], root: Path, notes: list[str]) -> list[tuple[str, str]]:
        mounts = []
        for i, source in enumerate(sources):
            uri, mount = str(source.get("Uri") or ""), str(source.get("MountPath") or "")
            if not uri.startswith("oss://") or not mount:
                notes.append(f"[localcloud] data source {i} ({uri or source.get('DataSourceId')}) not materialised: "
                             "only oss:// Uri with a MountPath is")
                continue
            local = root / str(i)
            local.mkdir(parents=True, exist_ok=True)
            count = self.io.download(uri, local)
            notes.append(f"[localcloud] {uri} -> {mount} (rewritten to {local}, {count} files)")
            mounts.append((mount, str(local)))
        return mounts

    def _upload(self, envs: dict[str, str], dirs: dict[str, Path], error: str | None) -> str | None:
        for env, name in (("AUTOPILOT_CHECKPOINT_URI", "checkpoints"), ("AUTOPILOT_OUTPUT_URI", "output")):
            if envs.get(env) and dirs[name].is_dir():
                try:
                    self.io.upload(dirs[name], envs[env])
                except Exception as exc:
                    error = error or f"uploading {name} to {envs[env]}: {getattr(exc, 'code', type(exc).__name__)}"
        return error


def _tail(path: Path, lines: int = LOG_TAIL) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def _terminate(procs: list[subprocess.Popen[bytes]], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM each process group, then SIGKILL what is left after ``grace`` seconds."""
    alive = [p for p in procs if p.poll() is None]
    sig = signal.SIGKILL if grace <= 0 else signal.SIGTERM
    for proc in alive:
        _killpg(proc, sig)
    if alive and grace > 0:
        def finish() -> None:
            for proc in alive:
                try:
                    proc.wait(grace)
                except subprocess.TimeoutExpired:
                    _killpg(proc, signal.SIGKILL)
        threading.Thread(target=finish, name="dlc-exec-kill", daemon=True).start()


def _killpg(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
