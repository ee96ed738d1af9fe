"""Run every benchmark in turn; each writes bench/results/<name>.json (see bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ["cold_start.py", "--runs", "9"],
    ["oss_throughput.py", "--objects", "2000", "--rounds", "3"],
    ["delivery_latency.py", "--uploads", "1000"],
    ["cms_describe.py"],
    ["eas_gateway.py"],
    ["training.py"],
    ["notebooks.py", "--sizes", "200", "2000"],
    ["reconcile.py", "--ticks", "3", "--events", "30"],
    ["status.py", "--repeats", "3"],
]

if __name__ == "__main__":
    for bench in BENCHES:
        print(f"== {' '.join(bench)}", flush=True)
        subprocess.run([sys.executable, str(HERE / bench[0]), *bench[1:]], check=True)
