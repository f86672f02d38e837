"""The NOTIFY node's receipt store: only the user's own, monotonic receipts, durable on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from clubchat.ads.receipt_store import ReceiptStore, signed_by_user
from clubchat.ads.receipts import Receipt, SignedReceipt, sign_receipt
from clubchat.chain.eip712 import Domain
from tests.utils.signing import named_signer

DOMAIN = Domain("AdMarket", "1", 31337, "0x" + "42" * 20)
NODE = to_checksum_address("0x" + "0a" * 20)
USER = named_signer("store-user")
MALLORY = named_signer("store-mallory")


def _signed(count: int, signer=USER, campaign: int = 1) -> SignedReceipt:
    receipt = Receipt(campaign, USER.address, NODE, count)
    return SignedReceipt(receipt, sign_receipt(signer.key, DOMAIN, receipt).packed(), target=2)


@pytest.fixture
def store(tmp_path: Path):
    s = ReceiptStore(tmp_path / "receipts.sqlite", DOMAIN)
    yield s
    s.close()


def test_keeps_the_highest_receipt(store):
    assert store.add(_signed(3))
    assert not store.add(_signed(3))  # replay
    assert not store.add(_signed(2))  # lower
    assert store.add(_signed(5))
    (kept,) = store.receipts(NODE)
    assert kept.receipt.count == 5 and kept.target == 2
    assert kept == _signed(5)


def test_refuses_receipts_not_signed_by_the_user(store):
    assert not store.add(_signed(3, signer=MALLORY))
    assert not signed_by_user(DOMAIN, _signed(3, signer=MALLORY))
    high_s = _signed(3)
    sig = sign_receipt(USER.key, DOMAIN, high_s.receipt).malleable_twin().packed()
    assert not store.add(SignedReceipt(high_s.receipt, sig))
    assert not store.add(SignedReceipt(high_s.receipt, b"\x00" * 65))
    assert store.receipts(NODE) == []


def test_contract_wallet_receipts_are_stored_unverified(store):
    receipt = Receipt(1, to_checksum_address("0x" + "0b" * 20), NODE, 4)
    assert not store.add(SignedReceipt(receipt, b"\x01" * 65))
    assert store.add(SignedReceipt(receipt, b"\x01" * 65), contract_wallet=True)
    assert [r.receipt for r in store.receipts(NODE)] == [receipt]


def test_survives_reopening(tmp_path: Path):
    path = tmp_path / "receipts.sqlite"
    first = ReceiptStore(path, DOMAIN)
    first.add(_signed(7))
    first.add(_signed(2, campaign=9))
    del first  # no close: what was acknowledged is already committed
    again = ReceiptStore(path, DOMAIN)
    assert [(r.receipt.campaign, r.receipt.count) for r in again.receipts(NODE)] == [(1, 7), (9, 2)]
    again.forget(Receipt(1, USER.address, NODE, 7))
    assert [r.receipt.campaign for r in again.receipts(NODE)] == [9]
    again.close()


def test_forget_keeps_a_newer_receipt(store):
    store.add(_signed(7))
    store.forget(Receipt(1, USER.address, NODE, 6))
    assert [r.receipt.count for r in store.receipts(NODE)] == [7]
