"""TURN node: supervise a private coturn process and issue TURN REST credentials to signed-in wallets.

coturn runs in the foreground with its own config file (only the secrets, mode 0600: a command
line is readable by every local user), listening port, relay port range, pid file, log file and
SQLite user db, all under the node's data directory; it is never the system service.
Authentication is coturn's TURN REST API (`--use-auth-secret`): the username is
`<expiry unix seconds>:<address>` and the password base64(HMAC-SHA1(static secret, username)), so
the node hands out credentials without telling coturn anything. `--allow-loopback-peers` (needed
when both call ends are on 127.0.0.1) is off unless `allow_loopback_peers` is set.

Limits, because any (free) wallet can get a credential: coturn caps the concurrent allocations per
username (`--user-quota`) and in total (`--total-quota`, below the relay port range so an honest
caller always finds a port), and grants an allocation at most a credential's lifetime at a time
(`--max-allocate-lifetime`). The issuer hands a wallet the same credential (the same coturn
username, hence one user quota) until half of its lifetime is gone, so a wallet holds at most two
live credentials at a time.

Expiry: coturn (4.6.1, Debian's) checks a REST credential's expiry when an allocation is created,
not when it is refreshed (it keeps the session's key, even across a stale nonce), so an allocation
made before expiry could be refreshed on for ever. The supervisor therefore ends such sessions
itself: every `expiry_sweep` seconds it lists coturn's sessions through coturn's admin CLI (on
127.0.0.1, a random port and password) and cancels each whose username's expiry has passed. An
allocation thus outlives its credential by at most `expiry_sweep` seconds (plus one CLI round trip).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import ctypes.util
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clubchat.aio import cancel_and_wait
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
    min_port: int = 49_160  # relay ports: one per allocation (two with an even-port reservation)
    max_port: int = 50_159
    realm: str = "clubchat"
    secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    credential_ttl: int = 600  # seconds a credential stays valid; also the longest allocation lifetime
    user_quota: int = 4  # concurrent allocations per credential (a call takes one per side: max-bundle)
    total_quota: int | None = None  # concurrent allocations in total; default half the relay ports
    max_wallets: int = 100_000  # wallets whose current credential the issuer remembers (oldest dropped)
    allow_loopback_peers: bool = False  # only for calls between two loopback peers (tests, demo)
    expiry_sweep: float = 10.0  # seconds between cancelling sessions whose credential has expired
    binary: str = "turnserver"

    def __post_init__(self) -> None:
        if not 0 < self.min_port <= self.max_port <= 65_535:
            raise ValueError(
                f"TURN relay ports {self.min_port}-{self.max_port}: need 0 < min <= max <= 65535"
            )
        for name in ("credential_ttl", "user_quota", "max_wallets", "expiry_sweep"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TURN {name} must be positive, got {getattr(self, name)}")
        if self.total_quota is not None and not 0 < self.total_quota <= self.ports:
            raise ValueError(f"TURN total_quota must be between 1 and the {self.ports} relay ports")
        if not re.fullmatch(r"[!-~]+", self.secret) or "#" in self.secret:  # one line of coturn's config
            raise ValueError("the TURN secret must be printable ASCII without spaces or '#'")

    @property
    def ports(self) -> int:
        return self.max_port - self.min_port + 1

    @property
    def allocations(self) -> int:
        """Concurrent allocations coturn allows in total."""
        return self.total_quota if self.total_quota is not None else max(1, self.ports // 2)

    @property
    def uri(self) -> str:
        return f"turn:{self.public_host or self.listen_ip}:{self.port}?transport=udp"

    def issuer(self, clock: Callable[[], float] = time.time) -> CredentialIssuer:
        """The relay's `get-turn-credentials` handler for this coturn."""
        return CredentialIssuer(self, clock)


class CredentialIssuer:
    """Issues TURN REST credentials, one at a time per wallet: a wallet asking again gets the same
    credential (and `ttl` = its remaining seconds) until less than half of its lifetime is left."""

    def __init__(self, config: TurnConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self._current: OrderedDict[str, m.TurnCredentials] = OrderedDict()  # wallet -> its credential
        # The caller's call limit (its premium tier, clubchat.node.rooms.Rooms.call_seconds): no
        # credential outlives it. None: credential_ttl for everyone.
        self.max_ttl: Callable[[str], int | None] | None = None

    def __call__(self, address: str) -> m.TurnCredentials:
        cfg = self.config
        now = int(self.clock())
        key = address.lower()
        limit = self.max_ttl(address) if self.max_ttl is not None else None
        ttl = cfg.credential_ttl if limit is None else max(1, min(cfg.credential_ttl, limit))
        held = self._current.get(key)
        if held is not None:
            left = int(held.username.split(":", 1)[0]) - now
            if ttl // 2 <= left <= ttl:
                return m.TurnCredentials(
                    username=held.username, password=held.password, ttl=left, uris=held.uris
                )
        username, password = rest_credentials(cfg.secret, address, now, ttl)
        creds = m.TurnCredentials(username=username, password=password, ttl=ttl, uris=(cfg.uri,))
        self._current[key] = creds
        self._current.move_to_end(key)
        while len(self._current) > cfg.max_wallets:  # bound: drop the longest-held wallets first
            self._current.popitem(last=False)
        return creds


class CoturnError(RuntimeError):
    """coturn is missing, did not start, or keeps dying; the message says what to do."""


_USAGE = re.compile(
    r"session \S+: usage: realm=<[^>]*>, username=<(?P<user>[^>]*)>, rp=(\d+), rb=(\d+), sp=(\d+), sb=(\d+)"
)
# One session in the CLI's `ps` listing: `1) id=001000000000000001, user <1796459801:0xab..>:`
_CLI_SESSION = re.compile(r"\bid=(?P<id>\d+), user <(?P<expiry>\d+):[^>]*>")
_CLI_PROMPT = b"> "


def _free_tcp_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SessionUsage:
    """Traffic of one coturn session from its `usage:` log line: packets/bytes received from and sent
    to the client (rp/rb, sp/sb); coturn logs it when the allocation ends."""

    username: str
    received_packets: int
    received_bytes: int
    sent_packets: int
    sent_bytes: int


# prctl(PR_SET_PDEATHSIG, SIGTERM): the kernel sends coturn SIGTERM when the node process that
# started it dies, even by SIGKILL (coturn runs in its own session, so killing the node's process
# group does not reach it). Resolved here, in the parent; the child only makes the one call.
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if os.name == "posix" else None


def _die_with_parent() -> None:
    """Runs in the coturn child between fork and exec (Linux; a no-op where prctl is missing)."""
    prctl = getattr(_LIBC, "prctl", None)
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class CoturnSupervisor:
    """Starts coturn, restarts it when it dies (with backoff), stops it cleanly."""

    def __init__(self, config: TurnConfig, max_restarts: int = 5) -> None:
        self.config = config
        self.max_restarts = max_restarts
        self.restarts = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[None] | None = None
        self._stopping = False
        self.cli_port = _free_tcp_port("127.0.0.1")  # coturn's admin CLI, for `cancel_expired`
        self._cli_password = secrets.token_hex(16)
        self.expired_cancelled = 0  # sessions ended because their credential had expired

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
            # Our own config file (the secrets), never /etc/turnserver.conf; not `-n`, which makes
            # coturn ignore every config file. coturn runs in the foreground unless given `-o`.
            "-c", str(c.data_dir / "turnserver.conf"),
            "--listening-ip", c.listen_ip,
            "--relay-ip", c.listen_ip,
            "--listening-port", str(c.port),
            "--min-port", str(c.min_port),
            "--max-port", str(c.max_port),
            "--use-auth-secret",  # the secret itself is in the 0600 config file, not on the command line
            "--realm", c.realm,
            "--pidfile", str(self.pid_path),
            "--log-file", str(self.log_path),
            "--simple-log",
            "--no-stdout-log",
            "--userdb", str(c.data_dir / "turndb"),
            "--cli-ip=127.0.0.1",  # the admin CLI, only for cancel_expired (random port and password)
            f"--cli-port={self.cli_port}",  # its password: in the config file too
            f"--cli-max-output-sessions={c.allocations}",  # `ps` lists every session
            "--no-tls",
            "--no-dtls",
            "--no-tcp-relay",
            "--no-multicast-peers",
            "--no-software-attribute",
            "--fingerprint",
            "--user-quota", str(c.user_quota),
            "--total-quota", str(c.allocations),
            f"--max-allocate-lifetime={c.credential_ttl}",  # coturn takes this one only with `=`
            "--verbose",  # logs each session's `usage:` line (bytes relayed)
        ]  # fmt: skip
        if c.allow_loopback_peers:
            args.append("--allow-loopback-peers")
        return args

    def _write_config(self) -> None:
        """coturn's config file: only the two secrets, readable by this user alone (a command line is
        readable by every local user through `ps`/proc, so the REST secret would let anyone on the
        machine mint credentials); every other option is on the command line."""
        path = self.config.data_dir / "turnserver.conf"
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(
                "# managed by clubchat: the secrets; other options are on the command line\n"
                f"static-auth-secret={self.config.secret}\n"
                f"cli-password={self._cli_password}\n"
            )

    async def start(self, timeout: float = 10.0) -> None:
        """Start coturn and wait until its UDP listener is open."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        await self._spawn(timeout)
        self._watch = asyncio.create_task(self._supervise())
        self._sweep = asyncio.create_task(self._sweep_expired())

    async def _spawn(self, timeout: float) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # our signals only, never the terminal's
            preexec_fn=_die_with_parent,  # a node killed with SIGKILL takes its coturn along
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
        await cancel_and_wait((self._sweep, self._watch))
        await self._kill()

    async def _sweep_expired(self) -> None:
        """Every `expiry_sweep` s, `cancel_expired` (owned by start/stop; a failed round is logged)."""
        while True:
            await asyncio.sleep(self.config.expiry_sweep)
            if not self.running:
                continue
            try:
                await self.cancel_expired()
            except (OSError, TimeoutError, ConnectionError) as exc:
                log.warning("coturn: could not cancel expired sessions: %s", exc)

    async def cancel_expired(self, timeout: float = 5.0) -> int:
        """Cancel every coturn session whose REST credential has expired (through coturn's CLI);
        how many were cancelled."""
        # `ps` prints ~400 bytes per session: the reader's limit fits the total quota's worth
        connect = asyncio.open_connection("127.0.0.1", self.cli_port, limit=2**22)
        reader, writer = await asyncio.wait_for(connect, timeout)
        try:

            async def command(line: str) -> str:
                writer.write(line.encode() + b"\r\n")
                out = await asyncio.wait_for(reader.readuntil(_CLI_PROMPT), timeout)
                return out.decode(errors="replace")

            await asyncio.wait_for(reader.readuntil(b"password: "), timeout)
            await command(self._cli_password)
            now = time.time()
            expired = [
                match["id"]
                for match in _CLI_SESSION.finditer(await command("ps"))
                if int(match["expiry"]) < now
            ]
            for session in expired:  # bound: the sessions listed (at most the total quota)
                await command(f"cs {session}")
            self.expired_cancelled += len(expired)
            if expired:
                log.info("coturn: cancelled %d sessions whose credential expired", len(expired))
            return len(expired)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

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
