"""A node in its own process (`python -m clubchat.node run ...`): start, read its `ready` line, stop or
SIGKILL it. Used by the call story (`make demo`), the tests that kill nodes and the benchmarks.

Both pipes are drained for the node's whole life by daemon threads into bounded rings (`PipeTail`):
a node that writes more than a pipe holds (64 KiB on Linux) to a pipe nobody reads blocks in
`write()`, with its event loop, and once froze a benchmark. The last `TAIL_BYTES` of stderr are
shown when the node fails to start and are there to print (`stderr_tail()`) when a test fails.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import typing
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from clubchat.params import REPO_ROOT

TAIL_BYTES = 64 * 1024  # what each ring keeps of a pipe's latest output


class PipeTail:
    """Reads `stream` to its end on a daemon thread and keeps its last `max_bytes`. With
    `first_line`, the first line is set aside (`first`, set once `has_first` is) and not kept.
    Only the thread touches the stream, and it closes it at the end (closing a pipe under a
    blocked reader from another thread is a race)."""

    def __init__(self, stream: IO[bytes], max_bytes: int = TAIL_BYTES, first_line: bool = False) -> None:
        self.max_bytes = max_bytes
        self.total = 0  # bytes read, kept or not
        self.first = b""
        self.has_first = threading.Event()
        self._chunks: deque[bytes] = deque()
        self._held = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(stream, first_line), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes], first_line: bool) -> None:
        try:
            if first_line:
                self.first = stream.readline()
                self.has_first.set()
            reader = typing.cast(io.BufferedReader, stream)  # Popen (bufsize -1) gives buffered pipes
            while chunk := reader.read1(65536):  # what is there now, up to 64 KiB
                with self._lock:
                    self.total += len(chunk)
                    self._chunks.append(chunk)
                    self._held += len(chunk)
                    while self._held - len(self._chunks[0]) >= self.max_bytes:  # bound: the ring
                        self._held -= len(self._chunks.popleft())
        except (OSError, ValueError):
            pass
        finally:
            self.has_first.set()
            stream.close()

    def text(self) -> str:
        """The last `max_bytes` read (decoded leniently: the cut may split a character)."""
        with self._lock:
            data = b"".join(self._chunks)
        return data[-self.max_bytes :].decode(errors="replace")

    def join(self, timeout: float) -> bool:
        """Wait for the end of the stream; False if a writer (a grandchild) still holds it open."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


class NodeProcess:
    """`python -m clubchat.node run --data-dir <dir> <args>` in its own session (so it can be killed)."""

    def __init__(
        self,
        data_dir: Path,
        *args: str,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
        preexec: Callable[[], None] | None = None,  # runs in the child first, e.g. to set rlimits
    ) -> None:
        self.data_dir = data_dir
        self.cmd = [sys.executable, "-m", "clubchat.node", "run", "--data-dir", str(data_dir), *args]
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            preexec_fn=preexec,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.stdout = PipeTail(self.proc.stdout, first_line=True)
        self.stderr = PipeTail(self.proc.stderr)
        self.ready = self._read_ready(timeout)

    def _read_ready(self, timeout: float) -> dict[str, Any]:
        line = self.stdout.first if self.stdout.has_first.wait(timeout) else b""
        if not line:
            self.kill()
            raise RuntimeError(f"node did not become ready; its stderr ends with:\n{self.stderr_tail(2000)}")
        ready = json.loads(line)
        if ready.get("event") != "ready":
            raise RuntimeError(f"unexpected first line from the node: {line[:200]!r}")
        return dict(ready)

    def stderr_tail(self, max_chars: int = TAIL_BYTES) -> str:
        """The latest of what the node wrote to stderr (at most `TAIL_BYTES`)."""
        return self.stderr.text()[-max_chars:]

    @property
    def uri(self) -> str:
        return str(self.ready["relay"]["uri"])

    def status(self) -> dict[str, Any]:
        """The node's status.json (refreshed every 2 s), or {} before the first write."""
        path = self.data_dir / "status.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    def kill(self) -> None:
        """SIGKILL the node's process group and reap it (its coturn follows by its parent-death signal)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._end_pipes()

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._end_pipes()

    def _end_pipes(self) -> None:
        # The drains close the pipes at their end; a grandchild still holding one open only keeps
        # a daemon thread waiting, never the caller.
        self.stdout.join(5.0)
        self.stderr.join(5.0)
