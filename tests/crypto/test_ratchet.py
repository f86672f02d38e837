"""The Double Ratchet state machine on its own: messages in order, out of order and across DH steps
open; skipped keys are bounded; a replay, a tampered header or ciphertext and a message from too far
ahead are refused and leave the state as it was; a copied state stops opening once both sides
stepped (post-compromise security) and never opens what it already opened (forward secrecy)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import random
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto import ratchet as r
from clubchat.crypto.ratchet import Header, Ratchet, RatchetError, _new_pair

AD = b"associated data"


def pair() -> tuple[Ratchet, Ratchet]:
    """(initiator Alice, responder Bob) sharing a secret; Bob's first ratchet key is his prekey."""
    sk = os.urandom(32)
    private, public = _new_pair()
    return Ratchet.initiator(sk, public), Ratchet.responder(sk, private, public)


def started() -> tuple[Ratchet, Ratchet, tuple[bytes, bytes]]:
    """A pair after Bob opened Alice's first message (returned too)."""
    alice, bob = pair()
    first = alice.encrypt(b"first", AD)
    bob.decrypt(*first, AD)
    return alice, bob, first


def _pn_n(turn: int, i: int) -> tuple[int, int]:
    """(previous chain length, number) of message i in `turn` of three messages per turn."""
    return (0 if turn < 2 else 3), i


def test_a_conversation_in_order_opens_and_every_reply_steps_the_ratchet() -> None:
    alice, bob = pair()
    assert not bob.can_send  # the responder sends only after it received
    keys = set()
    for turn in range(6):  # bound: six turns, three messages each
        sender, receiver = (alice, bob) if turn % 2 == 0 else (bob, alice)
        for i in range(3):
            text = f"turn {turn} message {i}".encode()
            header, ct = sender.encrypt(text, AD)
            assert sender.hks is not None and r._hdecrypt(sender.hks, header) == Header(
                sender.dhs_public, *_pn_n(turn, i)
            )
            assert sender.dhs_public not in header  # the ratchet key travels encrypted
            assert receiver.decrypt(header, ct, AD) == text
        keys.add(sender.dhs_public)
    assert len(keys) == 6  # a fresh ratchet key per turn
    assert not alice.skipped and not bob.skipped


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 written out with hmac, to check the ratchet's KDFs against an independent version."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for i in range(1, -(-length // 32) + 1):  # bound: two or three blocks
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
    return out[:length]


def test_the_kdf_chains_match_the_specification() -> None:
    """Chain step: HMAC-SHA256 of the chain key with 0x02 (next chain key) and 0x01 (message key);
    root step: HKDF-SHA256 salted with the root key; message key: HKDF to key and nonce."""
    ck, mk = r._kdf_ck(b"\x07" * 32)
    assert ck == hmac.new(b"\x07" * 32, b"\x02", hashlib.sha256).digest()
    assert mk == hmac.new(b"\x07" * 32, b"\x01", hashlib.sha256).digest()
    rk, chain, next_header_key = r._kdf_rk(b"\x01" * 32, b"\x11" * 32)
    assert rk + chain + next_header_key == _hkdf(b"\x01" * 32, b"\x11" * 32, b"clubchat ratchet root v1", 96)
    assert b"".join(r.header_keys(b"\x05" * 32)) == _hkdf(
        bytes(32), b"\x05" * 32, b"clubchat ratchet header keys v1", 64
    )
    cipher, nonce = r._aead(mk)
    okm = _hkdf(bytes(32), mk, b"clubchat ratchet message v1", 44)
    assert nonce == okm[32:]
    assert cipher.encrypt(nonce, b"x", b"") == ChaCha20Poly1305(okm[:32]).encrypt(okm[32:], b"x", b"")


@given(st.randoms(use_true_random=False), st.integers(2, 30))
def test_out_of_order_delivery_across_dh_steps_opens_every_message_once(rnd: random.Random, n: int) -> None:
    alice, bob = pair()
    sent: list[tuple[str, bytes, bytes]] = []
    # Alice sends n, Bob answers twice, Alice sends n more: three chains
    for i in range(n):
        sent.append(("bob", *alice.encrypt(f"a1-{i}".encode(), AD)))
    first = sent.pop(0)
    assert bob.decrypt(first[1], first[2], AD) == b"a1-0"  # Bob needs one to answer
    for i in range(2):
        header, ct = bob.encrypt(f"b-{i}".encode(), AD)
        assert alice.decrypt(header, ct, AD) == f"b-{i}".encode()
    for i in range(n):
        sent.append(("bob", *alice.encrypt(f"a2-{i}".encode(), AD)))
    rnd.shuffle(sent)
    opened = {bob.decrypt(h, ct, AD).decode() for _, h, ct in sent}
    assert opened == {f"a1-{i}" for i in range(1, n)} | {f"a2-{i}" for i in range(n)}
    assert not bob.skipped  # every skipped key was used, then forgotten
    for _, h, ct in sent:  # and none opens twice
        with pytest.raises(RatchetError, match="replayed"):
            bob.decrypt(h, ct, AD)


def test_a_replay_in_the_current_chain_and_of_an_earlier_chain_is_refused() -> None:
    alice, bob, (h0, c0) = started()
    with pytest.raises(RatchetError, match="replayed: message 0 of this chain"):
        bob.decrypt(h0, c0, AD)
    hb, cb = bob.encrypt(b"back", AD)
    alice.decrypt(hb, cb, AD)
    h1, c1 = alice.encrypt(b"one", AD)  # a new chain on Bob's side
    bob.decrypt(h1, c1, AD)
    with pytest.raises(RatchetError, match="replayed from an earlier chain"):
        bob.decrypt(h0, c0, AD)


def test_skipped_message_keys_are_bounded() -> None:
    alice, bob, _ = started()
    for _ in range(r.MAX_SKIP + 1):  # bound: MAX_SKIP + 1 messages Bob never sees
        alice.encrypt(b"lost", AD)
    header, ct = alice.encrypt(b"too far", AD)
    before = copy.deepcopy(bob)
    with pytest.raises(RatchetError, match=f"more than {r.MAX_SKIP} ahead"):
        bob.decrypt(header, ct, AD)
    assert bob == before  # refused without deriving anything
    # across chains the total is capped: the oldest skipped keys go first
    alice, bob, _ = started()
    early = None
    for _turn in range(3):  # bound: three chains of MAX_SKIP skipped keys each
        headers = [alice.encrypt(b"x", AD) for _ in range(r.MAX_SKIP + 1)]
        early = early or headers[0]
        bob.decrypt(*headers[-1], AD)  # the last arrives first: MAX_SKIP keys kept
        back = bob.encrypt(b"ack", AD)
        alice.decrypt(*back, AD)
        assert len(bob.skipped) <= r.MAX_SKIPPED
    assert early is not None
    with pytest.raises(RatchetError):
        bob.decrypt(*early, AD)  # its key was dropped with the oldest


@pytest.mark.parametrize("field", ["header", "dh", "pn", "n", "ct", "ad"])
def test_a_tampered_header_or_ciphertext_is_refused_and_changes_nothing(field: str) -> None:
    alice, bob, _ = started()
    header, ct = alice.encrypt(b"one", AD)
    ad = AD
    assert alice.hks is not None
    real = r._hdecrypt(alice.hks, header)
    assert real is not None
    if field == "header":
        header = header[:20] + bytes([header[20] ^ 1]) + header[21:]
    elif field in ("dh", "pn", "n"):  # even re-encrypted with the right header key: bound to the message
        changed = {"dh": _new_pair()[1], "pn": real.pn + 1, "n": real.n + 1}[field]
        header = r._hencrypt(alice.hks, replace(real, **{field: changed}))
    elif field == "ct":
        ct = bytes([ct[0] ^ 1]) + ct[1:]
    else:
        ad = AD + b"!"
    before = copy.deepcopy(bob)
    with pytest.raises(RatchetError, match="does not open"):
        bob.decrypt(header, ct, ad)
    assert bob == before
    assert bob.decrypt(*alice.encrypt(b"still fine", AD), AD) == b"still fine"


def test_a_header_with_a_key_that_is_not_a_curve_point_is_refused() -> None:
    alice, bob = pair()
    header, ct = alice.encrypt(b"zero", AD)
    assert alice.hks is not None
    with pytest.raises(RatchetError, match="not a usable X25519 key"):
        bob.decrypt(r._hencrypt(alice.hks, Header(bytes(32), 0, 0)), ct, AD)  # the all-zero key
    assert bob.decrypt(header, ct, AD) == b"zero"


def test_forward_secrecy_a_stolen_state_opens_nothing_already_opened() -> None:
    alice, bob = pair()
    old = [alice.encrypt(f"old {i}".encode(), AD) for i in range(3)]
    for header, ct in old:
        bob.decrypt(header, ct, AD)
    stolen = copy.deepcopy(bob)
    for header, ct in old:
        with pytest.raises(RatchetError):
            copy.deepcopy(stolen).decrypt(header, ct, AD)


def test_post_compromise_security_a_stolen_state_stops_opening_after_a_dh_step() -> None:
    alice, bob = pair()
    bob.decrypt(*alice.encrypt(b"hello", AD), AD)
    eve = copy.deepcopy(bob)  # the attacker copies Bob's whole state, then only listens
    same_chain = alice.encrypt(b"still readable", AD)
    assert eve.decrypt(*same_chain, AD) == b"still readable"  # the cost of the theft...
    bob.decrypt(*same_chain, AD)
    alice.decrypt(*bob.encrypt(b"reply from the stolen ratchet key", AD), AD)
    next_step = alice.encrypt(b"readable too: Bob's stolen key is in it", AD)
    assert eve.decrypt(*next_step, AD) == b"readable too: Bob's stolen key is in it"
    bob.decrypt(*next_step, AD)  # ...until Bob steps with a key generated after the theft
    alice.decrypt(*bob.encrypt(b"reply from a fresh ratchet key", AD), AD)
    healed = alice.encrypt(b"after the step", AD)
    with pytest.raises(RatchetError):
        eve.decrypt(*healed, AD)
    assert bob.decrypt(*healed, AD) == b"after the step"


def test_a_session_restored_from_storage_continues() -> None:
    alice, bob = pair()
    bob.decrypt(*alice.encrypt(b"one", AD), AD)
    late = alice.encrypt(b"late", AD)
    bob.decrypt(*alice.encrypt(b"three", AD), AD)  # "late" is skipped
    restored = Ratchet.from_dict(bob.to_dict())
    assert restored == bob
    assert restored.decrypt(*late, AD) == b"late"
    back = restored.encrypt(b"reply", AD)
    assert alice.decrypt(*back, AD) == b"reply"


def test_the_responder_cannot_send_before_it_received() -> None:
    _, bob = pair()
    with pytest.raises(RatchetError, match="cannot send"):
        bob.encrypt(b"too early", AD)
