"""NodeProcess drains the node's stdout and stderr for its whole life: a node that writes more than
a pipe holds (64 KiB) keeps serving, stops on SIGTERM, and its latest stderr is kept (bounded) and
shown when it fails to start."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from clubchat.node.process import TAIL_BYTES, NodeProcess

pytestmark = [pytest.mark.integration]

PIPE_CAPACITY = 64 * 1024  # Linux default


def test_a_node_that_writes_far_more_than_a_pipe_holds_starts_serves_and_stops(tmp_path: Path) -> None:
    # `python -v` writes a line per import to stderr: several pipes' worth before `ready`, and a
    # line per module torn down at exit. Undrained, the node blocked in write() and never got ready.
    env = {**os.environ, "PYTHONVERBOSE": "1"}
    node = NodeProcess(tmp_path, "--kinds", "relay", env=env, timeout=60)
    try:
        assert node.stderr.total > 2 * PIPE_CAPACITY
        with connect(node.uri, open_timeout=10) as ws:
            challenge = ws.recv(timeout=10)
        assert '"type":"challenge"' in str(challenge).replace(" ", "")
        assert node.proc.poll() is None
    finally:
        started = time.monotonic()
        node.stop()
    assert node.proc.returncode == 0, node.stderr_tail(2000)
    assert time.monotonic() - started < 10.0  # SIGTERM was enough: nothing blocked on a pipe
    tail = node.stderr_tail()
    assert 0 < len(tail.encode()) <= TAIL_BYTES  # bounded, whatever the node wrote
    assert "# cleanup" in tail  # written at exit, long after the pipe would have been full


def test_a_node_that_cannot_start_shows_the_end_of_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="use a comma-separated subset of relay, turn, notify"):
        NodeProcess(tmp_path, "--kinds", "bogus", timeout=60)
