"""Node-key heartbeats: `heartbeat()` from the node key every third of the registry's `heartbeat_seconds`."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from clubchat.chain.port import Web3Port
from clubchat.chain.tx import LocalSender
from clubchat.registry.client import RegistryActions

log = logging.getLogger("clubchat.registry.heartbeat")
TX_TIMEOUT = 30.0  # a beat that is not mined within this is retried next round


@dataclass
class HeartbeatStatus:
    beats: int = 0
    last_ok: float | None = None
    last_error: str | None = None


async def heartbeat_loop(
    w3: Any, registry: Any, node_key: LocalAccount, status: HeartbeatStatus, interval: float | None = None
) -> None:
    """Beat now, then every `interval` s (default: a third of the registry's `heartbeat_seconds`)."""
    loop = asyncio.get_running_loop()
    if interval is None:
        seconds = await loop.run_in_executor(None, registry.functions.heartbeat_seconds().call)
        interval = max(1.0, int(seconds) / 3)  # three chances per window
    key = RegistryActions(Web3Port(w3, LocalSender(w3, node_key, timeout=TX_TIMEOUT)), registry, None)
    while True:
        try:
            await loop.run_in_executor(None, key.heartbeat)
            status.beats += 1
            status.last_ok = time.time()
            status.last_error = None
        except Exception as exc:  # RPC down, nonce race, revert: report and try again next round
            status.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("heartbeat failed: %s", status.last_error)
        await asyncio.sleep(interval)
