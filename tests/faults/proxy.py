"""A loopback TCP proxy in front of PostgreSQL that a test can cut and restore.

Modes:
- open: every accepted connection is forwarded to the upstream server;
- cut: every live connection is aborted (both sides, with a reset) and every new one is
  reset right after accept, so a client's connect fails at once instead of hanging;
- blackhole: new connections are accepted and then never answered (a silent network),
  for checking that the client gives up on its own within its connect timeout;
- starting: new connections get PostgreSQL's own refusal while it restarts or recovers,
  `FATAL 57P03 the database system is starting up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import struct
from collections.abc import Coroutine
from typing import Any


class Mode(enum.Enum):
    OPEN = "open"
    CUT = "cut"
    BLACKHOLE = "blackhole"
    STARTING = "starting"


SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


def error_response(sqlstate: str, message: str) -> bytes:
    """A PostgreSQL protocol ErrorResponse message, severity FATAL."""
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class TcpProxy:
    def __init__(self, upstream_host: str = "127.0.0.1", upstream_port: int = 5432) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._mode = Mode.OPEN
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0  # connections accepted since start, whatever the mode

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def mode(self) -> Mode:
        return self._mode

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def cut(self) -> None:
        """Kill every live connection and reset every new one until `restore()`."""
        self._mode = Mode.CUT
        self._abort_all()

    def blackhole(self) -> None:
        """Kill every live connection; accept new ones but never answer them."""
        self._mode = Mode.BLACKHOLE
        self._abort_all()

    def starting_up(self) -> None:
        """Kill every live connection; refuse new ones the way a restarting server does."""
        self._mode = Mode.STARTING
        self._abort_all()

    def restore(self) -> None:
        self._abort_all()  # drop blackholed clients; forwarded ones were already cut
        self._mode = Mode.OPEN

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._abort_all()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._mode is Mode.CUT:
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self._mode is Mode.STARTING:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await self._refuse_startup(reader, writer)
            self._forget(writer)
            writer.transport.abort()
            return
        if self._mode is Mode.BLACKHOLE:
            # Swallow whatever the client sends until it gives up or the test restores.
            with contextlib.suppress(OSError):
                while await reader.read(65536):
                    pass
            self._forget(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            self._forget(writer)
            writer.transport.abort()
            return
        if self._mode is not Mode.OPEN or writer not in self._writers:
            # Cut while the upstream connection was being opened.
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        self._spawn(self._pump(reader, up_writer))
        self._spawn(self._pump(up_reader, writer))

    @staticmethod
    async def _refuse_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the client's startup packet with 57P03, as PostgreSQL does when it is not
        ready yet (an SSL or GSS encryption request first gets "N": not supported)."""
        while True:
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            packet = await reader.readexactly(length - 4)
            (code,) = struct.unpack("!I", packet[:4])
            if code not in (SSL_REQUEST, GSS_REQUEST):
                break
            writer.write(b"N")
            await writer.drain()
        writer.write(error_response("57P03", "the database system is starting up"))
        await writer.drain()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._forget(sink)
            sink.transport.abort()

    def _forget(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
