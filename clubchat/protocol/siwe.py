"""Sign-In with Ethereum (EIP-4361) messages bound to one relay, and their verification.

A relay sends a `challenge` (nonce, its endpoint URI, chain id, longest accepted lifetime). The
client answers with an EIP-4361 message whose `domain` is the relay's host:port, whose `URI` is the
relay's endpoint, with the relay's chain id and nonce and an expiration time, signed with EIP-191
`personal_sign`. Contract wallets (EIP-1271) cannot recover to their own address; for them the
relay asks an injected `ContractWalletVerifier` whether `isValidSignature(hash, signature)` holds
on-chain, where `hash` is the EIP-191 hash of the message (as EIP-4361 prescribes).
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from coincurve import PublicKey
from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_utils import is_checksum_address, keccak, to_checksum_address

STATEMENT = "Sign in to a Club Chat node."
CLOCK_SKEW_SECONDS = 60
_NONCE_ALPHABET = string.ascii_letters + string.digits
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # group order

_MESSAGE = re.compile(
    r"(?P<domain>[^\s/]+) wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]+)\n)?"
    r"\n"
    r"URI: (?P<uri>[^\s]+)\n"
    r"Version: (?P<version>1)\n"
    r"Chain ID: (?P<chain_id>[0-9]{1,16})\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,64})\n"
    r"Issued At: (?P<issued_at>[0-9T:.+Z-]{20,40})\n"
    r"Expiration Time: (?P<expiration_time>[0-9T:.+Z-]{20,40})"
)


class SignInError(ValueError):
    """A sign-in message is malformed, bound to something else, expired or wrongly signed."""


class ContractWalletVerifier(Protocol):
    """Answers EIP-1271 `isValidSignature` for a contract wallet (on-chain, via the node's RPC)."""

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        """True when `wallet` has code and returns the EIP-1271 magic value for this hash and signature."""
        ...


def new_nonce() -> str:
    """A fresh 17-character alphanumeric nonce (EIP-4361 asks for at least 8; ~101 bits here)."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(17))


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise SignInError(f"{text!r} is not an RFC 3339 time") from None


@dataclass(frozen=True)
class SiweMessage:
    """The fields of an EIP-4361 message that Club Chat uses."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: int
    expiration_time: int
    statement: str | None = STATEMENT

    def text(self) -> str:
        """The exact text that gets signed (EIP-4361 ABNF, optional fields left out)."""
        lines = [f"{self.domain} wants you to sign in with your Ethereum account:", self.address, ""]
        if self.statement:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            "Version: 1",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_iso(self.issued_at)}",
            f"Expiration Time: {_iso(self.expiration_time)}",
        ]
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        """Parse the text of a message; raises SignInError on anything but the exact grammar."""
        m = _MESSAGE.fullmatch(text)
        if m is None:
            raise SignInError("the sign-in message is not an EIP-4361 message of the expected form")
        address = m["address"]
        if not is_checksum_address(address):
            raise SignInError("the address in the sign-in message must be EIP-55 checksummed")
        return cls(
            domain=m["domain"],
            address=address,
            uri=m["uri"],
            chain_id=int(m["chain_id"]),
            nonce=m["nonce"],
            issued_at=_parse_time(m["issued_at"]),
            expiration_time=_parse_time(m["expiration_time"]),
            statement=m["statement"],
        )


def domain_of(uri: str) -> str:
    """The EIP-4361 `domain` (authority) of a relay endpoint URI."""
    netloc = urlsplit(uri).netloc
    if not netloc:
        raise ValueError(f"{uri!r} is not an absolute URI")
    return netloc


def build_sign_in(address: str, uri: str, chain_id: int, nonce: str, now: int, ttl: int) -> SiweMessage:
    """The message a client signs to sign in to the relay at `uri`, valid for `ttl` seconds."""
    return SiweMessage(
        domain=domain_of(uri),
        address=to_checksum_address(address),
        uri=uri,
        chain_id=chain_id,
        nonce=nonce,
        issued_at=now,
        expiration_time=now + ttl,
    )


def sign_in_hash(text: str) -> bytes:
    """EIP-191 (`personal_sign`) hash of a sign-in message: what EOAs and EIP-1271 wallets sign."""
    return bytes(_hash_eip191_message(encode_defunct(text=text)))


def check_binding(msg: SiweMessage, *, uri: str, chain_id: int, nonce: str, now: int, max_ttl: int) -> None:
    """Raise SignInError unless `msg` is bound to this relay, chain and nonce and is valid at `now`."""
    if msg.uri != uri or msg.domain != domain_of(uri):
        raise SignInError(f"the sign-in message is for {msg.uri}, not this relay ({uri})")
    if msg.chain_id != chain_id:
        raise SignInError(f"the sign-in message is for chain {msg.chain_id}, this relay serves {chain_id}")
    if not secrets.compare_digest(msg.nonce, nonce):
        raise SignInError("the sign-in message does not carry this connection's nonce")
    if msg.issued_at > now + CLOCK_SKEW_SECONDS:
        raise SignInError("the sign-in message is issued in the future; check the clock")
    if msg.expiration_time <= now:
        raise SignInError("the sign-in message has expired; sign a new one")
    if msg.expiration_time - max(msg.issued_at, now - CLOCK_SKEW_SECONDS) > max_ttl + CLOCK_SKEW_SECONDS:
        raise SignInError(f"the sign-in message lives longer than this relay accepts ({max_ttl} s)")


def canonical_signature(signature: bytes) -> bool:
    """True for the one accepted form of a 65-byte signature: r || s || v with v = 27 or 28 (what
    `personal_sign` returns) and a low s (s <= n/2, EIP-2). Its malleable twin (n - s, other v) and
    the v = 0/1 spelling recover the same signer; refusing them leaves one form per signature."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        return False
    return 0 < int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2


def recover_signer(text: str, signature: bytes) -> str | None:
    """The EOA that produced an EIP-191 signature of `text`, or None if it is not a valid one.

    Uses libsecp256k1 (coincurve) for the public-key recovery: ~0.1 ms instead of eth_keys'
    pure-Python ~10-25 ms, so a relay can verify sign-ins on its event loop. Only the canonical form
    is accepted (`canonical_signature`); otherwise the same acceptance as eth_keys' pure-Python
    recovery (tests/node/test_siwe.py compares them on edited signatures).
    """
    if not canonical_signature(signature):
        return None
    try:
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes((signature[64] - 27,)), sign_in_hash(text), hasher=None
        )
    except ValueError:  # r out of range, or no curve point recovers
        return None
    return str(to_checksum_address(keccak(public.format(compressed=False)[1:])[12:]))


async def verify_sign_in(
    text: str,
    signature: bytes,
    *,
    uri: str,
    chain_id: int,
    nonce: str,
    now: int,
    max_ttl: int,
    verifier: ContractWalletVerifier | None = None,
    recover: Callable[[str, bytes], Awaitable[str | None]] | None = None,
) -> SiweMessage:
    """Check a sign-in completely and return the message; raises SignInError with the reason.

    The EOA path recovers the signer; when it is not the message's address, a contract wallet is
    checked with `verifier` (EIP-1271). `recover` lets the caller run recovery off the event loop.
    """
    msg = SiweMessage.parse(text)
    check_binding(msg, uri=uri, chain_id=chain_id, nonce=nonce, now=now, max_ttl=max_ttl)
    signer = await recover(text, signature) if recover is not None else recover_signer(text, signature)
    if signer is not None and signer == msg.address:
        return msg
    if verifier is not None and await verifier.is_valid_signature(msg.address, sign_in_hash(text), signature):
        return msg
    raise SignInError("the signature is not the address's (EOA signature or EIP-1271 contract wallet)")
