"""A member's grant to read one room's signed history at one relay: the `HistoryGrant` EIP-712 type.

A relay answers `history` for a direct room only to the room's two members, and `room-history` for a
community room only to the community's members. A member who flags the relay for withholding that
room's history (clubchat.disputes.evidence) signs a grant with its wallet key, so that the reviewers
can ask the relay for the very room the flag is about:

    HistoryGrant(address node,bytes32 room,address granter,address grantee,uint64 expiry)

in the domain {name: "Club Chat History Grant", version: "1", chainId, verifyingContract: Disputes}.
`node` is the relay's operator (a grant is good at that relay only), `room` the room
(`clubchat.protocol.log_entry.direct_room`, or a community room's id), `granter` the member who
signs (named, so a contract wallet's EIP-1271 signature can be checked: it recovers to no address),
`grantee` the one address that may use it, or the zero address for whoever presents it, and
`expiry` unix seconds.

A flag's grant names the zero address. The panel is drawn after the flag from randomness fixed
after it, so the flagger cannot name the reviewers when it signs, and a grant per reviewer would
need the flagger online after the draw; reviewers probe from fresh wallets. What a grant opens is
the room's log entries only (seqs, times, hashes of the envelopes: never an envelope's text), most
of which the evidence file shows anyway; it ends at `expiry`, which the flag sets to cover the
review. A grant that names a grantee is refused to anyone else.

On the wire the grant rides in the `history` frame (`grant`), with `peer` the room's other member:
the relay checks that `room` is the direct room of `granter` and `peer` (the granter is a member),
that `node` is its operator, the grantee, the expiry, and the signature (EOA recovery, else
EIP-1271 through the relay's verifier, as sign-in does), and answers `entries` as to a member, or
`bad-grant` with the reason. For a community room the grant rides in `room-history` (`grant`) and its
`room` is the room's id (clubchat.protocol.room_frames.room_id): the relay checks the same, with
`room` the id of the room asked for and the granter a member of the community now (as for a
`room-join`), and answers `room-entries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import SECP256K1_N, Domain, Signature, recover, typed_data, typed_data_digest
from clubchat.protocol.codec import spec
from clubchat.protocol.wire import ADDRESS_PATTERN, BYTES32_PATTERN, MAX_SIGNATURE_HEX

GRANT_TYPE = "HistoryGrant(address node,bytes32 room,address granter,address grantee,uint64 expiry)"
GRANT_TYPEHASH = keccak(text=GRANT_TYPE)
GRANT_DOMAIN_NAME = "Club Chat History Grant"
GRANT_DOMAIN_VERSION = "1"
ANYONE = "0x0000000000000000000000000000000000000000"  # grantee: whoever presents the grant
# 65 bytes (r || s || v) from a key; a contract wallet's may be longer (owners' signatures)
GRANT_SIGNATURE_PATTERN = rf"0x(?:[0-9a-fA-F]{{2}}){{65,{MAX_SIGNATURE_HEX // 2}}}"

GRANT_FIELDS = [
    {"name": "node", "type": "address"},
    {"name": "room", "type": "bytes32"},
    {"name": "granter", "type": "address"},
    {"name": "grantee", "type": "address"},
    {"name": "expiry", "type": "uint64"},
]

GRANT_ERROR_CODES = {
    "bad-grant": "the history grant is not signed by its granter, expired, not for this relay or"
    " requester, or its granter is not a member of the room",
}


def grant_domain(chain_id: int, disputes: str) -> Domain:
    """The grant domain: verifyingContract is the deployment's Disputes contract."""
    return Domain(GRANT_DOMAIN_NAME, GRANT_DOMAIN_VERSION, chain_id, to_checksum_address(disputes))


@dataclass(frozen=True)
class HistoryGrant:
    """What the granter signs."""

    node: str
    room: bytes
    granter: str
    grantee: str
    expiry: int

    def __post_init__(self) -> None:
        if len(self.room) != 32:
            raise ValueError("history grant: room must be 32 bytes")
        if not 0 <= self.expiry < 2**64:
            raise ValueError("history grant: expiry must be in [0, 2**64)")

    def struct_hash(self) -> bytes:
        return keccak(
            encode(
                ["bytes32", "address", "bytes32", "address", "address", "uint64"],
                [GRANT_TYPEHASH, self.node, self.room, self.granter, self.grantee, self.expiry],
            )
        )

    def digest(self, domain: Domain) -> bytes:
        return typed_data_digest(domain, self.struct_hash())

    def typed_data(self, domain: Domain) -> dict[str, Any]:
        """The full EIP-712 message a wallet signs (`eth_signTypedData_v4`)."""
        message = {
            "node": to_checksum_address(self.node),
            "room": self.room,
            "granter": to_checksum_address(self.granter),
            "grantee": to_checksum_address(self.grantee),
            "expiry": self.expiry,
        }
        return typed_data(domain, "HistoryGrant", GRANT_FIELDS, message)

    def for_anyone(self) -> bool:
        return int(self.grantee, 16) == 0


@dataclass(frozen=True)
class Grant:
    """A signed `HistoryGrant` on the wire (in `history.grant` and in flag evidence)."""

    node: str = spec(pattern=ADDRESS_PATTERN)
    room: str = spec(pattern=BYTES32_PATTERN)
    granter: str = spec(pattern=ADDRESS_PATTERN)
    grantee: str = spec(pattern=ADDRESS_PATTERN)
    expiry: int = spec(minimum=0, maximum=2**53)
    sig: str = spec(pattern=GRANT_SIGNATURE_PATTERN)

    @property
    def grant(self) -> HistoryGrant:
        return HistoryGrant(
            to_checksum_address(self.node),
            bytes.fromhex(self.room[2:]),
            to_checksum_address(self.granter),
            to_checksum_address(self.grantee),
            self.expiry,
        )

    @property
    def signature(self) -> bytes:
        return bytes.fromhex(self.sig[2:])

    @classmethod
    def of(cls, grant: HistoryGrant, sig: bytes) -> Grant:
        return cls(
            to_checksum_address(grant.node),
            "0x" + grant.room.hex(),
            to_checksum_address(grant.granter),
            to_checksum_address(grant.grantee),
            grant.expiry,
            "0x" + sig.hex(),
        )


def eoa_signer(grant: HistoryGrant, domain: Domain, sig: bytes) -> str | None:
    """The key that signed a 65-byte low-s signature over `grant`, or None (not such a signature)."""
    if len(sig) != 65:
        return None
    s = Signature(sig[64] if sig[64] >= 27 else sig[64] + 27, sig[:32], sig[32:64])
    if s.v not in (27, 28) or int.from_bytes(s.s, "big") > SECP256K1_N // 2:
        return None
    try:
        return recover(grant.digest(domain), s)
    except Exception:  # r or s out of range, no point recovers
        return None
