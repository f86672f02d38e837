"""TURN node: supervise a private coturn process and issue TURN REST credentials to signed-in wallets.

coturn runs in the foreground (`-n`) with its own config file, listening port, relay port range,
pid file, log file and SQLite user db, all under the node's data directory; it is never the system
service. Authentication is coturn's TURN REST API (`--use-auth-secret`): the username is
`<expiry unix seconds>:<address>` and the password base64(HMAC-SHA1(static secret, username)), so
the node hands out credentials without telling coturn anything. `--allow-loopback-peers` (needed
when both call ends are on 127.0.0.1) is off unless `allow_loopback_peers` is set.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clubchat.protocol import messages as m

log = logging.getLogger("clubchat.turn")


def rest_credentials(secret: str, address: str, now: int, ttl: int) -> tuple[str, str]:
    """TURN REST API credentials (draft-uberti-behave-turn-rest): (`expiry:address`, base64 HMAC-SHA1)."""
    username = f"{now + ttl}:{address}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass(frozen=True)
class TurnConfig:
    """Where and how this node's coturn runs."""

    data_dir: Path
    listen_ip: str = "127.0.0.1"
    port: int = 3478
    public_host: str | None = None  # host in the turn: URI handed to clients; default listen_ip
    min_port: int = 49_160
    max_port: int = 49_200
    realm: str = "clubchat"
    secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    credential_ttl: int = 600  # seconds a credential stays valid
    allow_loopback_peers: bool = False  # only for calls between two loopback peers (tests, demo)
    binary: str = "turnserver"

    @property
    def uri(self) -> str:
        return f"turn:{self.public_host or self.listen_ip}:{self.port}?transport=udp"

    def issuer(self, clock: Callable[[], float] = time.time) -> Callable[[str], m.TurnCredentials]:
        """The relay's `get-turn-credentials` handler for this coturn."""

        def issue(address: str) -> m.TurnCredentials:
            username, password = rest_credentials(self.secret, address, int(clock()), self.credential_ttl)
            return m.TurnCredentials(
                username=username, password=password, ttl=self.credential_ttl, uris=(self.uri,)
            )

        return issue


class CoturnError(RuntimeError):
    """coturn is missing, did not start, or keeps dying; the message says what to do."""


_USAGE = re.compile(
    r"session \S+: usage: realm=<[^>]*>, username=<(?P<user>[^>]*)>, rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)"
)


@dataclass(frozen=True)
class SessionUsage:
    """Traffic of one coturn session from its `usage:` log line: packets/bytes received from and sent
    to the client (rp/rb, sp/sb); coturn logs it when the allocation ends."""

    username: str
    received_packets: int
    received_bytes: int
    sent_packets: int
    sent_bytes: int


class CoturnSupervisor:
    """Starts coturn, restarts it when it dies (with backoff), stops it cleanly."""

    def __init__(self, config: TurnConfig, max_restarts: int = 5) -> None:
        self.config = config
        self.max_restarts = max_restarts
        self.restarts = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def log_path(self) -> Path:
        return self.config.data_dir / "turnserver.log"

    @property
    def pid_path(self) -> Path:
        return self.config.data_dir / "turnserver.pid"

    def command(self) -> list[str]:
        c = self.config
        binary = shutil.which(c.binary)
        if binary is None:
            raise CoturnError("coturn is not installed: run `make setup` (or `apt-get install -y coturn`)")
        args = [
            binary,
            "-n",  # no config file search, foreground
            "-c", str(c.data_dir / "turnserver.conf"),  # our own (empty) config, never /etc/turnserver.conf
            "--listening-ip", c.listen_ip,
            "--relay-ip", c.listen_ip,
            "--listening-port", str(c.port),
            "--min-port", str(c.min_port),
            "--max-port", str(c.max_port),
            "--use-auth-secret",
            "--static-auth-secret", c.secret,
            "--realm", c.realm,
            "--pidfile", str(self.pid_path),
            "--log-file", str(self.log_path),
            "--simple-log",
            "--no-stdout-log",
            "--userdb", str(c.data_dir / "turndb"),
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--no-tcp-relay",
            "--no-multicast-peers",
            "--no-software-attribute",
            "--fingerprint",
            "--verbose",  # logs each session's `usage:` line (bytes relayed)
        ]  # fmt: skip
        if c.allow_loopback_peers:
            args.append("--allow-loopback-peers")
        return args

    async def start(self, timeout: float = 10.0) -> None:
        """Start coturn and wait until its UDP listener is open."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        (self.config.data_dir / "turnserver.conf").write_text(
            "# managed by clubchat: options are on the command line\n"
        )
        await self._spawn(timeout)
        self._watch = asyncio.create_task(self._supervise())

    async def _spawn(self, timeout: float) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # our signals only, never the terminal's
        )
        needle = f"UDP listener opened on: {self.config.listen_ip}:{self.config.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise CoturnError(f"coturn exited with {self.proc.returncode}; see {self.log_path}")
            if self.log_path.exists():
                with self.log_path.open() as fh:
                    fh.seek(offset)
                    if needle in fh.read():
                        log.info("coturn %d listening on %s", self.proc.pid, self.config.uri)
                        return
            await asyncio.sleep(0.05)
        await self._kill()
        raise CoturnError(f"coturn did not open {self.config.uri} within {timeout} s; see {self.log_path}")

    async def _supervise(self) -> None:
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.warning("coturn exited with %s (restart %d/%d)", code, self.restarts, self.max_restarts)
            if self.restarts > self.max_restarts:
                log.error("coturn keeps dying; giving up; see %s", self.log_path)
                return
            await asyncio.sleep(min(5.0, 0.2 * 2**self.restarts))  # backoff: 0.4 s, 0.8 s, ... capped at 5 s
            try:
                await self._spawn(10.0)
            except CoturnError as exc:
                log.error("%s", exc)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._kill()

    async def _kill(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()

    def usage(self) -> list[SessionUsage]:
        """Per-session traffic of every session coturn closed so far."""
        if not self.log_path.exists():
            return []
        out = []
        for match in _USAGE.finditer(self.log_path.read_text(errors="replace")):
            out.append(SessionUsage(match["user"], *(int(match.group(i)) for i in range(2, 6))))
        return out
