"""Hypothesis fuzzing of a live relay: >= 10,000 generated frames (valid, malformed, oversized,
replayed, spoofed, binary) from a signed-in attacker while two honest clients keep talking.

Every frame must get exactly the answer the model predicts, in order; the relay must never crash
and the honest clients must receive every one of their messages.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from clubchat.client.relay_client import RelayClient
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.protocol import messages as m
from tests.node.harness import Raw

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
mallory = Account.from_key("0x" + "d4" * 32)
NOBODY = "0x" + "00" * 19 + "99"
MAX_FRAME = 8_192
CONFIG = RelayConfig(max_frame_bytes=MAX_FRAME, rate_per_second=1e9, rate_burst=1e9)
HONEST_PER_EXAMPLE = 5
_ids = itertools.count()


@dataclass(frozen=True)
class Fuzz:
    """One generated frame and the answer the model expects ('sent', an error code, or 'closed')."""

    text: str | bytes
    expect: str
    id: str | None = None
    to_bob: bool = False


# -- strategies ------------------------------------------------------------------------------------

_cand = st.builds(
    m.IceCandidate,
    sdp=st.text(max_size=80),
    sdp_mline_index=st.integers(0, 255),
    sdp_mid=st.one_of(st.none(), st.text(max_size=8)),
)
_payloads = st.one_of(
    st.builds(
        m.Offer,
        sdp=st.text(max_size=300),
        options=st.lists(st.sampled_from(m.MEDIA_OPTIONS), unique=True, max_size=3).map(tuple),
    ),
    st.builds(m.Answer, sdp=st.text(max_size=300)),
    st.builds(m.Candidates, candidates=st.lists(_cand, min_size=1, max_size=4).map(tuple)),
    st.builds(m.RemoveCandidates, candidates=st.lists(_cand, min_size=1, max_size=4).map(tuple)),
    st.builds(m.Bye, reason=st.text(max_size=40)),
    st.builds(m.Text, body=st.text(max_size=200)),
)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fresh() -> str:
    return f"fz{next(_ids)}"


@st.composite
def _frame(draw: st.DrawFn) -> Fuzz:
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "valid",
                "valid",
                "malformed-json",
                "random-json",
                "mutated",
                "unknown-type",
                "oversized",
                "spoofed",
                "offline",
                "binary",
                "replay",
                "deep",
            ]
        )
    )
    if kind == "valid":
        i = _fresh()
        env = m.Envelope(id=i, sender=mallory.address, to=bob.address, payload=draw(_payloads))
        text = m.encode(env)
        if len(text) > MAX_FRAME:
            return Fuzz(text, "too-large")
        return Fuzz(text, "sent", i, to_bob=True)
    if kind == "replay":
        return Fuzz("", "replayed")  # filled in by the runner with an id accepted before
    if kind == "malformed-json":
        return Fuzz(draw(st.text(max_size=200).filter(lambda t: not _is_json(t))), "malformed")
    if kind == "random-json":
        value = draw(_json)
        code = "unknown-type" if isinstance(value, dict) else "malformed"
        return Fuzz(json.dumps(value), code)
    if kind == "mutated":
        env = json.loads(
            m.encode(m.Envelope(id=_fresh(), sender=mallory.address, to=bob.address, payload=draw(_payloads)))
        )
        key = draw(st.sampled_from(["id", "from", "to", "payload"]))
        if draw(st.booleans()):
            del env[key]
        else:
            env[key] = draw(
                st.one_of(
                    st.integers(),
                    st.none(),
                    st.lists(st.integers(), max_size=2),
                    st.just("x y" if key == "id" else "0x1234"),  # never a well-formed value
                    st.just({"type": "nope"}),
                )
            )
        return Fuzz(json.dumps(env), "malformed")
    if kind == "unknown-type":
        return Fuzz(
            json.dumps({"type": draw(st.text(max_size=12).filter(lambda t: t not in m.FRAME_CLASSES))}),
            "unknown-type",
        )
    if kind == "oversized":
        size = draw(st.integers(MAX_FRAME + 1, 2 * MAX_FRAME))
        return Fuzz("x" * size, "too-large")
    if kind == "spoofed":
        return Fuzz(
            m.encode(
                m.Envelope(id=_fresh(), sender=alice.address, to=bob.address, payload=m.Text(body="forged"))
            ),
            "spoofed-sender",
        )
    if kind == "offline":
        return Fuzz(
            m.encode(m.Envelope(id=_fresh(), sender=mallory.address, to=NOBODY, payload=draw(_payloads))),
            "offline",
        )
    if kind == "binary":
        return Fuzz(draw(st.binary(max_size=64)), "malformed")
    depth = draw(st.integers(17, 3000))
    return Fuzz("[" * depth + "]" * depth, "malformed")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


# -- the live relay, in a background event loop --------------------------------------------------


class Live:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.frames = 0
        self.accepted: list[str] = []
        self.mallory: Raw | None = None
        self.server = RelayServer(CONFIG)
        self.call(self.server.start())
        self.alice: RelayClient = self.call(RelayClient.connect(self.server.uri, alice))
        self.bob: RelayClient = self.call(RelayClient.connect(self.server.uri, bob))

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def shutdown() -> None:
            for c in (self.alice, self.bob):
                await c.close()
            if self.mallory is not None:
                await self.mallory.close()
            await self.server.stop()

        self.call(shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def example(self, frames: list[Fuzz], hard_oversize: bool) -> None:
        if self.mallory is None:
            self.mallory = await Raw.open(self.server.uri)
            await self.mallory.sign_in(mallory)
        mal = self.mallory
        expected: list[Fuzz] = []
        for f in frames:
            if f.expect == "replayed":
                if not self.accepted:
                    continue
                i = self.accepted[len(expected) % len(self.accepted)]
                f = Fuzz(
                    m.encode(
                        m.Envelope(id=i, sender=mallory.address, to=bob.address, payload=m.Text(body="again"))
                    ),
                    "replayed",
                    i,
                )
            expected.append(f)

        async def honest() -> list[str]:
            ids = []
            for k in range(HONEST_PER_EXAMPLE):
                sent = await self.alice.send(bob.address, m.Text(body=f"honest {k}"))
                assert sent.status == "delivered"
                ids.append(sent.id)
            return ids

        async def attack() -> None:
            for f in expected:
                await mal.send(f.text)
            for f in expected:
                frame = await mal.frame(10)
                if f.expect == "sent":
                    assert frame == m.Sent(id=f.id, status="delivered"), (f, frame)
                    self.accepted.append(f.id)  # type: ignore[arg-type]
                else:
                    assert isinstance(frame, m.Error), (f, frame)
                    assert frame.code == f.expect, (f, frame)
                    if f.id is not None:
                        assert frame.id == f.id

        try:
            honest_ids, _ = await asyncio.gather(honest(), attack())
        except BaseException:
            self.mallory = None  # start the next example on a clean connection
            await mal.close()
            raise
        self.frames += len(expected)
        # Bob got every honest message and every accepted attacker message, each exactly once, in order.
        want = {alice.address: honest_ids, mallory.address: [f.id for f in expected if f.expect == "sent"]}
        got: dict[str, list[str]] = {alice.address: [], mallory.address: []}
        for _ in range(sum(len(v) for v in want.values())):
            r = await self.bob.receive(10)
            got[r.envelope.sender].append(r.envelope.id)
        assert got == want
        assert self.bob.inbox.empty()
        if hard_oversize:
            await mal.send("h" * (2 * MAX_FRAME + 1))
            try:
                await asyncio.wait_for(mal.ws.recv(), 5)
                raise AssertionError("the relay kept a connection that sent a frame over the hard limit")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1009
            self.frames += 1
            self.mallory = None


def test_fuzz_relay_with_10000_frames() -> None:
    live = Live()
    try:

        @settings(max_examples=55, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
        @given(frames=st.lists(_frame(), min_size=180, max_size=220), hard=st.booleans())
        def run_example(frames: list[Fuzz], hard: bool) -> None:
            live.call(live.example(frames, hard))

        run_example()
        assert live.frames >= 10_000, live.frames

        # the relay is still healthy: a brand-new client signs in and talks
        async def still_alive() -> None:
            carol = Account.create()
            c = await RelayClient.connect(live.server.uri, carol)
            assert (await c.send(bob.address, m.Text(body="after the storm"))).status == "delivered"
            assert (await live.bob.receive(5)).envelope.sender == carol.address
            await c.close()

        live.call(still_alive())
        assert live.server.stats["error:internal"] == 0
    finally:
        live.close()
