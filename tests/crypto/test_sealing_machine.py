"""Stateful: Alice and Bob seal messages to each other in Double Ratchet sessions (either may open
one, both at once too); a hostile relay delivers them in any order, duplicates, tampers with,
readdresses or drops them. Model: every genuine envelope opens exactly once, with its payload,
however late; everything else is refused and changes nothing."""

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
        self.sealers = {
            alice.address: Sealer(ALICE, clock=lambda: NOW),
            bob.address: Sealer(BOB, clock=lambda: NOW),
        }
        self.bundles = {alice.address: ALICE_BUNDLE, bob.address: BOB_BUNDLE}
        self.sent: list[tuple[m.Envelope, m.Payload]] = []  # every genuine envelope, in send order
        self.opened: dict[str, m.Payload] = {}  # model: envelope id -> payload its recipient read

    @rule(body=st.text(max_size=80), signal=st.booleans(), from_bob=st.booleans())
    def someone_sends(self, body: str, signal: bool, from_bob: bool) -> None:
        sender, to = (bob.address, alice.address) if from_bob else (alice.address, bob.address)
        id = f"e{len(self.sent)}"
        payload: m.Payload = m.Bye(reason=body) if signal else m.Text(body=body)
        sealed = self.sealers[sender].seal(self.bundles[to], id, payload)
        self.sent.append((m.Envelope(id=id, sender=sender, to=to, payload=sealed), payload))

    def _open(self, env: m.Envelope) -> m.Payload:
        return self.sealers[env.to].open(env, self.bundles.get(env.sender))

    @precondition(lambda self: self.sent)
    @rule(pick=st.integers(min_value=0))
    def relay_delivers(self, pick: int) -> None:
        env, payload = self.sent[pick % len(self.sent)]
        if env.id in self.opened:
            try:
                self._open(env)
            except DecryptError as exc:
                assert "replayed" in str(exc)
            else:
                raise AssertionError(f"{env.id} opened twice")
        else:
            assert self._open(env) == payload
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
            self.sealers[env.to].open(bad, self.bundles[env.sender])
        except DecryptError:
            pass
        else:
            raise AssertionError(f"a tampered envelope ({how}) opened")

    @invariant()
    def only_genuine_envelopes_opened_once_each(self) -> None:
        genuine = {env.id for env, _ in self.sent}
        assert set(self.opened) <= genuine

    @invariant()
    def sessions_stay_bounded(self) -> None:
        for sealer in self.sealers.values():
            assert all(len(held) <= 2 for held in sealer.sessions.values())  # at most one opened by each side


TestHostileRelay = HostileRelay.TestCase
