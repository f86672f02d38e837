"""cancel_and_wait: stopping a task never swallows the caller's own cancellation."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from clubchat.aio import cancel_and_wait


async def _slow_to_stop(stopping: asyncio.Event) -> None:
    """A task whose clean-up after cancellation takes a while (as a serve loop closing a call does)."""
    try:
        await asyncio.sleep(3600)
    finally:
        stopping.set()
        await asyncio.sleep(0.3)


async def _stopper(task: asyncio.Task[None], reached: list[str], old: bool) -> None:
    if old:  # the pattern cancel_and_wait replaces
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    else:
        await cancel_and_wait([task])
    reached.append("after the wait")  # a cancelled stopper must not get here


@pytest.mark.parametrize("old", [True, False], ids=["suppress-pattern", "cancel_and_wait"])
def test_a_stopper_cancelled_while_it_waits_stays_cancelled(old: bool) -> None:
    async def scenario() -> tuple[list[str], bool]:
        stopping = asyncio.Event()
        worker = asyncio.create_task(_slow_to_stop(stopping))
        await asyncio.sleep(0)
        reached: list[str] = []
        stopper = asyncio.create_task(_stopper(worker, reached, old))
        await stopping.wait()  # the stopper now waits for the worker's clean-up
        stopper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopper
        return reached, stopper.cancelled()

    reached, cancelled = asyncio.run(scenario())
    if old:  # the bug: the stopper's cancellation was taken for the worker's and it carried on
        assert (reached, cancelled) == (["after the wait"], False)
    else:
        assert (reached, cancelled) == ([], True)


def test_the_tasks_own_cancellation_and_errors() -> None:
    async def boom() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    async def scenario() -> None:
        sleeper = asyncio.create_task(asyncio.sleep(3600))
        failed = asyncio.create_task(boom())
        await asyncio.sleep(0.01)  # `failed` has raised by now
        with pytest.raises(RuntimeError, match="boom"):
            await cancel_and_wait([sleeper, None, failed])
        assert sleeper.cancelled()  # every task ended before the error was raised
        failed2 = asyncio.create_task(boom())
        await asyncio.sleep(0.01)
        await cancel_and_wait([failed2], quiet=True)  # quiet: logged, not raised
        done = asyncio.create_task(asyncio.sleep(0))
        await done
        await cancel_and_wait([done])  # an ended task is fine

    asyncio.run(scenario())


def test_a_task_that_lost_its_cancellation_is_cancelled_again() -> None:
    """Python 3.11's wait_for can swallow a cancellation; the task then carries on to its next await.
    cancel_and_wait cancels it again instead of waiting for ever (a listener's close() once hung on
    its serving task this way)."""

    async def loses_one() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # the first cancellation is lost
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)  # the next await: cancelled again here

    async def scenario() -> bool:
        task = asyncio.create_task(loses_one())
        await asyncio.sleep(0)
        await asyncio.wait_for(cancel_and_wait([task]), 5)
        return task.cancelled()

    assert asyncio.run(scenario()) is True
