"""A node in its own process (`python -m clubchat.node run ...`): start, read its `ready` line, stop or
SIGKILL it. Used by the call story (`make demo`) and the tests that kill nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clubchat.params import REPO_ROOT


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
            text=True,
            start_new_session=True,
            env=env,
            preexec_fn=preexec,
        )
        self.ready = self._read_ready(timeout)

    def _read_ready(self, timeout: float) -> dict[str, Any]:
        box: list[str] = []
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"node did not become ready: {err[-2000:]}")
        ready = json.loads(box[0])
        if ready.get("event") != "ready":
            raise RuntimeError(f"unexpected first line from the node: {box[0][:200]}")
        return dict(ready)

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
        self._close_pipes()

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
