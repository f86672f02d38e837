"""Signed relay history: the `LogEntry` EIP-712 type relays sign and the Disputes contract verifies.

This is a public interface other clients implement, so it is fixed exactly:

    LogEntry(address node,bytes32 room,uint64 seq,bytes32 prev,bytes32 body,uint64 time)

in the domain {name: "Club Chat Relay Log", version: "1", chainId, verifyingContract: Disputes}.
`node` is the operator address; `room` a community room id or, for direct messages, keccak256 of
the two sorted addresses (`direct_room`); `seq` counts 1, 2, ... per (node, room); `prev` is the
previous entry's struct hash (zero for seq 1); `body` is keccak256 of the envelope's exact text;
`time` unix seconds.

Relays sign one entry per envelope or per batch, fast: the digest is computed here from the spec
(no typed-data encoder on the hot path) and signed with libsecp256k1 (coincurve), which always
produces low-s signatures, the only ones the contract accepts. `sign_typed_data` in the tests
checks the hand-built digest against eth_account's encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import SECP256K1_N, Domain, Signature, recover

LOG_ENTRY_TYPE = "LogEntry(address node,bytes32 room,uint64 seq,bytes32 prev,bytes32 body,uint64 time)"
LOG_ENTRY_TYPEHASH = keccak(text=LOG_ENTRY_TYPE)
LOG_DOMAIN_NAME = "Club Chat Relay Log"
LOG_DOMAIN_VERSION = "1"
ZERO32 = b"\x00" * 32

LOG_ENTRY_FIELDS = [
    {"name": "node", "type": "address"},
    {"name": "room", "type": "bytes32"},
    {"name": "seq", "type": "uint64"},
    {"name": "prev", "type": "bytes32"},
    {"name": "body", "type": "bytes32"},
    {"name": "time", "type": "uint64"},
]


def log_domain(chain_id: int, disputes: str) -> Domain:
    """The relay-log domain: verifyingContract is the Disputes contract of the deployment."""
    return Domain(LOG_DOMAIN_NAME, LOG_DOMAIN_VERSION, chain_id, to_checksum_address(disputes))


def direct_room(a: str, b: str) -> bytes:
    """Room id of a direct conversation: keccak256 of the two addresses, sorted, 20 bytes each."""
    x, y = sorted((bytes.fromhex(a[2:].lower()), bytes.fromhex(b[2:].lower())))
    return keccak(x + y)


def body_hash(envelope_text: str) -> bytes:
    """keccak256 of the envelope's exact text (UTF-8), as the relay received it."""
    return keccak(text=envelope_text)


@dataclass(frozen=True)
class LogEntry:
    """One place in a per-(node, room) hash chain."""

    node: str
    room: bytes
    seq: int
    prev: bytes
    body: bytes
    time: int

    def __post_init__(self) -> None:
        for name in ("room", "prev", "body"):
            if len(getattr(self, name)) != 32:
                raise ValueError(f"log entry: {name} must be 32 bytes")
        if not 0 < self.seq < 2**64 or not 0 <= self.time < 2**64:
            raise ValueError("log entry: seq must be in [1, 2**64) and time in [0, 2**64)")

    def struct_hash(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "address", "bytes32", "uint64", "bytes32", "bytes32", "uint64"],
                [LOG_ENTRY_TYPEHASH, self.node, self.room, self.seq, self.prev, self.body, self.time],
            )
        )

    def digest(self, domain: Domain) -> bytes:
        return keccak(b"\x19\x01" + domain.separator() + self.struct_hash())

    def as_message(self) -> dict[str, Any]:
        """The typed-data message (for eth_account / wallets / other clients)."""
        return {
            "node": to_checksum_address(self.node),
            "room": self.room,
            "seq": self.seq,
            "prev": self.prev,
            "body": self.body,
            "time": self.time,
        }

    def as_tuple(self) -> tuple[str, bytes, int, bytes, bytes, int]:
        """The ABI tuple the Disputes contract takes."""
        return (to_checksum_address(self.node), self.room, self.seq, self.prev, self.body, self.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "node": to_checksum_address(self.node),
            "room": "0x" + self.room.hex(),
            "seq": self.seq,
            "prev": "0x" + self.prev.hex(),
            "body": "0x" + self.body.hex(),
            "time": self.time,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LogEntry:
        """Parse a JSON entry; raises ValueError with the field at fault."""
        try:
            return cls(
                node=to_checksum_address(str(raw["node"])),
                room=bytes.fromhex(str(raw["room"]).removeprefix("0x")),
                seq=int(raw["seq"]),
                prev=bytes.fromhex(str(raw["prev"]).removeprefix("0x")),
                body=bytes.fromhex(str(raw["body"]).removeprefix("0x")),
                time=int(raw["time"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"log entry: missing or malformed field {exc}") from None


def sign_log_entry(private_key: bytes, domain: Domain, entry: LogEntry) -> Signature:
    """Sign with libsecp256k1: low-s, v in {27, 28}."""
    raw = PrivateKey(private_key).sign_recoverable(entry.digest(domain), hasher=None)
    return Signature(raw[64] + 27, raw[:32], raw[32:64])


def log_entry_signer(domain: Domain, entry: LogEntry, sig: Signature) -> str:
    """The address that signed `entry`; ValueError for a high-s or malformed signature."""
    if sig.v not in (27, 28) or int.from_bytes(sig.s, "big") > SECP256K1_N // 2:
        raise ValueError("log entry: signature must be low-s with v 27 or 28")
    return recover(entry.digest(domain), sig)
