"""Stateful: Alice seals messages to Bob; a hostile relay delivers them in any order, duplicates,
tampers with, readdresses or drops them. Model: every genuine envelope opens exactly once, with its
payload; everything else is refused."""

from __future__ import annotations

import base64
from dataclasses import replace

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from clubchat.crypto.session import DecryptError, Sealer
from clubchat.protocol import messages as m
from tests.crypto.conftest import NOW, alice, as_kind, bob, device, mallory, verified

ALICE, BOB = device(alice), device(bob)
ALICE_BUNDLE, BOB_BUNDLE = verified(ALICE), verified(BOB)


class HostileRelay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sender = Sealer(ALICE, clock=lambda: NOW)
        self.receiver = Sealer(BOB, clock=lambda: NOW)
        self.sent: list[tuple[m.Envelope, m.Payload]] = []  # every genuine envelope, in send order
        self.opened: dict[str, m.Payload] = {}  # model: envelope id -> payload Bob read

    @rule(body=st.text(max_size=80), signal=st.booleans())
    def alice_sends(self, body: str, signal: bool) -> None:
        id = f"e{len(self.sent)}"
        payload: m.Payload = m.Bye(reason=body) if signal else m.Text(body=body)
        sealed = self.sender.seal(BOB_BUNDLE, id, payload)
        self.sent.append((m.Envelope(id=id, sender=alice.address, to=bob.address, payload=sealed), payload))

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(min_value=0))
    def relay_delivers(self, pick: int) -> None:
        env, payload = self.sent[pick % len(self.sent)]
        if env.id in self.opened:
            try:
                self.receiver.open(env, ALICE_BUNDLE)
            except DecryptError as exc:
                assert "replayed" in str(exc)
            else:
                raise AssertionError(f"{env.id} opened twice")
        else:
            assert self.receiver.open(env, ALICE_BUNDLE) == payload
            self.opened[env.id] = payload

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(min_value=0), how=st.sampled_from(["ct", "id", "to", "from", "kind"]))
    def relay_tampers(self, pick: int, how: str) -> None:
        env, _ = self.sent[pick % len(self.sent)]
        sealed = env.payload
        assert isinstance(sealed, m.Sealed)
        if how == "ct":
            raw = bytearray(base64.b64decode(sealed.ct))
            raw[pick % len(raw)] ^= 0x80
            bad = replace(env, payload=replace(sealed, ct=base64.b64encode(bytes(raw)).decode()))
        elif how == "id":
            bad = replace(env, id=env.id + "x")
        elif how == "to":
            bad = replace(env, to=mallory.address)
        elif how == "from":
            bad = replace(env, sender=mallory.address)
        else:
            other = m.Sealed if isinstance(sealed, m.SealedSignal) else m.SealedSignal
            bad = replace(env, payload=as_kind(other, sealed))
        try:
            self.receiver.open(bad, ALICE_BUNDLE)
        except DecryptError:
            pass
        else:
            raise AssertionError(f"a tampered envelope ({how}) opened")

    @invariant()
    def only_genuine_envelopes_opened_once_each(self) -> None:
        genuine = {env.id for env, _ in self.sent}
        assert set(self.opened) <= genuine


TestHostileRelay = HostileRelay.TestCase
