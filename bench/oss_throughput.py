"""Small-object PutObject throughput: oss2 → localcloud, beside boto3 → moto's server mode.

Both servers run in this process's threads on loopback, in the same run; each client puts
``--objects`` objects of ``--size`` bytes from ``--threads`` threads. Reported: objects per
second and the ratio localcloud / moto. Results: ``bench/results/oss_throughput.json``.

Run: ``make bench`` or ``.venv/bin/python bench/oss_throughput.py [--objects 2000]``
(needs the ``bench`` extra: moto[server], boto3).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]


def timed_puts(put, objects: int, threads: int, body: bytes) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: put(f"bench/{i:06d}.bin", body), range(objects)))
    return objects / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import logging

    import boto3
    import oss2
    from moto.server import ThreadedMotoServer

    from localcloud import LocalCloud
    from localcloud.core.credentials import LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log would slow moto down
    body = b"x" * args.size
    cloud = LocalCloud().start()
    cloud.create_bucket("bench")
    session = oss2.Session()
    bucket = oss2.Bucket(oss2.AuthV4(LOCAL_ACCESS_KEY_ID, LOCAL_ACCESS_KEY_SECRET), cloud.url, "bench", region="cn-hangzhou", session=session)
    moto = ThreadedMotoServer(port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="y")
    s3.create_bucket(Bucket="bench")
    results: dict[str, list[float]] = {"localcloud_oss2": [], "moto_boto3": []}
    try:
        for _ in range(args.rounds):  # interleaved rounds: drift hits both alike
            results["localcloud_oss2"].append(timed_puts(bucket.put_object, args.objects, args.threads, body))
            results["moto_boto3"].append(timed_puts(lambda k, b: s3.put_object(Bucket="bench", Key=k, Body=b), args.objects, args.threads, body))
    finally:
        cloud.stop()
        moto.stop()
    best = {name: round(max(v), 1) for name, v in results.items()}
    summary = {
        "objects_per_round": args.objects, "size_bytes": args.size, "threads": args.threads, "rounds": args.rounds,
        "puts_per_second_best": best, "puts_per_second_all": {k: [round(x, 1) for x in v] for k, v in results.items()},
        "ratio_localcloud_vs_moto": round(best["localcloud_oss2"] / best["moto_boto3"], 2),
    }
    (ROOT / "bench" / "results" / "oss_throughput.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
