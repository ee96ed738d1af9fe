"""A threaded HTTP server for the edge, usable in the foreground (CLI) or a thread (pytest).

Example
-------
>>> from werkzeug.wrappers import Response
>>> server = ThreadedServer(lambda env, start: Response("ok")(env, start), port=0)
>>> server.start(); server.port > 0
True
>>> server.stop()
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without one access-log line per request."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        logging.getLogger("localcloud.access").debug("%s %s", self.requestline, code)


class ThreadedServer:
    """Serve a WSGI app on ``host:port`` (port 0 picks a free one), one thread per request."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

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
        self._thread = threading.Thread(target=self._server.serve_forever, name="localcloud-edge", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
