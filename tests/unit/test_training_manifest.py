"""Dataset version checks: the manifest format, every rejection reason, content fingerprints (pure)."""

from __future__ import annotations

import hashlib
import json

import pytest

from pai_autopilot.errors import InvalidInputError
from pai_autopilot.training.manifest import (
    Manifest,
    ManifestFile,
    ObjectInfo,
    check_version,
    content_fingerprint,
    parse_manifest,
)

P = "datasets/demo/v1/"
A, B = b"a,b\n1,2\n", b"x\n" * 10
MD5_A, MD5_B = hashlib.md5(A).hexdigest(), hashlib.md5(B).hexdigest()
MULTIPART = "3858F62230AC3C915F300C664312C63F-2"


def obj(rel: str, data: bytes | None = None, *, size: int | None = None, etag: str | None = None, **kw) -> ObjectInfo:
    data = data or b""
    return ObjectInfo(P + rel, len(data) if size is None else size, etag or hashlib.md5(data).hexdigest().upper(), **kw)


MARKER = obj("_SUCCESS")
GOOD = [obj("part-0.csv", A), obj("part-1.csv", B), MARKER]


def manifest(*files: dict) -> Manifest:
    return parse_manifest(json.dumps({"version": 1, "files": list(files)}).encode())


def check(listing, m=None, **kw):
    return check_version(listing, m, prefix=P, marker="_SUCCESS", **kw)


# -- parse_manifest -------------------------------------------------------------------------------


def test_a_manifest_parses_sorted_normalised_and_tolerant_of_unknown_fields():
    # Given a manifest with unknown fields, upper-case MD5 and a CRC-64 as string and as int
    raw = json.dumps({
        "version": 1, "generator": "spark", "files": [
            {"path": "b/part-1.csv", "size": 20, "crc64": "18446744073709551615", "rows": 10},
            {"path": "a.csv", "size": 8, "md5": MD5_A.upper()},
            {"path": "c.csv", "size": 0, "crc64": 42, "md5": MD5_B},
        ]}).encode()
    # When it is parsed
    m = parse_manifest(raw)
    # Then files are sorted by path, MD5s lower-case, CRC-64s integers, unknown fields dropped
    assert m.files == (
        ManifestFile("a.csv", 8, md5=MD5_A),
        ManifestFile("b/part-1.csv", 20, crc64=2**64 - 1),
        ManifestFile("c.csv", 0, md5=MD5_B, crc64=42),
    )


def test_version_defaults_to_1():
    assert parse_manifest(b'{"files": [{"path": "a", "size": 1}]}').version == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"{nope", "not UTF-8 JSON"),
        (b"[]", "must be a JSON object, got list"),
        (b'{"version": 2, "files": [{"path": "a", "size": 1}]}', "version 2 is not supported"),
        (b'{"version": true, "files": [{"path": "a", "size": 1}]}', "version True is not supported"),
        (b"{}", "non-empty 'files' list"),
        (b'{"files": []}', "non-empty 'files' list"),
        (b'{"files": {"a": 1}}', "non-empty 'files' list"),
        (b'{"files": ["a.csv"]}', r"files\[0\]: must be an object, got str"),
        (b'{"files": [{"size": 1}]}', r"files\[0\]: 'path' must be a non-empty string"),
        (b'{"files": [{"path": "", "size": 1}]}', r"files\[0\] \(''\): 'path' must be"),
        (b'{"files": [{"path": "a", "size": 1}, {"path": "/etc/passwd", "size": 1}]}', r"files\[1\] \('/etc/passwd'\): path must be relative"),
        (b'{"files": [{"path": "a/../b", "size": 1}]}', "path must be relative"),
        (b'{"files": [{"path": "a//b", "size": 1}]}', "path must be relative"),
        (b'{"files": [{"path": "./a", "size": 1}]}', "path must be relative"),
        (b'{"files": [{"path": "dir/", "size": 1}]}', "path must be relative"),
        (b'{"files": [{"path": "a"}]}', r"files\[0\] \('a'\): size must be an integer >= 0, got None"),
        (b'{"files": [{"path": "a", "size": "12"}]}', "size must be an integer >= 0, got '12'"),
        (b'{"files": [{"path": "a", "size": true}]}', "size must be an integer >= 0, got True"),
        (b'{"files": [{"path": "a", "size": 1.5}]}', "size must be an integer"),
        (b'{"files": [{"path": "a", "size": 1, "md5": "abc"}]}', "md5 must be 32 hex digits, got 'abc'"),
        (b'{"files": [{"path": "a", "size": 1, "md5": "' + b"g" * 32 + b'"}]}', "md5 must be 32 hex digits"),
        (b'{"files": [{"path": "a", "size": 1, "crc64": "-1"}]}', "crc64 must be a decimal string"),
        (b'{"files": [{"path": "a", "size": 1, "crc64": "0x10"}]}', "crc64 must be a decimal string"),
        (b'{"files": [{"path": "a", "size": 1, "crc64": "18446744073709551616"}]}', "unsigned 64-bit"),
        (b'{"files": [{"path": "a", "size": 1, "crc64": 1.0}]}', "crc64 must be"),
        (b'{"files": [{"path": "a", "size": 1}, {"path": "b", "size": 1}, {"path": "a", "size": 2}]}',
         r"files\[2\] \('a'\): duplicate of files\[0\]"),
    ],
)
def test_bad_manifests_are_invalid_input_naming_the_entry(raw, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_manifest(raw)


# -- check_version ----------------------------------------------------------------------------------


def test_a_good_version_with_a_matching_manifest_is_ok():
    # Given the files, the marker, the manifest object itself, a folder placeholder and a matching manifest
    listing = [*GOOD, obj("manifest.json", b"{}"), obj("sub/", size=0)]
    m = manifest({"path": "part-0.csv", "size": len(A), "md5": MD5_A}, {"path": "part-1.csv", "size": len(B), "md5": MD5_B})
    # When it is checked
    c = check(listing, m, max_bytes=len(A) + len(B), max_files=2)
    # Then it is ok, counting only data files
    assert (c.verdict, c.reasons, c.notes, c.files, c.total_bytes) == ("ok", (), (), 2, len(A) + len(B))
    assert c.summary() == "ok"


def test_without_a_manifest_only_presence_and_limits_are_checked():
    c = check(GOOD)
    assert c.verdict == "ok" and c.files == 2


@pytest.mark.parametrize(
    ("listing", "files", "limits", "reasons"),
    [
        pytest.param([MARKER], None, {}, ["empty version: datasets/demo/v1/ holds only the marker"], id="empty"),
        pytest.param([MARKER, obj("manifest.json", b"{}"), obj("dir/", size=0)], None, {},
                     ["empty version"], id="empty-but-manifest-and-folder"),
        pytest.param(GOOD[:2], None, {}, ["marker datasets/demo/v1/_SUCCESS is not in the listing"], id="marker-gone"),
        pytest.param([], None, {}, ["marker datasets/demo/v1/_SUCCESS is not in the listing", "empty version"],
                     id="nothing-at-all"),
        pytest.param(GOOD, [{"path": "part-2.csv", "size": 1}], {},
                     ["missing file part-2.csv (listed in the manifest)"], id="missing"),
        pytest.param(GOOD, [{"path": "part-0.csv", "size": 999}], {},
                     [f"size mismatch for part-0.csv: manifest 999, OSS {len(A)} bytes"], id="size"),
        pytest.param(GOOD, [{"path": "part-0.csv", "size": len(A), "md5": MD5_B}], {},
                     [f"MD5 mismatch for part-0.csv: manifest {MD5_B}, OSS ETag {MD5_A.upper()}"], id="md5"),
        pytest.param([obj("a.bin", A, etag=MULTIPART, crc64=7), MARKER], [{"path": "a.bin", "size": len(A), "md5": MD5_A, "crc64": "8"}], {},
                     ["CRC-64 mismatch for a.bin: manifest 8, OSS 7"], id="multipart-falls-back-to-crc64"),
        pytest.param(GOOD, [{"path": "_SUCCESS", "size": 0}], {},
                     ["manifest lists _SUCCESS, which is the marker or the manifest"], id="manifest-lists-marker"),
        pytest.param(GOOD, None, {"max_files": 1}, ["too many files: 2 > max_files 1"], id="files-limit"),
        pytest.param(GOOD, None, {"max_bytes": len(A) + len(B) - 1},
                     [f"too large: {len(A) + len(B)} bytes > max_bytes {len(A) + len(B) - 1}"], id="bytes-limit"),
    ],
)
def test_each_rejection_reason(listing, files, limits, reasons):
    # Given a version with one problem
    m = manifest(*files) if files else None
    # When it is checked
    c = check(listing, m, **limits)
    # Then it is rejected with exactly that reason
    assert c.verdict == "rejected"
    assert len(c.reasons) == len(reasons)
    for got, want in zip(c.reasons, reasons, strict=True):
        assert got.startswith(want)


def test_every_reason_is_reported_at_once():
    # Given a version with a missing file, a wrong size, a wrong MD5 and over both limits
    listing = [obj("a.csv", A), obj("b.csv", B), obj("c.csv", A), MARKER]
    m = manifest(
        {"path": "a.csv", "size": 1},
        {"path": "b.csv", "size": len(B), "md5": MD5_A},
        {"path": "gone.csv", "size": 1},
    )
    # When it is checked
    c = check(listing, m, max_files=2, max_bytes=10)
    # Then every problem is a reason, in manifest order then limits
    assert [r.split(":")[0].split(" (")[0] for r in c.reasons] == [
        "size mismatch for a.csv", "MD5 mismatch for b.csv", "missing file gone.csv", "too many files", "too large",
    ]
    assert c.summary(limit=2).endswith("; and 3 more")


@pytest.mark.parametrize(
    ("info", "entry", "note"),
    [
        pytest.param(obj("a.bin", A, etag=MULTIPART), {"md5": MD5_A}, "its ETag is not an MD5", id="multipart-md5-only"),
        pytest.param(obj("a.bin", A, etag=MULTIPART), {"md5": MD5_A, "crc64": "7"}, "no CRC-64 on both sides",
                     id="multipart-no-listing-crc"),
        pytest.param(obj("a.bin", A, object_type="Appendable"), {"md5": MD5_B}, "its ETag is not an MD5",
                     id="appendable"),
        pytest.param(obj("a.bin", A), {"crc64": "7"}, "no MD5 in the manifest", id="crc-only-listing-has-none"),
    ],
)
def test_unverifiable_hashes_are_noted_not_rejected(info, entry, note):
    # Given a file whose hash cannot be compared with what the listing carries
    m = manifest({"path": "a.bin", "size": len(A), **entry})
    # When it is checked
    c = check([info, MARKER], m)
    # Then the version is ok and the note says why the hash was not verified
    assert c.verdict == "ok"
    (only,) = c.notes
    assert only.startswith("unverifiable hash for a.bin") and note in only


def test_matching_crc64_verifies_a_multipart_file():
    m = manifest({"path": "a.bin", "size": len(A), "md5": MD5_A, "crc64": "7"})
    c = check([obj("a.bin", A, etag=MULTIPART, crc64=7), MARKER], m)
    assert (c.verdict, c.notes) == ("ok", ())


def test_quoted_and_lower_case_etags_compare_as_md5():
    m = manifest({"path": "a.csv", "size": len(A), "md5": MD5_A.upper()})
    assert check([obj("a.csv", A, etag=f'"{MD5_A}"'), MARKER], m).verdict == "ok"


def test_extra_files_are_allowed_and_noted():
    # Given seven files in OSS, one in the manifest
    listing = [obj(f"f{i}.csv", A) for i in range(7)] + [MARKER]
    # When checked
    c = check(listing, manifest({"path": "f0.csv", "size": len(A)}))
    # Then ok, with a note naming (some of) the others
    assert c.verdict == "ok"
    assert c.notes == ("6 file(s) not in the manifest (allowed): f1.csv, f2.csv, f3.csv, f4.csv, f5.csv, …",)


def test_objects_outside_the_prefix_are_ignored_and_manifest_name_is_configurable():
    listing = [*GOOD, ObjectInfo("datasets/demo/v10/x", 5, "E"), obj("MANIFEST", b"{}")]
    c = check(listing, None, manifest_name="MANIFEST", max_files=2)
    assert (c.verdict, c.files) == ("ok", 2)
    assert check(listing, None, manifest_name=None).files == 3  # no manifest: it is data


# -- content_fingerprint ----------------------------------------------------------------------------


def moved(listing: list[ObjectInfo], version: str) -> list[ObjectInfo]:
    return [ObjectInfo(o.key.replace(P, f"datasets/demo/{version}/"), o.size, o.etag) for o in listing]


def test_the_same_content_under_another_version_has_the_same_fingerprint():
    # Given v1 and a v2 with the same files (listed in another order, ETags quoted, another marker ETag)
    v2 = list(reversed(moved(GOOD, "v2")))
    v2 = [ObjectInfo(o.key, o.size, f'"{o.etag}"' if "part" in o.key else "OTHER") for o in v2]
    # Then their fingerprints are equal
    assert content_fingerprint(GOOD, None, prefix=P) == content_fingerprint(v2, None, prefix="datasets/demo/v2/")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ls: [*ls[:1], obj("part-1.csv", A), MARKER], id="content"),
        pytest.param(lambda ls: [obj("renamed.csv", A), *ls[1:]], id="name"),
        pytest.param(lambda ls: [*ls, obj("part-2.csv", B)], id="added"),
        pytest.param(lambda ls: ls[1:], id="removed"),
    ],
)
def test_a_different_content_has_another_fingerprint(change):
    assert content_fingerprint(change(GOOD), None, prefix=P) != content_fingerprint(GOOD, None, prefix=P)


def test_marker_manifest_and_folders_do_not_count():
    more = [*GOOD, obj("manifest.json", b"{1}"), obj("dir/", size=0)]
    assert content_fingerprint(more, None, prefix=P) == content_fingerprint(GOOD, None, prefix=P)


def test_with_a_manifest_the_fingerprint_is_its_canonical_form():
    # Given two manifests that say the same in different spellings and orders
    m1 = manifest({"path": "b", "size": 1, "md5": MD5_A.upper(), "note": "x"}, {"path": "a", "size": 2, "crc64": 5})
    m2 = parse_manifest(b'{"files": [{"path": "a", "size": 2, "crc64": "5"}, {"size": 1, "path": "b", "md5": "%s"}]}'
                        % MD5_A.encode())
    # Then the fingerprint is the same whatever the listing, and is a sha256 of the canonical form
    f1 = content_fingerprint(GOOD, m1, prefix=P)
    assert f1 == content_fingerprint([], m2, prefix="elsewhere/")
    assert f1 == "sha256:" + hashlib.sha256(b"manifest\n" + m1.canonical()).hexdigest()
    # And a manifest and a bare listing never share a fingerprint
    assert f1 != content_fingerprint(GOOD, None, prefix=P)
