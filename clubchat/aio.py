"""Stopping asyncio tasks without losing the caller's own cancellation, or waiting for ever.

`task.cancel(); with suppress(CancelledError): await task` is wrong in two cases. When the caller is
itself cancelled while it waits, the CancelledError it receives is swallowed as if it were the
task's, and the caller carries on: a reconnect loop that stopped its serving task this way kept
running after `close()` cancelled it, so `close()` waited forever (a demo run hung for the rest of
its 600 s). And when the task loses the cancellation (Python 3.11's `asyncio.wait_for` swallows
one that arrives as its inner future completes, gh-86296), it carries on and the caller waits for
ever. `cancel_and_wait` waits with `asyncio.wait`, which passes the caller's own cancellation on,
and cancels a task again every `RECANCEL_SECONDS` until it has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("clubchat.aio")

RECANCEL_SECONDS = 1.0


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any] | None], *, quiet: bool = False) -> None:
    """Cancel every task (None is skipped), then wait until each has ended, cancelling again any that
    lost its cancellation. A task's exception is raised (the first one, after all have ended) unless
    `quiet`, when it is logged; the caller's own cancellation always propagates."""
    todo = [t for t in tasks if t is not None]
    for task in todo:
        task.cancel()
    error: BaseException | None = None
    for task in todo:  # bound: the tasks given
        while not task.done():  # bound: each round cancels again; a task ends at its next await
            await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
            if not task.done():
                log.warning("task %r did not end when cancelled; cancelling it again", task)
                task.cancel()
        if task.cancelled():
            continue
        exc = task.exception()
        if exc is None:
            continue
        if quiet:
            log.debug("task %r ended with %r while stopping", task, exc)
        elif error is None:
            error = exc
    if error is not None:
        raise error
