"""A local anvil chain owned by the caller: find the binary, pick a port, start, wait, stop.

`club demo` uses it when nothing listens on 127.0.0.1:8545; the integration tests
start one on a free port. The process is always stopped by whoever started it
(`with Anvil(...) as node:` or `node.stop()`), never left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from web3 import Web3

from clubchat.chain.rpc import ChainConnectionError, connect
from clubchat.params import REPO_ROOT

LOCAL_ANVIL = REPO_ROOT / "node_modules" / ".bin" / "anvil"
# anvil's default mnemonic, which ape's test accounts also derive from.
TEST_MNEMONIC = "test test test test test test test test test test test junk"


class AnvilError(RuntimeError):
    """anvil is missing or did not start; the message says what to do."""


def anvil_binary() -> Path:
    """The repository's anvil (npm @foundry-rs/anvil), else one on PATH."""
    if LOCAL_ANVIL.exists():
        return LOCAL_ANVIL
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise AnvilError("anvil is not installed; run `npm ci` in the repository (or `make setup`)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Anvil:
    """One anvil process on `host:port` with the default test mnemonic and accounts.

    `chain_id` lets it pose as another network (default: anvil's 31337); `extra_args` go to
    anvil as they are (the benchmarks pin `--hardfork` and a genesis `--timestamp`).
    """

    def __init__(
        self,
        port: int,
        host: str = "127.0.0.1",
        *,
        accounts: int = 10,
        chain_id: int | None = None,
        startup_timeout: float = 30.0,
        log_path: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.host = host
        self.port = port
        self.accounts = accounts
        self.chain_id = chain_id
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Web3:
        """Start anvil and return a Web3 on it once it answers; raise AnvilError otherwise."""
        if is_listening(self.host, self.port):
            raise AnvilError(f"port {self.port} on {self.host} is already in use; stop that process first")
        command = [
            str(anvil_binary()),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--accounts",
            str(self.accounts),
            "--mnemonic",
            TEST_MNEMONIC,
            "--silent",
        ]
        if self.chain_id is not None:
            command += ["--chain-id", str(self.chain_id)]
        command += self.extra_args
        if self.log_path:
            with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
                self._process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        else:
            self._process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AnvilError(f"anvil exited with code {self._process.returncode} while starting")
            if is_listening(self.host, self.port):
                try:
                    return connect(self.url, timeout=5)
                except ChainConnectionError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout:.0f} s")

    def stop(self) -> None:
        """Terminate what this object started; return once its port is closed.

        npm's `anvil` is a node wrapper around the real binary, so the whole process
        group (its own session, see `start`) is signalled, never anything else:
        SIGTERM, then SIGKILL if the port is still open after 5 s.
        """
        process, self._process = self._process, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and is_listening(self.host, self.port, timeout=0.2):
                time.sleep(0.05)
            if not is_listening(self.host, self.port, timeout=0.2):
                break
        # Reap the wrapper (the group is gone or killed by now).
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def __enter__(self) -> Anvil:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
