"""The fault-injection proxy does to a connection what each of its modes says."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from .tcp_proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with TcpProxy("127.0.0.1", server.server_address[1]) as forwarding:
            yield forwarding
    finally:
        server.shutdown()
        server.server_close()


def _connect(proxy: TcpProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def _echoes(connection: socket.socket) -> bool:
    connection.sendall(b"ping")
    return connection.recv(4) == b"ping"


def test_forwards_both_ways(proxy):
    with _connect(proxy) as connection:
        assert _echoes(connection)


def test_reset_resets_open_connections_and_lets_new_ones_through(proxy):
    with _connect(proxy) as connection:
        assert _echoes(connection)
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            _echoes(connection)
    with _connect(proxy) as connection:
        assert _echoes(connection)


def test_refuse_refuses_new_connections_until_restored_on_the_same_port(proxy):
    port = proxy.port
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        _connect(proxy)
    proxy.restore()
    assert proxy.port == port
    with _connect(proxy) as connection:
        assert _echoes(connection)


def test_blackhole_answers_nothing_then_restore_resets_what_it_held(proxy):
    held = _connect(proxy)
    proxy.blackhole()
    with _connect(proxy) as connection:
        connection.settimeout(0.3)
        connection.sendall(b"ping")
        with pytest.raises(TimeoutError):
            connection.recv(4)
    held.settimeout(0.3)
    held.sendall(b"ping")
    with pytest.raises(TimeoutError):
        held.recv(4)
    proxy.restore()
    held.settimeout(2)
    with pytest.raises(ConnectionResetError):
        held.recv(4)
    held.close()
    with _connect(proxy) as connection:
        assert _echoes(connection)
