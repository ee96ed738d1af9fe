"""Small-object throughput: oss2 → localcloud beside boto3 → moto's server mode, interleaved.

Each server runs in its own process on loopback; this process is the client. Per round, for
each cloud in rotated order, phase by phase: ``--objects`` sequential PUTs of ``--size`` bytes,
as many sequential GETs, list pages of 100 keys (5 walks of the listing), then the PUTs and GETs
again from ``--clients`` clients (separate processes by default, so they do not share one
GIL; ``--mode thread`` for threads of this process). localcloud verifies every signature
(oss2 signs v4 by default, ``--auth v1``); moto does not check boto3's (its default).
``--baseline DIR`` adds localcloud from another source tree (``git archive <commit> | tar -x``)
to the same interleaved run, for before/after figures.

Reported per phase: operations per second (median of the rounds), the ratio localcloud / other
inside each round (median), the clients' own CPU per operation (``process_time``) and the
server's CPU per operation (from ``/proc/<pid>/stat``), so the server's share is visible.
Results: ``bench/results/oss_throughput.json``.

Run: ``make bench`` or ``.venv/bin/python bench/oss_throughput.py [--objects 2000 --rounds 3]``
(needs the ``bench`` extra: moto[server], boto3).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
BUCKET = "bench"
PHASES = ("put_1", "get_1", "list_page_1", "put_4", "get_4")
AUTH = "v4"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def serve_localcloud(port: int) -> None:
    """Child process: localcloud in the foreground with the bench bucket."""
    from localcloud import LocalCloud

    cloud = LocalCloud()
    cloud.create_bucket(BUCKET)
    cloud.serve_forever(port=port)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process ``pid`` (all threads), or ``None`` off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """One cloud's SDK client: the calls of each phase."""

    def __init__(self, cloud: str, url: str) -> None:
        if cloud in ("localcloud", "baseline"):
            import oss2

            from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

            auth = (oss2.AuthV4 if AUTH == "v4" else oss2.Auth)(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET)
            bucket = oss2.Bucket(auth, url, BUCKET, region="cn-hangzhou", session=oss2.Session())
            self.put = lambda key, body: bucket.put_object(key, body)
            self.get = lambda key: bucket.get_object(key).read()
            self.list_page = lambda token: bucket.list_objects_v2(
                continuation_token=token, max_keys=100).next_continuation_token
        else:
            import boto3

            s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="y")
            s3.head_bucket(Bucket=BUCKET)
            self.put = lambda key, body: s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            self.get = lambda key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

            def list_page(token: str) -> str:
                extra = {"ContinuationToken": token} if token else {}
                return s3.list_objects_v2(Bucket=BUCKET, MaxKeys=100, **extra).get("NextContinuationToken", "")

            self.list_page = list_page

    def calls(self, phase: str, keys: list[str], body: bytes) -> list[Callable[[], Any]]:
        if phase.startswith("put"):
            return [lambda k=k: self.put(k, body) for k in keys]
        if phase.startswith("get"):
            return [lambda k=k: self.get(k) for k in keys]
        pages = max(len(keys) // 100, 1)

        def walk() -> None:
            token = ""
            for _ in range(pages):
                token = self.list_page(token) or ""

        return [walk] * 5  # 5 walks of the listing, counted per page


class Target:
    """One cloud: its server process, an SDK client in this process, and client processes."""

    def __init__(self, cloud: str, argv: list[str]) -> None:
        self.cloud = cloud
        self.name = {"localcloud": "localcloud_oss2", "moto": "moto_boto3", "baseline": "baseline_oss2"}[cloud]
        self.port = free_port()
        argv = [arg.replace("{port}", str(self.port)) for arg in argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        if cloud == "moto":
            import boto3

            boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="x",
                         aws_secret_access_key="y").create_bucket(Bucket=BUCKET)
        self.client = Client(cloud, self.url)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _worker(cloud: str, url: str, auth: str, body: bytes, commands: Any, results: Any) -> None:
    """A client process: build the SDK client once, then run each ``(phase, keys)`` it is sent."""
    global AUTH
    AUTH = auth
    client = Client(cloud, url)
    results.put(None)  # ready
    while (command := commands.get()) is not None:
        phase, keys = command
        calls = client.calls(phase, keys, body)
        cpu0 = time.process_time()
        for call in calls:
            call()
        results.put((time.perf_counter(), time.process_time() - cpu0))


class ClientPool:
    """``n`` client processes of one cloud (or ``n`` threads of this one, ``mode="thread"``)."""

    def __init__(self, target: Target, n: int, mode: str, body: bytes) -> None:
        self.target, self.n, self.mode, self.body = target, n, mode, body
        self.procs: list[Any] = []
        if mode == "process":
            ctx = multiprocessing.get_context("spawn")
            self.results = ctx.Queue()
            self.commands = [ctx.Queue() for _ in range(n)]
            self.procs = [ctx.Process(target=_worker, args=(target.cloud, target.url, AUTH, body, queue, self.results))
                          for queue in self.commands]
            for proc in self.procs:
                proc.start()
            for _ in self.procs:
                self.results.get(timeout=120)
        else:
            self.clients = [Client(target.cloud, target.url) for _ in range(n)]
            self.pool = ThreadPoolExecutor(n)

    def run(self, phase: str, keys: list[str]) -> tuple[float, float]:
        """(elapsed seconds, clients' CPU seconds) of ``keys`` shared among the clients."""
        shares = [keys[i :: self.n] for i in range(self.n)]
        if self.mode == "thread":
            cpu0, started = time.process_time(), time.perf_counter()
            list(self.pool.map(lambda pair: [c() for c in pair[0].calls(phase, pair[1], self.body)],
                               zip(self.clients, shares, strict=True)))
            return time.perf_counter() - started, time.process_time() - cpu0
        started = time.perf_counter()
        for queue, share in zip(self.commands, shares, strict=True):
            queue.put((phase, share))
        done = [self.results.get(timeout=600) for _ in self.commands]
        return max(end for end, _ in done) - started, sum(cpu for _, cpu in done)

    def close(self) -> None:
        if self.mode == "thread":
            self.pool.shutdown()
            return
        for queue in self.commands:
            queue.put(None)
        for proc in self.procs:
            proc.join(timeout=10)


def _result(ops: int, seconds: float, client_cpu: float, server_cpu: float | None,
            latencies: list[float] | None = None) -> dict[str, float]:
    result = {"ops_per_s": ops / seconds, "client_cpu_ms_per_op": 1000 * client_cpu / ops}
    if server_cpu is not None:
        result["server_cpu_ms_per_op"] = 1000 * server_cpu / ops
    if latencies:
        result["median_ms"] = 1000 * statistics.median(latencies)
        result["p90_ms"] = 1000 * statistics.quantiles(latencies, n=10)[-1]
    return result


def _server_cpu(targets: list[Target]) -> dict[str, float | None]:
    return {t.name: cpu_seconds(t.proc.pid) for t in targets}


def _delta(before: dict[str, float | None], after: dict[str, float | None], name: str) -> float | None:
    start, end = before[name], after[name]
    return None if start is None or end is None else end - start


def sequential(targets: list[Target], phase: str, objects: int, body: bytes) -> dict[str, dict[str, float]]:
    """One client per cloud, requests interleaved one by one (the order rotating), so load
    changes on the machine hit every cloud alike. Ops/s = operations / time inside them."""
    keys = [f"bench/{i:06d}.bin" for i in range(objects)]
    calls = {t.name: t.client.calls(phase, keys, body) for t in targets}
    latencies: dict[str, list[float]] = {t.name: [] for t in targets}
    cpu = dict.fromkeys(calls, 0.0)
    servers = _server_cpu(targets)
    for i in range(len(calls[targets[0].name])):
        for target in targets[i % len(targets):] + targets[: i % len(targets)]:
            cpu0, started = time.process_time(), time.perf_counter()
            calls[target.name][i]()
            latencies[target.name].append(time.perf_counter() - started)
            cpu[target.name] += time.process_time() - cpu0
    after = _server_cpu(targets)
    per_call = max(objects // 100, 1) if phase.startswith("list") else 1  # a listing walk is many pages
    results = {}
    for t in targets:
        lat = latencies[t.name]
        results[t.name] = _result(len(lat) * per_call, sum(lat), cpu[t.name], _delta(servers, after, t.name),
                                  None if per_call > 1 else lat)
    return results


def concurrent(targets: list[Target], pools: dict[str, ClientPool], phase: str, objects: int,
               block: int) -> dict[str, dict[str, float]]:
    """Each cloud's client pool in turn on blocks of ``block`` keys (the order rotating)."""
    keys = [f"bench/{i:06d}.bin" for i in range(objects)]
    elapsed = {t.name: 0.0 for t in targets}
    cpu = {t.name: 0.0 for t in targets}
    servers = _server_cpu(targets)
    for j, start in enumerate(range(0, objects, block)):
        for target in targets[j % len(targets):] + targets[: j % len(targets)]:
            seconds, client_cpu = pools[target.name].run(phase, keys[start : start + block])
            elapsed[target.name] += seconds
            cpu[target.name] += client_cpu
    after = _server_cpu(targets)
    return {t.name: _result(objects, elapsed[t.name], cpu[t.name], _delta(servers, after, t.name)) for t in targets}


def median_of(rounds: list[dict[str, dict[str, float]]], name: str, phase: str, field: str) -> float | None:
    values = [r[name][phase][field] for r in rounds if field in r[name][phase]]
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--clients", type=int, default=4, help="clients of the *_4 phases")
    parser.add_argument("--mode", choices=("process", "thread"), default="process",
                        help="the *_4 clients: separate processes (default) or threads of this one")
    parser.add_argument("--auth", choices=("v1", "v4"), default="v4", help="oss2's signature version")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block", type=int, default=100, help="keys per turn of a cloud in the *_4 phases")
    parser.add_argument("--only", help="comma-separated clouds to measure (localcloud, moto, baseline)")
    parser.add_argument("--baseline", type=Path, help="also measure localcloud from this source tree (e.g. "
                        "`git archive <commit>` unpacked), interleaved")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.root:
            sys.path[:0] = [str(args.root), str(args.root / "shared")]
        serve_localcloud(args.serve)
        return

    body = b"x" * args.size
    global AUTH
    AUTH = args.auth
    argvs = {"localcloud": [sys.executable, __file__, "--serve", "{port}"],
             "moto": [sys.executable, "-m", "moto.server", "-p", "{port}"]}
    if args.baseline:
        argvs["baseline"] = [sys.executable, __file__, "--serve", "{port}", "--root", str(args.baseline.resolve())]
    wanted = set(args.only.split(",")) if args.only else set(argvs)
    targets = [Target(cloud, argv) for cloud, argv in argvs.items() if cloud in wanted]
    rounds: list[dict[str, dict[str, float]]] = []
    pools = {t.name: ClientPool(t, args.clients, args.mode, body) for t in targets}
    try:
        for number in range(args.rounds):
            order = targets[number % len(targets):] + targets[: number % len(targets)]
            record: dict[str, Any] = {t.name: {} for t in targets}
            for phase in PHASES:
                if phase.endswith("_4"):
                    measured = concurrent(order, pools, phase, args.objects, args.block)
                else:
                    measured = sequential(order, phase, args.objects, body)
                for name, result in measured.items():
                    record[name][phase] = result
            rounds.append(record)
            print(json.dumps({"round": number + 1, **record}, default=lambda x: round(x, 3)), flush=True)
    finally:
        for pool in pools.values():
            pool.close()
        for target in targets:
            target.stop()
    names = [t.name for t in targets]
    summary: dict[str, Any] = {
        "objects": args.objects, "size_bytes": args.size, "clients": args.clients, "mode": args.mode,
        "auth": args.auth, "rounds": args.rounds, "block": args.block,
        "command": " ".join(["bench/oss_throughput.py", *sys.argv[1:]]),
        "median": {name: {phase: {field: median_of(rounds, name, phase, field)
                                  for field in ("ops_per_s", "median_ms", "p90_ms", "client_cpu_ms_per_op",
                                                "server_cpu_ms_per_op")}
                          for phase in PHASES} for name in names},
    }
    for other in names[1:]:
        summary[f"ratio_localcloud_vs_{other.split('_')[0]}_median"] = {
            phase: round(statistics.median(r[names[0]][phase]["ops_per_s"] / r[other][phase]["ops_per_s"]
                                           for r in rounds), 2) for phase in PHASES
        }
    for name in names:
        summary.setdefault("four_vs_one_client_median", {})[name] = {
            op: round(statistics.median(r[name][f"{op}_4"]["ops_per_s"] / r[name][f"{op}_1"]["ops_per_s"]
                                        for r in rounds), 2) for op in ("put", "get")
        }
    suffix = "" if args.only is None else "_" + args.only.replace(",", "_")
    out = ROOT / "bench" / "results" / f"oss_throughput{suffix}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
