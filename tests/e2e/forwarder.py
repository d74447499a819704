"""A TCP forwarder whose connections to the server come from another loopback address.

gRPC's Python client cannot choose its source address, and Linux answers
every 127/8 destination from 127.0.0.1; yet all of 127/8 is routed to `lo`,
so a socket bound to 127.0.0.2 before it connects is a second client address
on one machine. The server then sees two peers, as it would two hosts.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def forwarder(server_address: str, source_host: str) -> Iterator[str]:
    """Listens on 127.0.0.1 (free port) and forwards each connection to `server_address`
    from `source_host`; yields the address to dial. Stops on exit, also on failure."""
    host, _, port = server_address.rpartition(":")
    listener = socket.create_server(("127.0.0.1", 0))
    sockets: list[socket.socket] = [listener]

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                upstream = socket.create_connection(
                    (host, int(port)), source_address=(source_host, 0)
                )
                sockets.extend((client, upstream))
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
