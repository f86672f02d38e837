"""Signing helpers for the tests: named EOA signers, and the package's EIP-712 helpers re-exported."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.chain.eip712 import (
    Domain,
    Signature,
    delegation_digest,
    permit_digest,
    recover,
    sign_delegation,
    sign_permit,
)

__all__ = [
    "Domain",
    "Signature",
    "delegation_digest",
    "named_signer",
    "permit_digest",
    "recover",
    "sign_delegation",
    "sign_permit",
]


def named_signer(name: str) -> LocalAccount:
    """A deterministic EOA with a private key, for actors that must sign (boa's actors have none)."""
    return Account.from_key(keccak(text=f"clubchat-tests:{name}"))
