"""OSS on localcloud: buckets and objects for the real ``oss2`` client, signatures verified.

Layout after moto: :mod:`.models` (state, behaviour, validation; listing in :mod:`.listing`,
multipart upload in :mod:`.multipart` with its parts in :mod:`.parts`, lifecycle rules in
:mod:`.lifecycle`, AppendObject in :mod:`.append`, PostObject in :mod:`.postobject`, copies,
ACLs, tags and symlinks in :mod:`.attributes` with the tag rules in :mod:`.tagging`,
persistence in :mod:`.storage`), :mod:`.responses` (parse and serialize; also
:mod:`.responses_objects`, :mod:`.responses_multipart`, :mod:`.responses_more`,
:mod:`.responses_attributes`, :mod:`.xmlutil`), :mod:`.urls` (the routing table, with each
operation's OSS name for fault injection; :mod:`.operations` names the ones not emulated, for
their 501), :mod:`.auth` (signature v1/v4, STS, PostObject form signatures),
:mod:`.exceptions` (OSS error codes), :mod:`.service` (the edge handler, fault hook and
lifecycle ``tick``).

Example
-------
>>> import oss2                                                         # doctest: +SKIP
>>> from localcloud import LocalCloud                                   # doctest: +SKIP
>>> cloud = LocalCloud().start(); cloud.oss.create_bucket("demo")       # doctest: +SKIP
>>> bucket = oss2.Bucket(oss2.Auth(ak, sk), cloud.url, "demo")          # doctest: +SKIP
>>> bucket.put_object("a.txt", b"hi").status                            # doctest: +SKIP
200
"""

from .service import OssService

__all__ = ["OssService"]
