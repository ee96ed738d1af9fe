"""What DLC jobs read from and write to OSS, through the OSS backend (so every write publishes its
OSS notification, like a real upload).

``oss://`` URIs may name the bucket alone (``oss://bkt/prefix/``) or with an endpoint, as DLC data
sources often do (``oss://bkt.oss-cn-hangzhou-internal.aliyuncs.com/prefix/``).

Example
-------
>>> parse_uri("oss://bkt/checkpoints/run-1/")
('bkt', 'checkpoints/run-1/')
>>> parse_uri("oss://bkt.oss-cn-hangzhou-internal.aliyuncs.com/data")
('bkt', 'data/')
>>> parse_uri("s3://bkt/x")
Traceback (most recent call last):
...
ValueError: not an oss:// URI: 's3://bkt/x'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARKER_NAMES = ("_SUCCESS", "_COMPLETE")


def parse_uri(uri: str) -> tuple[str, str]:
    """``oss://bucket[.endpoint]/prefix`` → ``(bucket, "prefix/")`` (the prefix ends in ``/``
    unless empty)."""
    if not isinstance(uri, str) or not uri.startswith("oss://"):
        raise ValueError(f"not an oss:// URI: {uri!r}")
    host, _, path = uri[len("oss://"):].partition("/")
    bucket = host.split(".", 1)[0]
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    prefix = path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


class OssIO:
    """Reads and writes objects on the OSS backend; ``None`` backend: every call raises."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def _need(self) -> Any:
        if self.backend is None:
            raise RuntimeError("this DLC service has no OSS backend to write to")
        return self.backend

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self._need().put_object(bucket, key, data, content_type=content_type)

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self._need().head_object(bucket, key)
        except Exception:
            return False
        return True

    def keys(self, bucket: str, prefix: str) -> list[str]:
        backend, keys, token = self._need(), [], None
        while True:
            page = backend.list_objects_v2(bucket, prefix=prefix, max_keys="1000", continuation_token=token)
            keys.extend(meta.key for meta in page.objects)
            if not page.is_truncated:
                return keys
            token = page.next_marker

    def download(self, uri: str, dest: Path) -> int:
        """Copy every object under ``uri`` into ``dest`` (keys relative to the prefix); returns the count."""
        bucket, prefix = parse_uri(uri)
        count = 0
        for key in self.keys(bucket, prefix):
            relative = key[len(prefix):]
            if not relative or relative.endswith("/"):
                continue
            target = (dest / relative).resolve()
            if dest.resolve() not in target.parents:
                continue  # a key like ../x must not escape the directory
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._need().get_object(bucket, key).data)
            count += 1
        return count

    def upload(self, src: Path, uri: str) -> list[str]:
        """Upload every file under ``src`` to ``uri``, marker files (``_SUCCESS``, ``_COMPLETE``) last
        in their directory order; returns the keys written."""
        bucket, prefix = parse_uri(uri)
        files = sorted((p for p in src.rglob("*") if p.is_file()), key=lambda p: (p.name in MARKER_NAMES, str(p)))
        written = []
        for path in files:
            key = prefix + path.relative_to(src).as_posix()
            self.put(bucket, key, path.read_bytes())
            written.append(key)
        return written
