"""A TCP forwarder the tests control, to put a failing network between keysvc and a server.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/db"
        ...
        proxy.refuse()     # open connections reset, new ones refused
        proxy.blackhole()  # connections accepted and held, nothing forwarded either way
        proxy.reset()      # open connections reset; new ones forwarded
        proxy.restore()    # forwarding again, on the same port

It runs its own event loop on a thread, so it works under synchronous tests and
beside a server process alike. Resets are real TCP resets (SO_LINGER 0), as a
restarting database server or a failing middlebox sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

_CHUNK = 65536


class Mode(enum.Enum):
    FORWARD = "forward"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` until told otherwise.

    With `source_host` (e.g. ``127.0.0.2``) its connections to the target come from
    that address: Linux routes all of 127/8 to `lo`, so one machine has many client
    addresses, where connecting from 127.0.0.1 would always show that one.
    """

    def __init__(self, target_host: str, target_port: int, *, source_host: str = "") -> None:
        self._target = (target_host, target_port)
        self._local_addr = (source_host, 0) if source_host else None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self.mode = Mode.FORWARD
        self.port = 0
        self.accepted = 0

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._run(self._listen())
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._run(self._stop_listening())
        self._run(self._reset_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def reset(self) -> None:
        """Resets every open connection; new ones are forwarded as before."""
        self._run(self._reset_all())

    def refuse(self) -> None:
        """Resets every open connection and stops listening: connecting is refused."""
        self.mode = Mode.REFUSE
        self._run(self._stop_listening())
        self._run(self._reset_all())

    def blackhole(self) -> None:
        """Accepts and holds connections, forwarding nothing in either direction."""
        if self.mode is Mode.REFUSE:
            self._run(self._listen())
        self.mode = Mode.BLACKHOLE

    def restore(self) -> None:
        """Forwards again; connections that were black-holed are reset (their bytes are lost)."""
        was = self.mode
        self.mode = Mode.FORWARD
        if was is Mode.REFUSE:
            self._run(self._listen())
        elif was is Mode.BLACKHOLE:
            self._run(self._reset_all())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _reset_all(self) -> None:
        for transport in list(self._transports):
            _reset(transport)
        self._transports.clear()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._transports.add(client_w.transport)
        try:
            if self.mode is not Mode.FORWARD:
                await _discard(client_r)
                return
            try:
                upstream_r, upstream_w = await asyncio.open_connection(
                    *self._target, local_addr=self._local_addr
                )
            except OSError:
                _reset(client_w.transport)
                return
            self._transports.add(upstream_w.transport)
            await asyncio.gather(self._pump(client_r, upstream_w), self._pump(upstream_r, client_w))
        finally:
            self._transports.discard(client_w.transport)
            client_w.transport.abort()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(_CHUNK):
                if self.mode is Mode.FORWARD:
                    sink.write(data)
                    await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(sink.transport)
            sink.transport.abort()


async def _discard(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(_CHUNK):
            pass
    except (ConnectionError, OSError):
        pass


def _reset(transport: asyncio.WriteTransport) -> None:
    """Closes with a TCP reset rather than an orderly FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
