"""Stopping asyncio tasks without losing the caller's own cancellation.

`task.cancel(); with suppress(CancelledError): await task` is wrong in one case: when the caller is
itself cancelled while it waits, the CancelledError it receives is swallowed as if it were the
task's, and the caller carries on. A reconnect loop that stopped its serving task this way kept
running after `close()` cancelled it, so `close()` waited forever (a demo run hung for the rest of
its 600 s). `cancel_and_wait` tells the two apart with `Task.cancelling()` and re-raises the
caller's own cancellation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("clubchat.aio")


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any] | None], *, quiet: bool = False) -> None:
    """Cancel every task (None is skipped), then wait until each has ended. A task's exception is
    raised (the first one, after all have ended) unless `quiet`, when it is logged; the caller's own
    cancellation is always re-raised."""
    todo = [t for t in tasks if t is not None]
    for task in todo:
        task.cancel()
    error: BaseException | None = None
    for task in todo:  # bound: the tasks given
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller is being cancelled, not (only) the task
        except Exception as exc:
            if quiet:
                log.debug("task %r ended with %r while stopping", task, exc)
            elif error is None:
                error = exc
    if error is not None:
        raise error
