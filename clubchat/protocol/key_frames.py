"""Key frames beyond a bundle's publish/get/revoke: one-time prekeys and relay-to-relay bundle copies.

A device publishes a batch of X25519 one-time prekeys, each signed by its bundle's Ed25519 key; a
relay hands each out at most once (`claim-one-time`), and a sender opens a session to it instead of
the medium-term prekey. When a relay has none left it answers with `key` None: the sender falls
back to the signed prekey (clubchat.node.keybundles stores them, clubchat.crypto.session uses them).
A relay copies a bundle published on it to the address's other rendezvous relays (`replicate-keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clubchat.protocol.codec import spec
from clubchat.protocol.payloads import KeyBundle, Revocation
from clubchat.protocol.wire import ADDRESS_PATTERN, HEX_PATTERN

MAX_ONE_TIME_BATCH = 32  # one-time prekeys per `publish-one-time` frame (and held per address)


@dataclass(frozen=True)
class OneTimePrekey:
    """An X25519 one-time prekey and the Ed25519 signature of the bundle's identity over it."""

    key: str = spec(min_len=64, max_len=64, pattern=HEX_PATTERN)
    signature: str = spec(min_len=128, max_len=128, pattern=HEX_PATTERN)


@dataclass(frozen=True)
class PublishOneTime:
    """A signed-in client adds one-time prekeys for its current bundle (none: just ask the stock)."""

    TYPE: ClassVar[str] = "publish-one-time"
    keys: tuple[OneTimePrekey, ...] = spec(default=(), max_items=MAX_ONE_TIME_BATCH, unique=True)


@dataclass(frozen=True)
class OneTimeStock:
    """relay -> client: how many of its one-time prekeys the relay holds now."""

    TYPE: ClassVar[str] = "one-time-stock"
    count: int = spec(minimum=0)


@dataclass(frozen=True)
class ClaimOneTime:
    """Ask the relay for one of `address`'s one-time prekeys (it is then never handed out again)."""

    TYPE: ClassVar[str] = "claim-one-time"
    address: str = spec(pattern=ADDRESS_PATTERN)


@dataclass(frozen=True)
class OneTimeClaimed:
    """relay -> client: a one-time prekey of `address`, or None when it has none left to give."""

    TYPE: ClassVar[str] = "one-time-claimed"
    address: str = spec(pattern=ADDRESS_PATTERN)
    key: OneTimePrekey | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class ReplicateKeys:
    """A relay copies the bundle published on it for `address` (or none, after a revocation) and the
    address's revocations to another of its rendezvous relays; any signed-in connection may send one,
    and the receiving relay checks it exactly as a `publish-keys` / `revoke-keys` from that wallet
    (clubchat.node.keybundles). Answered with `keys` for `address`."""

    TYPE: ClassVar[str] = "replicate-keys"
    address: str = spec(pattern=ADDRESS_PATTERN)
    bundle: KeyBundle | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default
    revocations: tuple[Revocation, ...] = spec(default=(), max_items=8)


KEY_EXTRA_FRAMES = (PublishOneTime, OneTimeStock, ClaimOneTime, OneTimeClaimed, ReplicateKeys)
ONE_TIME_FRAMES = ("publish-one-time", "claim-one-time")
KEY_EXTRA_CLIENT_FRAMES = (*ONE_TIME_FRAMES, "replicate-keys")
