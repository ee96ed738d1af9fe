"""Validating a dataset version before training on it: files present, sizes and hashes, limits.

A version may carry a manifest (``<prefix><version>/manifest.json`` by default, the pipeline's
``dataset.manifest``), UTF-8 JSON::

    {
      "version": 1,                                   optional; only 1 is understood
      "files": [                                      required; may not be empty
        {"path": "part-0.csv", "size": 123, "md5": "9e107d9d372bb6826bd81d3542a419d6"},
        {"path": "img/a.png", "size": 456, "crc64": "5981764153023615706"}
      ]
    }

* ``path``: relative to the version, ``/``-separated; no leading ``/``, no empty, ``.`` or ``..``
  segment, not ending in ``/``; unique; never the marker or the manifest itself;
* ``size``: bytes, an integer >= 0 (required);
* ``md5``: 32 hex digits, any case (optional) — OSS's ETag of a simple upload is this, upper-case;
* ``crc64``: CRC-64/ECMA as OSS reports it in ``x-oss-hash-crc64ecma``, a decimal string (an
  integer is accepted too; big ones lose precision in many JSON writers) (optional);
* unknown fields, at the top and in entries, are ignored (forward compatibility).

Files in OSS but not in the manifest are allowed (noted). Folder placeholders (keys ending in
``/``), the marker and the manifest are never data files.

:func:`parse_manifest`, :func:`check_version` and :func:`content_fingerprint` are pure;
:func:`list_version` is the one I/O function.

Example
-------
>>> m = parse_manifest(b'{"files": [{"path": "a.csv", "size": 2, "md5": "c4ca4238a0b923820dcc509a6f75849b"}]}')
>>> listing = [ObjectInfo("ds/v1/a.csv", 2, "C4CA4238A0B923820DCC509A6F75849B"), ObjectInfo("ds/v1/_SUCCESS", 0, "E")]
>>> check_version(listing, m, prefix="ds/v1/", marker="_SUCCESS").verdict
'ok'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import InvalidInputError

if TYPE_CHECKING:
    import oss2

MANIFEST_VERSION = 1
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
_CRC64_MAX = 2**64 - 1


@dataclasses.dataclass(frozen=True)
class ManifestFile:
    """One file a manifest promises. ``md5`` is lower-case hex; ``crc64`` an unsigned int."""

    path: str
    size: int
    md5: str | None = None
    crc64: int | None = None


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A parsed manifest, files sorted by path."""

    files: tuple[ManifestFile, ...]
    version: int = MANIFEST_VERSION

    def canonical(self) -> bytes:
        """The canonical JSON (sorted keys and files, no spaces, known fields only).

        >>> Manifest((ManifestFile("a", 1, crc64=7),)).canonical()
        b'{"files":[{"crc64":"7","path":"a","size":1}],"version":1}'
        """
        files = [{k: str(v) if k == "crc64" else v for k, v in dataclasses.asdict(f).items() if v is not None}
                 for f in self.files]
        return json.dumps({"version": self.version, "files": files}, sort_keys=True, separators=(",", ":")).encode()


@dataclasses.dataclass(frozen=True)
class ObjectInfo:
    """One listed object. ``etag`` as OSS gives it (quotes tolerated); ``crc64`` when known."""

    key: str
    size: int
    etag: str
    crc64: int | None = None
    #: OSS object type: only a ``Normal`` object without ``-`` in its ETag has an MD5 ETag.
    object_type: str = "Normal"

    @property
    def md5(self) -> str | None:
        """The content MD5 (lower-case hex) when the ETag is one, else ``None``.

        >>> ObjectInfo("k", 1, '"C4CA4238A0B923820DCC509A6F75849B"').md5
        'c4ca4238a0b923820dcc509a6f75849b'
        >>> ObjectInfo("k", 1, "3858F62230AC3C915F300C664312C63F-2").md5 is None
        True
        """
        etag = self.etag.strip('"')
        if self.object_type != "Normal" or not _MD5.fullmatch(etag):
            return None
        return etag.lower()


@dataclasses.dataclass(frozen=True)
class VersionCheck:
    """The verdict on a version: ``reasons`` (every one) reject it; ``notes`` do not."""

    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    files: int
    total_bytes: int

    @property
    def verdict(self) -> Literal["ok", "rejected"]:
        return "rejected" if self.reasons else "ok"

    def summary(self, limit: int = 5) -> str:
        """The first ``limit`` reasons in one line, for a notification.

        >>> VersionCheck(("a", "b", "c"), (), 0, 0).summary(limit=2)
        'a; b; and 1 more'
        """
        if not self.reasons:
            return "ok"
        shown = "; ".join(self.reasons[:limit])
        rest = len(self.reasons) - limit
        return shown + (f"; and {rest} more" if rest > 0 else "")


def parse_manifest(raw: bytes) -> Manifest:
    """Parse and validate a manifest; :class:`~pai_autopilot.errors.InvalidInputError` names the problem.

    Example
    -------
    >>> parse_manifest(b'{"files": [{"path": "b", "size": 1}, {"path": "a", "size": 0, "x": 1}]}').files[0]
    ManifestFile(path='a', size=0, md5=None, crc64=None)
    >>> parse_manifest(b'{"files": [{"path": "a", "size": -1}]}')
    Traceback (most recent call last):
    ...
    pai_autopilot.errors.InvalidInputError: manifest files[0] ('a'): size must be an integer >= 0, got -1
    """
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(f"manifest is not UTF-8 JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidInputError(f"manifest must be a JSON object, got {type(doc).__name__}")
    version = doc.get("version", MANIFEST_VERSION)
    if version != MANIFEST_VERSION or isinstance(version, bool):
        raise InvalidInputError(f"manifest version {version!r} is not supported (only {MANIFEST_VERSION})")
    entries = doc.get("files")
    if not isinstance(entries, list) or not entries:
        raise InvalidInputError("manifest needs a non-empty 'files' list")
    files = [_parse_entry(i, entry) for i, entry in enumerate(entries)]
    seen: dict[str, int] = {}
    for i, f in enumerate(files):
        if f.path in seen:
            raise InvalidInputError(f"manifest files[{i}] ({f.path!r}): duplicate of files[{seen[f.path]}]")
        seen[f.path] = i
    return Manifest(tuple(sorted(files, key=lambda f: f.path)), version)


def _parse_entry(i: int, entry: Any) -> ManifestFile:
    if not isinstance(entry, dict):
        raise InvalidInputError(f"manifest files[{i}]: must be an object, got {type(entry).__name__}")
    path = entry.get("path")
    where = f"manifest files[{i}]" + (f" ({path!r})" if isinstance(path, str) else "")
    if not isinstance(path, str) or not path:
        raise InvalidInputError(f"{where}: 'path' must be a non-empty string")
    if path.startswith("/") or path.endswith("/") or any(s in ("", ".", "..") for s in path.split("/")):
        raise InvalidInputError(f"{where}: path must be relative, without empty, '.' or '..' segments")
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInputError(f"{where}: size must be an integer >= 0, got {size!r}")
    md5 = entry.get("md5")
    if md5 is not None and (not isinstance(md5, str) or not _MD5.fullmatch(md5)):
        raise InvalidInputError(f"{where}: md5 must be 32 hex digits, got {md5!r}")
    crc = entry.get("crc64")
    crc64: int | None = None
    if crc is not None:
        text = str(crc) if isinstance(crc, int) and not isinstance(crc, bool) else crc
        if not isinstance(text, str) or not text.isdigit() or int(text) > _CRC64_MAX:
            raise InvalidInputError(f"{where}: crc64 must be a decimal string of an unsigned 64-bit value, got {crc!r}")
        crc64 = int(text)
    return ManifestFile(path, size, md5.lower() if md5 else None, crc64)


def _data_objects(listing: Sequence[ObjectInfo], prefix: str, excluded: set[str]) -> dict[str, ObjectInfo]:
    """Relative key → object, for the version's data files (no marker, manifest, folders)."""
    out: dict[str, ObjectInfo] = {}
    for obj in listing:
        if not obj.key.startswith(prefix):
            continue
        rel = obj.key[len(prefix) :]
        if rel and rel not in excluded and not rel.endswith("/"):
            out[rel] = obj
    return out


def check_version(
    listing: Sequence[ObjectInfo],
    manifest: Manifest | None,
    *,
    prefix: str,
    marker: str,
    max_bytes: int | None = None,
    max_files: int | None = None,
    manifest_name: str | None = "manifest.json",
) -> VersionCheck:
    """Check a version's listing (and manifest, if any) against limits; collect EVERY reason.

    Rejected: no marker in the listing, no data file (only the marker), a manifest file missing
    or of another size, an MD5 or CRC-64 that differs, more than ``max_files`` files or
    ``max_bytes`` bytes. A hash that cannot be compared (a multipart or appendable object's
    ETag is no MD5, and ListObjects carries no CRC-64) is a note, not a rejection.

    Example
    -------
    >>> listing = [ObjectInfo("ds/v1/a.csv", 3, "X-2"), ObjectInfo("ds/v1/_SUCCESS", 0, "E")]
    >>> m = Manifest((ManifestFile("a.csv", 2), ManifestFile("b.csv", 1, md5="0" * 32)))
    >>> c = check_version(listing, m, prefix="ds/v1/", marker="_SUCCESS", max_files=1)
    >>> c.verdict, c.reasons
    ('rejected', ('size mismatch for a.csv: manifest 2, OSS 3 bytes', 'missing file b.csv (listed in the manifest)'))
    >>> check_version([ObjectInfo("ds/v1/_SUCCESS", 0, "E")], None, prefix="ds/v1/", marker="_SUCCESS").reasons
    ('empty version: ds/v1/ holds only the marker',)
    """
    excluded = {marker} | ({manifest_name} if manifest_name else set())
    objects = _data_objects(listing, prefix, excluded)
    reasons: list[str] = []
    notes: list[str] = []
    if not any(obj.key == prefix + marker for obj in listing):
        reasons.append(f"marker {prefix}{marker} is not in the listing (removed after it landed?)")
    if not objects:
        reasons.append(f"empty version: {prefix} holds only the marker")
    if manifest is not None:
        listed = {f.path for f in manifest.files}
        for f in manifest.files:
            if f.path in excluded:
                reasons.append(f"manifest lists {f.path}, which is the marker or the manifest, not a data file")
                continue
            obj = objects.get(f.path)
            if obj is None:
                reasons.append(f"missing file {f.path} (listed in the manifest)")
                continue
            if obj.size != f.size:
                reasons.append(f"size mismatch for {f.path}: manifest {f.size}, OSS {obj.size} bytes")
            reasons.extend(_hash_problems(f, obj, notes))
        extra = sorted(set(objects) - listed)
        if extra:
            notes.append(f"{len(extra)} file(s) not in the manifest (allowed): {', '.join(extra[:5])}"
                         + (", …" if len(extra) > 5 else ""))
    total = sum(obj.size for obj in objects.values())
    if max_files is not None and len(objects) > max_files:
        reasons.append(f"too many files: {len(objects)} > max_files {max_files}")
    if max_bytes is not None and total > max_bytes:
        reasons.append(f"too large: {total} bytes > max_bytes {max_bytes}")
    return VersionCheck(tuple(reasons), tuple(notes), len(objects), total)


def _hash_problems(f: ManifestFile, obj: ObjectInfo, notes: list[str]) -> list[str]:
    problems: list[str] = []
    compared = False
    if f.md5 is not None and obj.md5 is not None:
        compared = True
        if obj.md5 != f.md5:
            problems.append(f"MD5 mismatch for {f.path}: manifest {f.md5}, OSS ETag {obj.etag.strip(chr(34))}")
    if f.crc64 is not None and obj.crc64 is not None:
        compared = True
        if obj.crc64 != f.crc64:
            problems.append(f"CRC-64 mismatch for {f.path}: manifest {f.crc64}, OSS {obj.crc64}")
    if not compared and (f.md5 is not None or f.crc64 is not None):
        why = "its ETag is not an MD5 (multipart or appendable upload)" if obj.md5 is None else "no MD5 in the manifest"
        notes.append(f"unverifiable hash for {f.path}: {why} and no CRC-64 on both sides")
    return problems


def content_fingerprint(
    listing: Sequence[ObjectInfo],
    manifest: Manifest | None,
    *,
    prefix: str,
    marker: str = "_SUCCESS",
    manifest_name: str | None = "manifest.json",
) -> str:
    """A stable ``sha256:<hex>`` of a version's content, to recognise a re-landed copy.

    With a manifest: over its canonical form. Without: over the sorted (relative key, ETag)
    pairs of the data files (marker, manifest and folders excluded). The two kinds never
    collide (each hash is tagged), so a copy with a manifest does not match one without.

    Example
    -------
    >>> a = [ObjectInfo("ds/v1/x.csv", 1, '"AB"'), ObjectInfo("ds/v1/_SUCCESS", 0, "E1")]
    >>> b = [ObjectInfo("ds/v2/_SUCCESS", 0, "E2"), ObjectInfo("ds/v2/x.csv", 1, "ab")]
    >>> content_fingerprint(a, None, prefix="ds/v1/") == content_fingerprint(b, None, prefix="ds/v2/")
    True
    >>> content_fingerprint(a, None, prefix="ds/v1/")[:7]
    'sha256:'
    """
    if manifest is not None:
        payload = b"manifest\n" + manifest.canonical()
    else:
        excluded = {marker} | ({manifest_name} if manifest_name else set())
        pairs = sorted((rel, obj.etag.strip('"').upper()) for rel, obj in _data_objects(listing, prefix, excluded).items())
        payload = b"listing\n" + json.dumps(pairs, separators=(",", ":"), ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def list_version(bucket: oss2.Bucket, prefix: str) -> list[ObjectInfo]:
    """Every object under ``prefix`` (all pages of ListObjectsV2, retried by ``retry_oss``).

    ``crc64`` stays ``None``: ListObjectsV2 does not return ``x-oss-hash-crc64ecma``, and a
    HEAD per file would make the check O(files) requests.

    Example
    -------
    >>> list_version(bucket, "datasets/demo/v1/")[0]                 # doctest: +SKIP
    ObjectInfo(key='datasets/demo/v1/_SUCCESS', size=0, etag='D41D8CD98F00B204E9800998ECF8427E', crc64=None, object_type='Normal')
    """
    import oss2

    from ..clients import retry_oss

    return retry_oss(
        lambda: [
            ObjectInfo(obj.key, int(obj.size), obj.etag or "", None, obj.type or "Normal")
            for obj in oss2.ObjectIteratorV2(bucket, prefix=prefix)
        ]
    )
