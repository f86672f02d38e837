"""Double Ratchet sessions between two Sealers: a session opens with HPKE to the peer's prekey and
repeats its opening until the peer answered; later messages need no bundle; a lost first message,
both sides opening at once, a restart (sessions exported and restored), and a peer that re-keyed
(its replaced bundle kept for the grace period) all keep messages readable; a message of a session
this device does not hold is refused with a reason; sessions per peer are bounded."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from eth_account import Account

from clubchat.crypto.device import PREKEY_GRACE, DeviceKeys
from clubchat.crypto.session import MAX_SESSIONS, DecryptError, Sealer
from clubchat.protocol import messages as m
from tests.crypto.conftest import CHAIN_ID, NOW, alice, bob, device, mallory, verified

ALICE, BOB, MALLORY_KEYS = device(alice), device(bob), device(mallory)


def text(sealer: Sealer, peer: DeviceKeys, id: str, body: str) -> m.Envelope:
    sealed = sealer.seal(verified(peer), id, m.Text(body=body))
    return m.Envelope(id=id, sender=sealer.device.address, to=peer.address, payload=sealed)


def sealers() -> tuple[Sealer, Sealer]:
    return Sealer(ALICE, clock=lambda: NOW), Sealer(BOB, clock=lambda: NOW)


def test_a_session_opens_once_and_later_messages_need_no_bundle() -> None:
    a, b = sealers()
    first, second = text(a, BOB, "a1", "hi"), text(a, BOB, "a2", "still there?")
    for env in (first, second):  # both carry the opening: the first might be lost
        assert isinstance(env.payload, m.Sealed)
        assert env.payload.kid == BOB.prekeys[-1].id and env.payload.enc is not None
    assert first.payload.sid == second.payload.sid  # type: ignore[union-attr]
    assert b.needs_bundle(first)
    assert b.open(first, verified(ALICE)) == m.Text(body="hi")
    assert not b.needs_bundle(second)
    assert b.open(second) == m.Text(body="still there?")  # no bundle: the session authenticates it
    reply = text(b, ALICE, "b1", "yes")
    assert isinstance(reply.payload, m.Sealed) and reply.payload.enc is None and reply.payload.kid is None
    assert reply.payload.sid == first.payload.sid  # type: ignore[union-attr]
    ratchet = a.sessions[bob.address.lower()][reply.payload.sid].ratchet
    key_before = ratchet.dhs_public
    assert a.open(reply) == m.Text(body="yes")
    assert ratchet.dhs_public != key_before  # Bob's answer made Alice step the DH ratchet
    after = text(a, BOB, "a3", "good")
    assert isinstance(after.payload, m.Sealed) and after.payload.enc is None  # Bob answered: no opening
    assert b.open(after) == m.Text(body="good")


def test_a_lost_first_message_does_not_lose_the_session() -> None:
    a, b = sealers()
    envs = [text(a, BOB, f"a{i}", f"m{i}") for i in range(5)]
    order = [3, 0, 4, 2]  # a1 never arrives
    assert [b.open(envs[i], verified(ALICE)) for i in order] == [m.Text(body=f"m{i}") for i in order]


def test_both_sides_opening_at_once_converge() -> None:
    a, b = sealers()
    from_a, from_b = text(a, BOB, "a1", "hello bob"), text(b, ALICE, "b1", "hello alice")
    assert from_a.payload.sid != from_b.payload.sid  # type: ignore[union-attr]
    assert b.open(from_a, verified(ALICE)) == m.Text(body="hello bob")
    assert a.open(from_b, verified(BOB)) == m.Text(body="hello alice")
    rnd = random.Random(7)
    for i in range(20):  # bound: 20 messages either way, each opens in the session it names
        sender, receiver, peer = (a, b, BOB) if rnd.random() < 0.5 else (b, a, ALICE)
        env = text(sender, peer, f"x{i}", f"n{i}")
        assert receiver.open(env, verified(sender.device)) == m.Text(body=f"n{i}")
    assert len(a.sessions[bob.address.lower()]) == 2 == len(b.sessions[alice.address.lower()])


def test_sessions_survive_a_restart() -> None:
    a, b = sealers()
    b.open(text(a, BOB, "a1", "before"), verified(ALICE))
    late = text(a, BOB, "a2", "delivered after the restart")
    restarted = Sealer(BOB, clock=lambda: NOW)
    restarted.restore_sessions(b.export_sessions())
    assert not restarted.needs_bundle(late)
    assert restarted.open(late) == m.Text(body="delivered after the restart")
    assert a.open(text(restarted, ALICE, "b1", "answer")) == m.Text(body="answer")


def test_the_replay_window_travels_with_the_sessions() -> None:
    """Processes sharing a keystore read each other's sessions file: the envelope ids one opened are
    in it, so the other refuses the same sender and id (here sealed anew, which the ratchet alone
    would accept)."""
    a, b = sealers()
    assert b.open(text(a, BOB, "dup", "first"), verified(ALICE)) == m.Text(body="first")
    again = text(a, BOB, "dup", "the same envelope id again")
    other = Sealer(BOB, clock=lambda: NOW)
    other.restore_sessions(b.export_sessions())
    with pytest.raises(DecryptError, match="replayed: envelope dup"):
        other.open(again)
    earlier = Sealer(BOB, clock=lambda: NOW)  # sessions written by the earlier version: no window
    earlier.restore_sessions(json.dumps(json.loads(b.export_sessions())["sessions"]))
    assert alice.address.lower() in earlier.sessions and not earlier._seen
    assert earlier.open(text(a, BOB, "new", "opens")) == m.Text(body="opens")


def test_a_message_of_a_session_this_device_does_not_hold_is_refused() -> None:
    a, b = sealers()
    b.open(text(a, BOB, "a1", "opening"), verified(ALICE))
    a.open(text(b, ALICE, "b1", "answered"))
    follow = text(a, BOB, "a2", "no opening any more")
    with pytest.raises(DecryptError, match=r"no session .* and the message does not open one"):
        Sealer(BOB, clock=lambda: NOW).open(follow)  # Bob lost his state (no keystore)
    forged = replace(follow, payload=replace(follow.payload, sid="0" * 16))
    with pytest.raises(DecryptError, match="no session 0000000000000000"):
        b.open(forged)
    assert b.open(follow) == m.Text(body="no opening any more")


def test_sessions_per_peer_are_bounded() -> None:
    a = Sealer(ALICE, clock=lambda: NOW)
    for i in range(MAX_SESSIONS + 3):  # bound: a few over the cap
        b = Sealer(BOB, clock=lambda: NOW)  # a Bob that forgot everything opens a new session each time
        a.open(text(b, ALICE, f"b{i}", "y"), verified(BOB))
    assert len(a.sessions[bob.address.lower()]) == MAX_SESSIONS


def test_a_peer_that_re_keyed_is_still_read_for_the_grace_period() -> None:
    clock = [float(NOW)]
    a_old = Sealer(ALICE, clock=lambda: clock[0])
    stored = text(a_old, BOB, "a1", "sealed with the old key, fetched later")
    b = Sealer(BOB, clock=lambda: clock[0])
    b.pin(verified(ALICE))
    new_alice = DeviceKeys.create(alice, CHAIN_ID, NOW + 10)  # Alice binds new keys
    b.pin(verified(new_alice, NOW + 10))
    assert b.key_changes[-1].new_key_id == new_alice.statement.key_id
    old_key = ALICE.statement.key_id
    old = b.bundle_of(alice.address, old_key)
    assert old is not None and old.key_id == old_key
    assert b.open(stored, old) == m.Text(body="sealed with the old key, fetched later")
    clock[0] = NOW + PREKEY_GRACE + 1
    assert b.bundle_of(alice.address, old_key) is None  # the grace is over
    assert b.bundle_of(alice.address, new_alice.statement.key_id) is not None
    # a session with the old key is refused once the peer's key is revoked
    b.unpin(alice.address, old_key)
    assert stored.payload.sid not in b.sessions[alice.address.lower()]  # type: ignore[union-attr]


def test_a_device_that_binds_new_keys_starts_new_sessions() -> None:
    a, b = sealers()
    b.open(text(a, BOB, "a1", "old identity"), verified(ALICE))
    new_alice = DeviceKeys.create(alice, CHAIN_ID, NOW + 10)
    a.use_device(new_alice)
    assert not a.sessions  # every session was bound to the old identity key
    env = text(a, BOB, "a2", "new identity")
    assert isinstance(env.payload, m.Sealed) and env.payload.skid == new_alice.statement.key_id
    assert env.payload.enc is not None  # a new session, opened again
    assert b.open(env, verified(new_alice, NOW + 10)) == m.Text(body="new identity")


def test_sessions_are_kept_for_a_bounded_number_of_peers(monkeypatch: pytest.MonkeyPatch) -> None:
    from clubchat.crypto import session as session_module

    monkeypatch.setattr(session_module, "MAX_PEERS", 3)
    a = Sealer(ALICE, clock=lambda: NOW)
    peers = [device(Account.from_key((0x7000 + i).to_bytes(32, "big"))) for i in range(5)]
    for i, peer in enumerate(peers):  # bound: five peers, three kept
        text(a, peer, f"p{i}", "hello")
    assert list(a.sessions) == [p.address.lower() for p in peers[2:]]  # the least recently used went
    b = Sealer(BOB, clock=lambda: NOW)
    with pytest.raises(DecryptError):
        b.open(text(Sealer(MALLORY_KEYS, clock=lambda: NOW), BOB, "z", "garbage"))  # no bundle given
    assert mallory.address.lower() not in b.sessions  # a refused message leaves no trace
