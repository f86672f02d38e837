"""The user's signed ad setting: opt in to (or out of) ad notifications from NOTIFY nodes.

EIP-712 in the AdMarket domain {name: "AdMarket", version: "1", chainId, verifyingContract}:

    AdPreference(address user,bool enabled,uint256 issued)

`issued` (unix seconds) orders a user's settings: a node keeps the newest it was shown and
ignores older ones, so a stale opt-in cannot be replayed over a later opt-out. The setting is not
bound to one node: the client sends the same signed frame to every NOTIFY node it uses. Nothing
on chain reads it (a node that delivers to an opted-out user gets no receipt for it: the user's
client signs nothing while opted out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import SECP256K1_N, Domain, Signature, recover, typed_data, typed_data_digest

PREFERENCE_TYPE = "AdPreference(address user,bool enabled,uint256 issued)"
_PREFERENCE_FIELDS = [
    {"name": "user", "type": "address"},
    {"name": "enabled", "type": "bool"},
    {"name": "issued", "type": "uint256"},
]


@dataclass(frozen=True)
class AdPreference:
    """`user` does (`enabled`) or does not want ad notifications, as of `issued` (unix seconds)."""

    user: str
    enabled: bool
    issued: int

    def message(self) -> dict[str, object]:
        return {"user": to_checksum_address(self.user), "enabled": self.enabled, "issued": self.issued}


def preference_digest(domain: Domain, pref: AdPreference) -> bytes:
    """The EIP-712 digest of `pref`, computed from the spec."""
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "bool", "uint256"],
            [keccak(text=PREFERENCE_TYPE), pref.user, pref.enabled, pref.issued],
        )
    )
    return typed_data_digest(domain, struct_hash)


def preference_typed_data(domain: Domain, pref: AdPreference) -> dict[str, Any]:
    """`pref` as EIP-712 typed data (what a wallet's `eth_signTypedData_v4` takes)."""
    return typed_data(domain, "AdPreference", _PREFERENCE_FIELDS, pref.message())


def sign_preference(private_key: bytes, domain: Domain, pref: AdPreference) -> bytes:
    """Sign `pref` (low-s, v in {27, 28}); returns the 65 bytes r || s || v."""
    raw = PrivateKey(private_key).sign_recoverable(preference_digest(domain, pref), hasher=None)
    return raw[:64] + bytes([raw[64] + 27])


def low_s_signer(digest: bytes, sig: bytes) -> str | None:
    """The address that made the 65-byte low-s signature `sig` of `digest`, or None if it is none."""
    if len(sig) != 65 or sig[64] not in (27, 28) or int.from_bytes(sig[32:64], "big") > SECP256K1_N // 2:
        return None
    try:
        return recover(digest, Signature(sig[64], sig[:32], sig[32:64]))
    except Exception:  # an invalid point: not a signature of anyone
        return None


def signed_by(domain: Domain, pref: AdPreference, sig: bytes) -> bool:
    """True when `sig` is `pref.user`'s ECDSA signature of `pref`."""
    signer = low_s_signer(preference_digest(domain, pref), sig)
    return signer is not None and signer.lower() == pref.user.lower()
