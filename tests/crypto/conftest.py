"""Devices for the crypto tests: named wallets, keys bound on chain 31337 at a fixed time."""

from __future__ import annotations

from dataclasses import fields

from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.crypto.bundle import VerifiedBundle, verify_bundle
from clubchat.crypto.device import DeviceKeys
from clubchat.protocol import messages as m
from tests.node.harness import run

CHAIN_ID = 31337
NOW = 1_800_000_000

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
mallory = Account.from_key("0x" + "e5" * 32)


def device(account: LocalAccount, now: int = NOW) -> DeviceKeys:
    return DeviceKeys.create(account, CHAIN_ID, now)


def verified(keys: DeviceKeys, now: int = NOW) -> VerifiedBundle:
    return run(verify_bundle(keys.bundle(), address=keys.address, chain_id=CHAIN_ID, now=now))


def as_kind(cls: type[m.Sealed], sealed: m.Sealed) -> m.Sealed:
    """`sealed` relabelled as the other kind of seal (what a relay could try)."""
    return cls(**{f.name: getattr(sealed, f.name) for f in fields(sealed)})
