"""localcloud's HTTP/1.1 server on the wire: keep-alive, chunked bodies both ways, 100-continue."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.httpserver import HttpServer


def echo(environ: dict[str, Any], start_response: Any) -> Any:
    """Answers the body it read; ``/stream`` answers a generator (no length: sent chunked)."""
    body = environ["wsgi.input"].read()
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"h" * 10, bytes(range(256)) * 12288, b"t" * 10]  # 3 MiB between two small pieces
    if environ["PATH_INFO"] == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (part for part in (b"ab", b"", b"cd"))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server() -> Iterator[HttpServer]:
    srv = HttpServer(echo, port=0)
    srv.start()
    yield srv
    srv.stop()


def exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    reader = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += reader.readline()
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), None)
    if length is not None:
        return head + reader.read(length)
    body = b""
    while True:  # chunked
        size = int(reader.readline().strip(), 16)
        chunk = reader.read(size + 2)
        body += chunk[:-2]
        if size == 0:
            return head + body


def test_keep_alive_chunked_request_and_expect_continue(server: HttpServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        # a plain request, then a chunked one on the same connection
        first = exchange(sock, b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        assert first.startswith(b"HTTP/1.1 200 OK") and first.endswith(b"\r\n\r\nhello")
        chunked = exchange(sock, b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
        assert chunked.endswith(b"\r\n\r\nabcde")
        # a body announced with Expect: 100-continue is invited first
        sock.sendall(b"PUT /c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert exchange(sock, b"ok").endswith(b"\r\n\r\nok")


def test_a_generator_answer_is_sent_chunked(server: HttpServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        answer = exchange(sock, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in answer and answer.endswith(b"\r\n\r\nabcd")


def test_a_large_answer_arrives_whole_with_its_length(server: HttpServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        answer = exchange(sock, b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"Content-Length: %d" % (20 + 256 * 12288) in head
        assert body == b"h" * 10 + bytes(range(256)) * 12288 + b"t" * 10


def test_garbage_is_answered_400_and_closed(server: HttpServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 400 Bad Request")
        assert sock.recv(1024) == b""
