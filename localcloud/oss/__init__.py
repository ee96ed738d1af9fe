"""OSS on localcloud: buckets and objects for the real ``oss2`` client, signatures verified.

Layout after moto: :mod:`.models` (state, behaviour, validation; listing in :mod:`.listing`,
persistence in :mod:`.storage`), :mod:`.responses` (parse and serialize), :mod:`.urls` (the
routing table), :mod:`.auth` (signature v1/v4 and STS), :mod:`.exceptions` (OSS error codes),
:mod:`.service` (the edge handler).

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
