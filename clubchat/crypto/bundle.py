"""Statements that bind a device's keys to a wallet, and their checks.

A device holds an X25519 identity key (HPKE auth-mode sender key) and an Ed25519 key (signs the
device's rotating prekeys). The wallet signs a text statement naming both, its address, chain id,
issue and expiry time, with EIP-191 `personal_sign` (EOAs) or so that its EIP-1271
`isValidSignature` accepts the statement's EIP-191 hash (contract wallets): exactly how sign-in is
verified (clubchat.protocol.siwe). The X25519 prekey that senders encrypt to is signed by the
Ed25519 key (`prekey_message`), so rotating it needs no wallet prompt.

A wallet revokes an identity key with a second statement naming the key id; a relay serves the
revocations of an address with its bundle, and clients refuse bundles that use a revoked key.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_utils import is_checksum_address

from clubchat.protocol import messages as m
from clubchat.protocol.siwe import CLOCK_SKEW_SECONDS, ContractWalletVerifier, recover_signer, sign_in_hash

BUNDLE_TITLE = "Club Chat messaging keys"
REVOCATION_TITLE = "Club Chat messaging key revocation"
MAX_BUNDLE_LIFETIME = 2 * 365 * 86_400  # a wallet re-binds its device keys at least every two years

_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
_BUNDLE = re.compile(
    BUNDLE_TITLE + r"\n"
    r"Address: (?P<address>0x[0-9a-fA-F]{40})\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,16})\n"
    r"X25519: (?P<x25519>[0-9a-f]{64})\n"
    r"Ed25519: (?P<ed25519>[0-9a-f]{64})\n"
    rf"Issued At: (?P<issued_at>{_TIME})\n"
    rf"Expiration Time: (?P<expires_at>{_TIME})"
)
_REVOCATION = re.compile(
    REVOCATION_TITLE + r"\n"
    r"Address: (?P<address>0x[0-9a-fA-F]{40})\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,16})\n"
    r"Key ID: (?P<key_id>[0-9a-f]{16})\n"
    rf"Revoked At: (?P<revoked_at>{_TIME})"
)


class KeyBundleError(ValueError):
    """A key bundle or revocation is malformed, for another address or chain, expired, revoked, or not
    signed by its wallet; the message says which."""


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _text(title: str, *lines: tuple[str, str]) -> str:
    """A statement's text: its title, then one `Name: value` line per field."""
    return "\n".join([title, *(f"{name}: {value}" for name, value in lines)])


def key_id(x25519: bytes, ed25519: bytes) -> str:
    """16 hex digits naming an identity key pair (what `sealed.skid` and revocations refer to)."""
    return hashlib.sha256(b"clubchat identity" + x25519 + ed25519).hexdigest()[:16]


def prekey_id(prekey: bytes) -> str:
    """16 hex digits naming a prekey (what `sealed.kid` refers to)."""
    return hashlib.sha256(b"clubchat prekey" + prekey).hexdigest()[:16]


def prekey_message(identity: str, prekey: bytes, expires: int) -> bytes:
    """What the Ed25519 key signs to vouch for a prekey: its identity key id, the key, its expiry."""
    return b"clubchat prekey v1|" + identity.encode() + b"|" + prekey + expires.to_bytes(8, "big")


def one_time_message(identity: str, key: bytes) -> bytes:
    """What the Ed25519 key signs to vouch for a one-time prekey: its identity key id and the key."""
    return b"clubchat one-time prekey v1|" + identity.encode() + b"|" + key


def verify_one_time(statement: KeyStatement, one_time: m.OneTimePrekey) -> bytes:
    """The X25519 key of a one-time prekey signed by `statement`'s Ed25519 key; raises KeyBundleError."""
    try:
        key = bytes.fromhex(one_time.key)
        Ed25519PublicKey.from_public_bytes(statement.ed25519).verify(
            bytes.fromhex(one_time.signature), one_time_message(statement.key_id, key)
        )
    except (InvalidSignature, ValueError):
        raise KeyBundleError("the one-time prekey is not signed by the bundle's Ed25519 key") from None
    return key


@dataclass(frozen=True)
class KeyStatement:
    """What a wallet signs to bind a device's keys."""

    address: str  # EIP-55
    chain_id: int
    x25519: bytes
    ed25519: bytes
    issued_at: int
    expires_at: int

    @property
    def key_id(self) -> str:
        return key_id(self.x25519, self.ed25519)

    def text(self) -> str:
        return _text(
            BUNDLE_TITLE,
            ("Address", self.address),
            ("Chain ID", str(self.chain_id)),
            ("X25519", self.x25519.hex()),
            ("Ed25519", self.ed25519.hex()),
            ("Issued At", iso(self.issued_at)),
            ("Expiration Time", iso(self.expires_at)),
        )

    @classmethod
    def parse(cls, text: str) -> KeyStatement:
        found = _BUNDLE.fullmatch(text)
        if found is None:
            raise KeyBundleError("the key statement is not a Club Chat key statement of the expected form")
        if not is_checksum_address(found["address"]):
            raise KeyBundleError("the address in the key statement must be EIP-55 checksummed")
        return cls(
            found["address"],
            int(found["chain_id"]),
            bytes.fromhex(found["x25519"]),
            bytes.fromhex(found["ed25519"]),
            _time(found["issued_at"]),
            _time(found["expires_at"]),
        )


@dataclass(frozen=True)
class RevocationStatement:
    """What a wallet signs to revoke one of its identity keys."""

    address: str
    chain_id: int
    key_id: str
    revoked_at: int

    def text(self) -> str:
        return _text(
            REVOCATION_TITLE,
            ("Address", self.address),
            ("Chain ID", str(self.chain_id)),
            ("Key ID", self.key_id),
            ("Revoked At", iso(self.revoked_at)),
        )

    @classmethod
    def parse(cls, text: str) -> RevocationStatement:
        found = _REVOCATION.fullmatch(text)
        if found is None or not is_checksum_address(found["address"]):
            raise KeyBundleError("the revocation is not a Club Chat key revocation of the expected form")
        return cls(found["address"], int(found["chain_id"]), found["key_id"], _time(found["revoked_at"]))


@dataclass(frozen=True)
class VerifiedBundle:
    """A key bundle whose wallet signature, times and prekey signature were checked."""

    statement: KeyStatement
    prekey: bytes
    prekey_expires: int
    wire: m.KeyBundle

    @property
    def address(self) -> str:
        return self.statement.address

    @property
    def key_id(self) -> str:
        return self.statement.key_id

    @property
    def prekey_id(self) -> str:
        return prekey_id(self.prekey)


def _signature(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text[2:])


async def wallet_signed(
    address: str, text: str, signature: bytes, verifier: ContractWalletVerifier | None
) -> bool:
    """True when `address` signed `text`: EIP-191 recovery for an EOA, else EIP-1271 through `verifier`
    on the EIP-191 hash (the same two paths as sign-in)."""
    if recover_signer(text, signature) == address:
        return True
    return verifier is not None and await verifier.is_valid_signature(address, sign_in_hash(text), signature)


async def verify_bundle(
    bundle: m.KeyBundle,
    *,
    address: str,
    chain_id: int,
    now: int,
    verifier: ContractWalletVerifier | None = None,
    revoked: frozenset[str] = frozenset(),
    prekey_needed: bool = True,
) -> VerifiedBundle:
    """Check a key bundle completely for `address`; raises KeyBundleError with the reason. With
    `prekey_needed` False (to check who sealed a received payload: only the identity key counts) an
    expired prekey is accepted; its signature is still checked."""
    st = KeyStatement.parse(bundle.statement)
    if st.address.lower() != address.lower():
        raise KeyBundleError(f"the key bundle binds keys to {st.address}, not to {address}")
    if st.chain_id != chain_id:
        raise KeyBundleError(f"the key bundle is for chain {st.chain_id}, not chain {chain_id}")
    if st.issued_at > now + CLOCK_SKEW_SECONDS:
        raise KeyBundleError("the key bundle is issued in the future; check the clock")
    if st.expires_at <= now:
        raise KeyBundleError(f"the key bundle of {st.address} expired at {iso(st.expires_at)}")
    if st.expires_at - st.issued_at > MAX_BUNDLE_LIFETIME:
        raise KeyBundleError("the key bundle lives longer than two years; bind the keys again")
    if st.key_id in revoked:
        raise KeyBundleError(f"the identity key {st.key_id} of {st.address} is revoked")
    if prekey_needed and bundle.prekey_expires <= now:
        raise KeyBundleError(f"the prekey of {st.address} expired at {iso(bundle.prekey_expires)}")
    prekey = bytes.fromhex(bundle.prekey)
    try:
        Ed25519PublicKey.from_public_bytes(st.ed25519).verify(
            bytes.fromhex(bundle.prekey_signature), prekey_message(st.key_id, prekey, bundle.prekey_expires)
        )
    except (InvalidSignature, ValueError):
        raise KeyBundleError("the prekey is not signed by the bundle's Ed25519 key") from None
    if not await wallet_signed(st.address, bundle.statement, _signature(bundle.signature), verifier):
        raise KeyBundleError(
            f"the key statement is not signed by {st.address} (EOA signature or EIP-1271 contract wallet)"
        )
    return VerifiedBundle(st, prekey, bundle.prekey_expires, bundle)


async def verify_revocation(
    revocation: m.Revocation,
    *,
    address: str,
    chain_id: int,
    verifier: ContractWalletVerifier | None = None,
) -> RevocationStatement:
    """Check a revocation for `address`; raises KeyBundleError with the reason."""
    st = RevocationStatement.parse(revocation.statement)
    if st.address.lower() != address.lower() or st.chain_id != chain_id:
        raise KeyBundleError(f"the revocation is for {st.address} on chain {st.chain_id}, not {address}")
    if not await wallet_signed(st.address, revocation.statement, _signature(revocation.signature), verifier):
        raise KeyBundleError(f"the revocation is not signed by {st.address}")
    return st
