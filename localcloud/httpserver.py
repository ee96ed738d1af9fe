"""A lean threaded HTTP/1.1 server for WSGI apps: one thread per connection, keep-alive.

werkzeug's development server parses every request through ``http.server`` and
``email.parser`` and builds a large environ; on small requests that was about half of
localcloud's CPU per call. This server reads the request line and headers itself, hands the
app a standard WSGI environ (``wsgi.input`` reads exactly ``Content-Length`` bytes, or
de-chunks a ``Transfer-Encoding: chunked`` body and sets ``wsgi.input_terminated``), and
writes the answer with ``Content-Length`` when the app gives one or can be measured,
else chunked. Each connection's thread serves requests until the client closes it.

Example
-------
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"ok"]
>>> server = HttpServer(app, port=0); server.start()
>>> import urllib.request
>>> urllib.request.urlopen(server.url + "/x").read()
b'ok'
>>> server.stop()
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger("localcloud.http")
MAX_LINE = 65536
MAX_HEADERS = 200
COALESCE = 64 * 1024  # bytes gathered before one sendall
_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 206: "Partial Content", 304: "Not Modified",
    400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
}


class BadRequest(Exception):
    """The bytes on the connection are not an HTTP/1.x request."""


class ChunkedInput(io.RawIOBase):
    """``wsgi.input`` of a chunked request body: yields the de-chunked bytes, then EOF."""

    def __init__(self, rfile: Any) -> None:
        self._rfile = rfile
        self._left = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        if self._left == 0:
            line = self._rfile.readline(MAX_LINE).split(b";", 1)[0].strip()
            try:
                self._left = int(line, 16)
            except ValueError:
                raise OSError("malformed chunk size") from None
            if self._left == 0:
                while self._rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._done = True
                return 0
        data = self._rfile.read(min(len(buffer), self._left))
        if not data:
            raise OSError("connection closed inside a chunk")
        buffer[: len(data)] = data
        self._left -= len(data)
        if self._left == 0:
            self._rfile.readline(MAX_LINE)  # the CRLF after the chunk
        return len(data)


class LimitedInput:
    """``wsgi.input`` of a body with ``Content-Length``: never reads past it."""

    def __init__(self, rfile: Any, length: int) -> None:
        self._rfile = rfile
        self._left = length

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._rfile.read(size) if size else b""
        self._left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._rfile.readline(size) if size else b""
        self._left -= len(data)
        return data

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def drain(self) -> None:
        while self._left:
            if not self.read(65536):
                break


class _Connection:
    """One client connection: parse requests, call the app, write answers, until closed."""

    def __init__(self, server: HttpServer, sock: socket.socket, address: tuple[str, int]) -> None:
        self.server = server
        self.sock = sock
        self.address = address
        self.rfile = sock.makefile("rb", 65536)

    def serve(self) -> None:
        try:
            while self._one():
                pass
        except (ConnectionError, TimeoutError, OSError):
            pass
        finally:
            self.rfile.close()
            with contextlib.suppress(OSError):
                self.sock.close()

    def _one(self) -> bool:
        """Serve one request; ``False`` when the connection must end."""
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        try:
            method, target, version, headers = self._parse(line)
        except BadRequest as exc:
            self._simple(400, str(exc))
            return False
        environ = self._environ(method, target, version, headers)
        keep_alive = self._keep_alive(version, headers.get("CONNECTION", ""))
        if headers.get("EXPECT", "").lower() == "100-continue" and version == "HTTP/1.1":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits for it before a large body
        return self._run(environ, method, version, keep_alive)

    def _parse(self, line: bytes) -> tuple[str, str, str, dict[str, str]]:
        if len(line) > MAX_LINE:
            raise BadRequest("request line too long")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("malformed request line")
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            raw = self.rfile.readline(MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                return parts[0], parts[1], parts[2], headers
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise BadRequest("malformed header line")
            key = name.strip().upper().replace("-", "_")
            value = value.strip()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        raise BadRequest("too many headers")

    def _environ(self, method: str, target: str, version: str, headers: dict[str, str]) -> dict[str, Any]:
        path, _, query = target.partition("?")
        if "://" in path:  # absolute form
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method, "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1") if "%" in path else path,
            "QUERY_STRING": query, "RAW_URI": target, "REQUEST_URI": target,
            "SERVER_NAME": self.server.host, "SERVER_PORT": str(self.server.port), "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.address[0], "REMOTE_PORT": str(self.address[1]),
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        }
        for key, value in headers.items():
            if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        if "chunked" in headers.get("TRANSFER_ENCODING", "").lower():
            environ["wsgi.input"] = io.BufferedReader(ChunkedInput(self.rfile))
            environ["wsgi.input_terminated"] = True
            environ.pop("CONTENT_LENGTH", None)
        else:
            try:
                length = int(headers.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            environ["wsgi.input"] = LimitedInput(self.rfile, max(length, 0))
        return environ

    @staticmethod
    def _keep_alive(version: str, connection: str) -> bool:
        connection = connection.lower()
        if version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    def _run(self, environ: dict[str, Any], method: str, version: str, keep_alive: bool) -> bool:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable is not supported

        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
        except Exception:
            log.error("unhandled error in %s %s\n%s", method, environ["RAW_URI"], traceback.format_exc())
            self._simple(500, "internal error")
            return False
        try:
            return self._write(result, started, method, version, keep_alive, environ)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _write(
        self, result: Iterable[bytes], started: list[Any], method: str, version: str, keep_alive: bool,
        environ: dict[str, Any],
    ) -> bool:
        chunks = result if isinstance(result, (list, tuple)) else None
        iterator = iter(result)
        first = b""
        if chunks is None:  # run the app's generator up to its first chunk (it may call start_response late)
            first = next(iterator, b"")
        status, headers = started
        code = int(status[:3])
        names = {name.lower() for name, _ in headers}
        out_headers = list(headers)
        bodiless = method == "HEAD" or code in (204, 304) or code < 200
        chunked = False
        if "content-length" not in names and not bodiless:
            if chunks is not None:
                out_headers.append(("Content-Length", str(sum(len(c) for c in chunks))))
            elif version == "HTTP/1.1" and "transfer-encoding" not in names:
                out_headers.append(("Transfer-Encoding", "chunked"))
                chunked = True
            else:
                keep_alive = False
        if not keep_alive:
            out_headers.append(("Connection", "close"))
        head = [f"HTTP/1.1 {status}\r\n", *(f"{k}: {v}\r\n" for k, v in out_headers), "\r\n"]
        payload = "".join(head).encode("latin-1")
        if bodiless:
            self.sock.sendall(payload)
        elif chunks is not None:
            self._stream(payload, b"", iter(chunks), chunked=False)
        else:
            self._stream(payload, first, iterator, chunked)
        body = environ["wsgi.input"]
        if isinstance(body, LimitedInput):
            body.drain()  # an unread body would be taken for the next request
        else:
            while body.read(65536):
                pass
        return keep_alive

    def _stream(self, head: bytes, first: bytes, rest: Iterator[bytes], chunked: bool) -> None:
        """Send the head and an iterated body, coalescing small pieces into few ``sendall`` calls
        (one for a small answer: each call may wake the client before the answer is whole)."""
        pending = [head]
        size = len(head)
        for chunk in itertools.chain((first,), rest):
            if not chunk:
                continue
            if len(chunk) >= COALESCE and not chunked:  # a large piece goes out as it is (no copy)
                if pending:
                    self.sock.sendall(b"".join(pending))
                    pending, size = [], 0
                self.sock.sendall(chunk)
                continue
            piece = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
            pending.append(piece)
            size += len(piece)
            if size >= COALESCE:
                self.sock.sendall(b"".join(pending))
                pending, size = [], 0
        if chunked:
            pending.append(b"0\r\n\r\n")
        if pending:
            self.sock.sendall(b"".join(pending))

    def _simple(self, code: int, message: str) -> None:
        body = message.encode()
        head = (f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            self.sock.sendall(head.encode() + body)


class HttpServer:
    """Serve ``app`` on ``host:port`` (0 picks a free port), one daemon thread per connection."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._sock = socket.create_server((host, port), backlog=128)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="localcloud-http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, address = self._sock.accept()
            except OSError:
                break
            if self._stopped.is_set():
                sock.close()
                break
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(sock)
            threading.Thread(target=self._serve, args=(sock, address), name="localcloud-conn", daemon=True).start()

    def _serve(self, sock: socket.socket, address: tuple[str, int]) -> None:
        try:
            _Connection(self, sock, address).serve()
        finally:
            with self._lock:
                self._connections.discard(sock)

    def stop(self) -> None:
        """Stop accepting, close every open connection, wait for the accept loop."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            socket.create_connection((self.host, self.port), timeout=1).close()  # wake accept()
        self._sock.close()
        with self._lock:
            for sock in list(self._connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
