"""The relay-log EIP-712 type: hand-built digest == eth_account's encoder, low-s signatures, room ids."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from clubchat.chain.eip712 import SECP256K1_N
from clubchat.protocol.log_entry import (
    LOG_ENTRY_FIELDS,
    LOG_ENTRY_TYPE,
    ZERO32,
    LogEntry,
    direct_room,
    log_domain,
    log_entry_signer,
    sign_log_entry,
)

DISPUTES = "0x" + "ab" * 20
relay_key = Account.from_key(b"\x11" * 32)
domain_fields = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _entry(seq: int = 1, body: bytes = b"\x02" * 32) -> LogEntry:
    return LogEntry(
        node="0x" + "12" * 20, room=b"\x01" * 32, seq=seq, prev=ZERO32, body=body, time=1_700_000_000
    )


def test_type_string_is_the_public_interface():
    assert (
        LOG_ENTRY_TYPE
        == "LogEntry(address node,bytes32 room,uint64 seq,bytes32 prev,bytes32 body,uint64 time)"
    )


@given(
    seq=st.integers(1, 2**64 - 1), body=st.binary(min_size=32, max_size=32), chain_id=st.integers(1, 2**32)
)
def test_digest_matches_eth_account_encoder_and_signature_is_low_s(seq, body, chain_id):
    entry = _entry(seq, body)
    domain = log_domain(chain_id, DISPUTES)
    signed = relay_key.sign_typed_data(
        full_message={
            "types": {"EIP712Domain": domain_fields, "LogEntry": LOG_ENTRY_FIELDS},
            "primaryType": "LogEntry",
            "domain": domain.as_typed_data(),
            "message": entry.as_message(),
        }
    )
    assert signed.message_hash == entry.digest(domain)
    sig = sign_log_entry(relay_key.key, domain, entry)
    assert int.from_bytes(sig.s, "big") <= SECP256K1_N // 2
    assert log_entry_signer(domain, entry, sig) == relay_key.address


def test_high_s_twin_is_refused():
    domain = log_domain(1, DISPUTES)
    sig = sign_log_entry(relay_key.key, domain, _entry())
    with pytest.raises(ValueError, match="low-s"):
        log_entry_signer(domain, _entry(), sig.malleable_twin())


def test_json_round_trip_and_bad_fields():
    entry = _entry(7)
    assert LogEntry.from_json(entry.to_json()) == entry
    with pytest.raises(ValueError, match="seq"):
        _entry(0)
    with pytest.raises(ValueError, match="room"):
        LogEntry(node=entry.node, room=b"\x01", seq=1, prev=ZERO32, body=ZERO32, time=0)
    with pytest.raises(ValueError, match="missing"):
        LogEntry.from_json({"node": entry.node})


def test_direct_room_is_order_independent():
    a, b = "0x" + "0a" * 20, "0x" + "B0" * 20
    assert (
        direct_room(a, b) == direct_room(b, a) == keccak(bytes.fromhex("0a" * 20) + bytes.fromhex("b0" * 20))
    )
