"""Soak the handler property test: 10,000 generated events per handler (tests/unit/test_handler_properties.py).

Runs the same property as CI (a result or the invalid-input error, each under a second) with the
``soak`` hypothesis profile, then records how many events each handler answered.

Run: ``.venv/bin/python bench/fuzz_soak.py [--examples 10000]`` (or ``make soak-fuzz``); the counts go
to ``bench/results/fuzz_soak.json`` and are summarised in ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counts_file = Path(tmp) / "counts.json"
        env = {**os.environ, "HYPOTHESIS_PROFILE": "soak", "FUZZ_EXAMPLES": str(args.examples),
               "FUZZ_COUNTS_FILE": str(counts_file)}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/unit/test_handler_properties.py", "-k", "every_handler"], cwd=ROOT, env=env)
        elapsed = time.perf_counter() - started
        counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    summary = {"examples_per_handler": args.examples, "answered": counts, "passed": proc.returncode == 0,
               "wall_s": round(elapsed, 1), "python": sys.version.split()[0]}
    (ROOT / "bench" / "results" / "fuzz_soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
