"""Running the outbox dispatcher: inside `serve` (DISPATCHER=inline) or alone in
`appointments worker`, stopped gracefully either way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from appointments.container import Container

log = logging.getLogger(__name__)
# An attempt under way when asked to stop is finished, within its own timeouts.
STOP_TIMEOUT_SECONDS = 45.0


@contextlib.asynccontextmanager
async def dispatching(container: Container) -> AsyncIterator[None]:
    """The dispatcher runs in the background while the block runs."""
    stop = asyncio.Event()
    dispatcher = container.dispatcher()
    poll = container.settings().dispatch_poll_seconds
    task = asyncio.create_task(dispatcher.run(stop, poll), name="dispatcher")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("dispatcher did not stop within %s s", STOP_TIMEOUT_SECONDS)
        await container.webhook_sender().aclose()


async def work(container: Container) -> None:
    """`appointments worker`: dispatch until SIGTERM or SIGINT."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    log.info("worker started")
    try:
        async with dispatching(container):
            await stopped.wait()
    finally:
        await container.engine().dispose()
    log.info("worker stopped")
