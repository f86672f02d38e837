"""One node process: the relay WebSocket server plus whichever of NOTIFY (mailbox) and TURN (coturn +
credential endpoint) it runs, and — when it is connected to a chain — its heartbeat and registry cache.

A TURN node whose coturn listens on a loopback address relays to loopback peers by itself (both
ends of a call on one machine are loopback peers; coturn refuses them with `403 Forbidden IP`
otherwise); a node on any other address never does, and asking for it there is refused.

Every node kind is served through the same signed-in WebSocket endpoint: a RELAY forwards envelopes,
a NOTIFY node's relay stores envelopes for offline recipients, a TURN node's relay answers
`get-turn-credentials`. `Node.start()` prints nothing; the CLI prints one `ready` JSON line.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from clubchat.aio import cancel_and_wait
from clubchat.node.keybundles import KeyBundles
from clubchat.node.mailbox import Mailbox, MailboxLimits
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import LogSigner, RelayLog
from clubchat.node.turn import CoturnSupervisor, TurnConfig
from clubchat.protocol.siwe import ContractWalletVerifier
from clubchat.registry.kinds import KIND_NAMES

log = logging.getLogger("clubchat.node")

KINDS = tuple(KIND_NAMES)  # ("relay", "turn", "notify")


@dataclass(frozen=True)
class NodeConfig:
    """Everything a node process needs; the CLI builds it from flags."""

    data_dir: Path
    kinds: frozenset[str] = frozenset({"relay"})
    relay: RelayConfig = field(default_factory=RelayConfig)
    turn: TurnConfig | None = None  # required when "turn" is in kinds
    mailbox: MailboxLimits = field(default_factory=MailboxLimits)  # quotas of a NOTIFY node's mailbox
    log: LogSigner | None = None  # signed relay history (clubchat.node.relay_log); None = off

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown node kind {sorted(unknown)[0]!r}; use {', '.join(KINDS)}")
        if "turn" in self.kinds and self.turn is None:
            raise ValueError("a TURN node needs a TurnConfig")
        if self.turn is not None:
            loopback = is_loopback(self.turn.listen_ip)
            if self.turn.allow_loopback_peers and not loopback:
                raise ValueError(
                    f"loopback TURN peers are allowed only on a loopback host, not {self.turn.listen_ip}; "
                    "drop --allow-loopback-peers (a loopback host, e.g. --host 127.0.0.1, allows them itself)"
                )
            object.__setattr__(self, "turn", replace(self.turn, allow_loopback_peers=loopback))


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; a name that is not an IP address is not loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def turn_secret(data_dir: Path) -> str:
    """The node's static TURN secret, created once (mode 0600) so restarts keep credentials valid."""
    path = data_dir / "turn-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


class Node:
    """Starts and stops the services of one node in the right order."""

    def __init__(self, config: NodeConfig, verifier: ContractWalletVerifier | None = None) -> None:
        self.config = config
        self.verifier = verifier
        self.mailbox: Mailbox | None = None
        self.coturn: CoturnSupervisor | None = None
        self.relay: RelayServer | None = None
        self.log: RelayLog | None = None
        self.background: list[
            Callable[[], Coroutine[Any, Any, None]]
        ] = []  # e.g. heartbeat loops, started last
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        issuer = None
        try:
            if "notify" in cfg.kinds:
                self.mailbox = Mailbox(cfg.data_dir / "mailbox.sqlite", cfg.mailbox)
                await self.mailbox.open()
            if "turn" in cfg.kinds:
                assert cfg.turn is not None
                turn = cfg.turn
                if not turn.data_dir.is_absolute():
                    turn = replace(turn, data_dir=cfg.data_dir / turn.data_dir)
                self.coturn = CoturnSupervisor(turn)
                await self.coturn.start()
                issuer = turn.issuer()
            if cfg.log is not None:
                self.log = RelayLog(cfg.data_dir / "relay-log.sqlite", cfg.log)
                await self.log.open()
            keybundles = KeyBundles(cfg.relay.chain_id, self.verifier, cfg.data_dir / "keybundles.sqlite")
            self.relay = RelayServer(
                cfg.relay,
                mailbox=self.mailbox,
                turn_credentials=issuer,
                verifier=self.verifier,
                keybundles=keybundles,
                log=self.log,
            )
            await self.relay.start()
        except BaseException:
            await self.stop()
            raise
        for job in self.background:
            self._tasks.append(asyncio.create_task(job()))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks, quiet=True)
        if self.relay is not None:
            await self.relay.stop()
            self.relay.keybundles.close()
        if self.log is not None:
            await self.log.close()
        if self.coturn is not None:
            await self.coturn.stop()
        if self.mailbox is not None:
            await self.mailbox.close()

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kinds": sorted(self.config.kinds)}
        if self.relay is not None:
            out["relay"] = self.relay.status()
        if self.coturn is not None:
            out["turn"] = {
                "uri": self.coturn.config.uri,
                "running": self.coturn.running,
                "restarts": self.coturn.restarts,
            }
        return out
