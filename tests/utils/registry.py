"""Helpers shared by the NodeRegistry tests: funding, registering nodes with valid endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
from eth_utils import keccak

from clubchat.registry.kinds import NOTIFY, RELAY, TURN
from clubchat.registry.kinds import TURN_CREDENTIAL as TURN_CREDENTIAL  # re-exported for the registry tests

KINDS = (RELAY, TURN, NOTIFY)
MAX_UINT = 2**256 - 1


@dataclass(frozen=True)
class Actors:
    operator: str
    node_key: str
    delegator: str


def endpoints_for(kinds: int, tag: str = "n") -> list[str]:
    """One valid URI per declared kind, in kind order."""
    uris = {
        RELAY: f"wss://{tag}.relay.example:443",
        TURN: f"turns:{tag}.turn.example:5349",
        NOTIFY: f"https://{tag}.notify.example",
    }
    return [uris[k] for k in KINDS if kinds & k]


def credential_for(kinds: int, tag: str = "n") -> str:
    return f"https://{tag}.turn.example/credentials" if kinds & TURN else ""


def fund(token: Any, registry: Any, treasury: str, who: str, amount: int) -> None:
    """Give `who` CLUB from the treasury and approve the registry for everything."""
    with boa.env.prank(treasury):
        token.transfer(who, amount)
    with boa.env.prank(who):
        token.approve(registry.address, MAX_UINT)


def approve_key(registry: Any, key: str, operator: str) -> None:
    """`key` consents to being bound by `operator` (its own transaction, as the node software sends it)."""
    with boa.env.prank(key):
        registry.approve_operator(operator)


def register_node(
    registry: Any,
    operator: str,
    key: str,
    *,
    kinds: int,
    amount: int,
    commission_bps: int = 1000,
    region: str = "eu-west",
    tag: str = "n",
) -> None:
    """The node key approves `operator`, then `operator` registers with valid endpoints for `kinds`."""
    approve_key(registry, key, operator)
    with boa.env.prank(operator):
        registry.register(
            kinds,
            key,
            region,
            f"https://{tag}.example/meta.json",
            endpoints_for(kinds, tag),
            credential_for(kinds, tag),
            commission_bps,
            amount,
        )


PARAMETERS = (
    "min_self_stake_per_kind",
    "saturation_multiple",
    "unbonding_seconds",
    "heartbeat_seconds",
    "commission_max_bps",
    "commission_max_change_bps",
    "commission_delay_seconds",
    "finalize_tip",
    "stream_seconds",
)


def set_parameters(registry: Any, governance: str, **changes: int) -> None:
    """`set_parameters` with the current values except `changes` (names as the contract's)."""
    values = {name: getattr(registry, name)() for name in PARAMETERS}
    values.update(changes)
    with boa.env.prank(governance):
        registry.set_parameters(*(values[name] for name in PARAMETERS))


def now() -> int:
    return int(boa.env.evm.patch.timestamp)


def beat(registry: Any, *keys: str) -> None:
    for key in keys:
        with boa.env.prank(key):
            registry.heartbeat()


def finish_epoch(registry: Any, *keys: str, caller: str | None = None) -> int:
    """Travel to 60 s before the end of the next unfinalised epoch, beat `keys`, cross the end and finalise.

    Returns the tip paid to `caller` (default: a fresh address).
    """
    end = registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS()
    if now() < end - 60:
        boa.env.time_travel(seconds=end - 60 - now())
    beat(registry, *keys)
    boa.env.time_travel(seconds=max(end - now(), 0) + 1)
    with boa.env.prank(caller or str(boa.env.generate_address("finaliser"))):
        return int(registry.finalize_epoch())


def live_for(registry: Any, seconds: int, *keys: str) -> None:
    """Let `seconds` pass with `keys` beating every half heartbeat period (each beat checkpoints
    its node and keeps it live), the last beat exactly at the end. A finalisation streams its
    rewards over the next EPOCH_SECONDS, so `live_for(registry, registry.EPOCH_SECONDS(), key)`
    right after one lets that stream pay out to a node that stays live."""
    step = int(registry.heartbeat_seconds()) // 2
    end = now() + seconds
    while now() < end:
        boa.env.time_travel(seconds=min(step, end - now()))
        beat(registry, *keys)


def live_epoch(registry: Any, *keys: str) -> int:
    """`live_for` up to 1 s after the end of the next unfinalised epoch, then finalise it. Returns the tip."""
    end = registry.EPOCH_START() + (registry.epochs_finalised() + 1) * registry.EPOCH_SECONDS()
    live_for(registry, max(end - now(), 0) + 1, *keys)
    with boa.env.prank(str(boa.env.generate_address("finaliser"))):
        return int(registry.finalize_epoch())


def send_rewards(token: Any, registry: Any, treasury: str, amount: int) -> None:
    """CLUB arriving at the registry the way Emission's mint does (a plain balance increase)."""
    with boa.env.prank(treasury):
        token.transfer(registry.address, amount)


def next_epoch(registry: Any, *keys: str) -> int:
    """Travel to 1 s after the start of the next sampling epoch and beat `keys` (the first beat
    records the epoch's seed). Returns the new sampling epoch."""
    epoch = max(now() - registry.EPOCH_START(), 0) // registry.EPOCH_SECONDS() + 1
    boa.env.time_travel(seconds=max(registry.EPOCH_START() + epoch * registry.EPOCH_SECONDS() - now(), 0) + 1)
    beat(registry, *keys)
    return int(epoch)


def mirror_draws(weights: list[int], mixed: bytes, k: int, eligible: Any = None) -> list[int]:
    """The registry's draw sequence in Python: draw i takes `keccak(mixed, i) % remaining` over the
    leaves in slot order and removes the drawn leaf; a drawn index is kept when `eligible(index)`
    (default: always). Returns the kept slot indices, at most k, within 32 draws."""
    ws, out, remaining = list(weights), [], sum(weights)
    for i in range(32):
        if len(out) >= k or remaining == 0:
            break
        t = int.from_bytes(keccak(mixed + i.to_bytes(32, "big")), "big") % remaining
        for j, w in enumerate(ws):
            if t < w:
                remaining -= w
                ws[j] = 0
                if eligible is None or eligible(j):
                    out.append(j)
                break
            t -= w
    return out
