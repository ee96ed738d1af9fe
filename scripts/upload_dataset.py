"""Upload a small dataset version with the real oss2 client, the way a data pipeline would.

Writes ``datasets/<pipeline>/<version>/part-0.csv`` and then the ``_SUCCESS`` marker that says
the version is complete (the OSS trigger of ``dataset_landed`` fires on the marker). Reads the
endpoint, bucket and credentials that ``eval "$(pai-autopilot local env)"`` exports.

Usage: python scripts/upload_dataset.py VERSION [PIPELINE]
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    missing = [v for v in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "AUTOPILOT_ENDPOINT",
                           "AUTOPILOT_BUCKET") if not os.environ.get(v)]
    if missing:
        print(f"error: {', '.join(missing)} not set; run: eval \"$(pai-autopilot local env)\"", file=sys.stderr)
        return 2
    import oss2

    version, pipeline = argv[0], (argv[1] if len(argv) > 1 else "demo")
    auth = oss2.Auth(os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"], os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
    bucket = oss2.Bucket(auth, os.environ["AUTOPILOT_ENDPOINT"], os.environ["AUTOPILOT_BUCKET"])
    prefix = f"datasets/{pipeline}/{version}/"
    rows = "".join(f"{i},{2 * i + 1},{version}\n" for i in range(100))  # new content per version (same content trains nothing)
    bucket.put_object(prefix + "part-0.csv", f"x,y,version\n{rows}".encode())
    bucket.put_object(prefix + "_SUCCESS", b"")  # the marker: this version is complete
    print(f"uploaded oss://{bucket.bucket_name}/{prefix}part-0.csv, then {prefix}_SUCCESS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
