"""Sealed payloads: every payload type round-trips; tampering (ciphertext or ratchet header), another
recipient, another sender key, a replay, a stale or plaintext payload and a relay that turns a
live-only seal into a storable one are all refused with a DecryptError saying why."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto.session import MAX_AGE, DecryptError, Sealer, safety_number
from clubchat.protocol import messages as m
from tests.crypto.conftest import NOW, alice, as_kind, bob, device, mallory, verified

ALICE, BOB, MALLORY = device(alice), device(bob), device(mallory)
text_st = st.text(max_size=300)
candidate_st = st.builds(
    m.IceCandidate,
    sdp=st.text(max_size=120),
    sdp_mline_index=st.integers(0, 255),
    sdp_mid=st.one_of(st.none(), st.text(max_size=8)),
)
payload_st = st.one_of(
    st.builds(m.Text, body=st.text(max_size=2_000)),
    st.builds(m.Offer, sdp=st.text(max_size=3_000), options=st.just(("audio", "data"))),
    st.builds(m.Answer, sdp=st.text(max_size=3_000)),
    st.builds(m.Candidates, candidates=st.lists(candidate_st, min_size=1, max_size=8).map(tuple)),
    st.builds(m.RemoveCandidates, candidates=st.lists(candidate_st, min_size=1, max_size=8).map(tuple)),
    st.builds(m.Bye, reason=text_st),
)


def sealers() -> tuple[Sealer, Sealer]:
    return Sealer(ALICE, clock=lambda: NOW), Sealer(BOB, clock=lambda: NOW)


def envelope(sealer: Sealer, id: str, payload: m.Payload, to: str = bob.address) -> m.Envelope:
    sealed = sealer.seal(verified(BOB if to == bob.address else ALICE), id, payload)
    return m.Envelope(id=id, sender=sealer.device.address, to=to, payload=sealed)


@given(payload_st, st.from_regex(m.ID_PATTERN, fullmatch=True))
def test_every_payload_type_round_trips(payload: m.Payload, id: str) -> None:
    sender, receiver = sealers()
    env = envelope(sender, id, payload)
    assert isinstance(env.payload, m.SealedSignal) == (payload.TYPE in m.SIGNALING_TYPES)
    assert env.payload.skid == ALICE.statement.key_id and env.payload.kid == BOB.prekeys[-1].id
    # the encoded envelope passes the relay's checks, and its size is a bucket's
    text = m.encode(env)
    assert m.decode_frame(text) == env
    assert len(base64.b64decode(env.payload.ct)) - 16 in (256, 1024, 4096, 16_384, 45_056)
    assert receiver.open(env, verified(ALICE)) == payload


def _flip(b64: str, at: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@given(st.integers(0, 10_000), st.sampled_from(["ct", "hdr", "enc"]))
def test_tampered_ciphertext_or_header_is_refused(at: int, field: str) -> None:
    sender, receiver = sealers()
    env = envelope(sender, "t1", m.Text(body="meet at noon"))
    assert isinstance(env.payload, m.Sealed)
    bad = replace(env, payload=replace(env.payload, **{field: _flip(getattr(env.payload, field), at)}))
    reason = "session id does not match" if field == "enc" else "does not open"
    with pytest.raises(DecryptError, match=reason):
        receiver.open(bad, verified(ALICE))
    assert receiver.open(env, verified(ALICE)) == m.Text(body="meet at noon")  # nothing was spent


def test_envelope_fields_are_bound_to_the_ciphertext() -> None:
    sender, receiver = sealers()
    env = envelope(sender, "b1", m.Offer(sdp="v=0", options=("audio",)))
    assert isinstance(env.payload, m.SealedSignal)
    # a relay relabels the envelope id, or a live-only seal as a storable one: the AAD no longer matches
    for bad in (replace(env, id="b2"), replace(env, payload=as_kind(m.Sealed, env.payload))):
        with pytest.raises(DecryptError, match="does not open"):
            receiver.open(bad, verified(ALICE))


def test_a_lone_surrogate_survives_sealing() -> None:
    sender, receiver = sealers()
    odd = m.Text(body="half a pair: \ud800")
    assert receiver.open(envelope(sender, "u1", odd), verified(ALICE)) == odd


def test_wrong_recipient_is_refused() -> None:
    sender, _ = sealers()
    env = envelope(sender, "w1", m.Text(body="for bob only"))
    eve = Sealer(MALLORY, clock=lambda: NOW)
    with pytest.raises(DecryptError, match="addressed to"):
        eve.open(env, verified(ALICE))
    # even readdressed to her, she holds no prekey it was sealed to
    with pytest.raises(DecryptError, match="does not hold"):
        eve.open(replace(env, to=mallory.address), verified(ALICE))


def test_wrong_sender_key_is_refused() -> None:
    _, receiver = sealers()
    forger = Sealer(MALLORY, clock=lambda: NOW)
    env = envelope(forger, "f1", m.Text(body="I am alice"))
    # Mallory's ciphertext in an envelope from Alice (a relay forging `from`): Alice's key id differs
    with pytest.raises(DecryptError, match="not by"):
        receiver.open(replace(env, sender=alice.address), verified(ALICE))
    # ... and with Alice's key id written on it, HPKE auth mode refuses: it was not sealed by her key
    assert isinstance(env.payload, m.Sealed)
    forged = replace(env, sender=alice.address, payload=replace(env.payload, skid=ALICE.statement.key_id))
    with pytest.raises(DecryptError, match="does not open"):
        receiver.open(forged, verified(ALICE))


def test_replayed_payload_is_refused() -> None:
    sender, receiver = sealers()
    env = envelope(sender, "r1", m.Text(body="once"))
    assert receiver.open(env, verified(ALICE)) == m.Text(body="once")
    with pytest.raises(DecryptError, match="replayed"):
        receiver.open(env, verified(ALICE))


def test_stale_future_and_plaintext_payloads_are_refused() -> None:
    clock = [float(NOW)]
    sender = Sealer(ALICE, clock=lambda: clock[0])
    receiver = Sealer(BOB, clock=lambda: NOW + MAX_AGE + 1)
    old = envelope(sender, "o1", m.Text(body="old"))
    with pytest.raises(DecryptError, match="older than 8 days"):
        receiver.open(old, verified(ALICE))
    clock[0] = NOW + MAX_AGE + 1_000
    future = envelope(sender, "o2", m.Text(body="later"))
    with pytest.raises(DecryptError, match="in the future"):
        Sealer(BOB, clock=lambda: NOW).open(future, verified(ALICE))
    plain = m.Envelope(id="p1", sender=alice.address, to=bob.address, payload=m.Text(body="hi"))
    with pytest.raises(DecryptError, match="must be sealed"):
        Sealer(BOB, clock=lambda: NOW).open(plain, verified(ALICE))


def test_rotated_prekey_keeps_opening_until_its_grace_ends() -> None:
    bob_device = device(bob)
    old_bundle = verified(bob_device)
    sealed = Sealer(ALICE, clock=lambda: NOW).seal(old_bundle, "k1", m.Text(body="before rotation"))
    env = m.Envelope(id="k1", sender=alice.address, to=bob.address, payload=sealed)
    bob_device.rotate(NOW + 1)
    assert Sealer(bob_device, clock=lambda: NOW).open(env, verified(ALICE)) == m.Text(body="before rotation")
    bob_device.rotate(NOW + 60 * 86_400)  # long past the old prekey's expiry and grace: deleted
    with pytest.raises(DecryptError, match="does not hold"):
        Sealer(bob_device, clock=lambda: NOW).open(replace(env, id="k2"), verified(ALICE))


def test_safety_number_is_the_same_on_both_sides_and_changes_with_a_key() -> None:
    a, b = sealers()
    a.pin(verified(BOB))
    b.pin(verified(ALICE))
    assert a.safety_number(bob.address) == b.safety_number(alice.address)
    assert len(a.safety_number(bob.address).replace(" ", "")) == 60
    assert safety_number(ALICE, verified(device(bob))) != a.safety_number(bob.address)
