"""pytest fixtures for localcloud: ``pytest_plugins = ["localcloud.pytest_plugin"]``.

* ``localcloud`` — a running :class:`~localcloud.LocalCloud` (one per session, in a thread),
  reset before each test; its ``clock``, ``faults`` (request faults) and ``delivery``
  (delivery faults) are attributes;
* ``localcloud_env`` — the environment a client needs (credentials, region, endpoint).

Example
-------
>>> def test_put(localcloud):                       # doctest: +SKIP
...     localcloud.clock.freeze()
...     localcloud.faults.add(Fault(service="oss", operation="PutObject", count=1))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def localcloud_session() -> Iterator[Any]:
    from localcloud import LocalCloud

    cloud = LocalCloud().start()
    yield cloud
    cloud.stop()


@pytest.fixture
def localcloud(localcloud_session: Any) -> Any:
    """A running localcloud without functions, reset before the test."""
    localcloud_session.reset()
    return localcloud_session


@pytest.fixture
def localcloud_env(localcloud: Any) -> dict[str, str]:
    return localcloud.env()
