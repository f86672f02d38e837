"""Start `python -m clubchat.node run ...` as a child process and read its `ready` line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class NodeProcess:
    """A node in its own process (so tests can SIGKILL it)."""

    def __init__(self, data_dir: Path, *args: str, timeout: float = 30.0) -> None:
        self.cmd = [sys.executable, "-m", "clubchat.node", "run", "--data-dir", str(data_dir), *args]
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.ready = self._read_ready(timeout)

    def _read_ready(self, timeout: float) -> dict[str, Any]:
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not box or not box[0]:
            self.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""  # type: ignore[union-attr]
            raise RuntimeError(f"node did not become ready: {err[-2000:]}")
        ready = json.loads(box[0])
        assert ready["event"] == "ready"
        return dict(ready)

    @property
    def uri(self) -> str:
        return str(self.ready["relay"]["uri"])

    def kill(self) -> None:
        """SIGKILL the node's whole process group (coturn included) and reap it."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """Graceful SIGTERM, then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
