"""The threaded HTTP server of the edge, usable in the foreground (CLI) or a thread (pytest).

It is :class:`~localcloud.httpserver.HttpServer` (a lean HTTP/1.1 server, one thread per
keep-alive connection) behind the interface the rest of localcloud uses.

Example
-------
>>> from werkzeug.wrappers import Response
>>> server = ThreadedServer(lambda env, start: Response("ok")(env, start), port=0)
>>> server.start(); server.port > 0
True
>>> server.stop()
"""

from __future__ import annotations

from typing import Any

from .httpserver import HttpServer


class ThreadedServer:
    """Serve a WSGI app on ``host:port`` (port 0 picks a free one), one thread per connection."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = HttpServer(app, host=host, port=port)

    @property
    def host(self) -> str:
        return str(self._server.host)

    @property
    def port(self) -> int:
        return int(self._server.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._server.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stop()
