"""The NOTIFY node's re-check of a community's gate (clubchat.node.notify_chain.GateCache and the
view's `qualifying_target`): in a TOKEN_GATE community, or one whose policy the view has not seen,
a member is sent a campaign only when `Communities.is_qualified_member` says it still meets the
gate; answers are cached for a TTL, bounded in number, dropped when the community's gate or policy
changes; an RPC failure answers nothing. The on-chain run (real Communities and ClubToken, a member
who sold its balance) is tests/e2e/test_ads_notify.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from clubchat.node.notify_chain import GateCache
from tests.node.harness import run
from tests.node.test_notify import COMMUNITY, NODE, campaign, connect, member, notify_relay

TOKEN_GATE, OPEN = 4, 1


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


class FakeCommunities:
    """`is_qualified_member` as a contract's `functions` answer it; counts the calls, may fail."""

    abi: list[dict[str, Any]] = []
    address = "0x" + "c0" * 20

    def __init__(self) -> None:
        self.qualified: set[tuple[int, str]] = set()
        self.calls = 0
        self.down = False
        self.functions = self

    def is_qualified_member(self, community: int, account: str) -> Any:
        outer = self

        class Call:
            def call(self) -> bool:
                outer.calls += 1
                if outer.down:
                    raise ConnectionError("rpc down")
                return (community, account.lower()) in outer.qualified

        return Call()


def asking(view: Any) -> tuple[FakeCommunities, Clock]:
    """Give `view` a Communities contract to ask and a gate cache on a clock the test moves."""
    fake, clock = FakeCommunities(), Clock()
    view.communities = fake
    view.gates = GateCache(ttl=60.0, clock=clock)
    return fake, clock


def created(view: Any, community: int, policy: int) -> None:
    view.apply_membership(
        "CommunityCreated",
        {
            "community_id": community,
            "owner": NODE,
            "policy": policy,
            "membership_seconds": 0,
            "fail_open": False,
        },
    )


def test_answers_expire_after_the_ttl_and_with_the_communitys_gate() -> None:
    clock = Clock()
    cache = GateCache(ttl=60.0, clock=clock)
    cache.put(7, "0xAbC", True)
    assert cache.answer(7, "0xabc") is True and cache.answer(8, "0xabc") is None
    clock.t += 60.0
    assert cache.answer(7, "0xabc") is True  # still within the TTL
    clock.t += 0.5
    assert cache.answer(7, "0xabc") is None  # too old: ask again
    cache.put(7, "0xabc", False)
    assert cache.answer(7, "0xabc") is False  # a "no" is cached too (no eth_call every pass)
    cache.forget(7)  # the community's gate or policy changed
    assert cache.answer(7, "0xabc") is None
    cache.put(7, "0xabc", True)
    assert cache.answer(7, "0xabc") is True and cache.asked == 3


def test_the_cache_is_bounded() -> None:
    cache = GateCache(limit=10)
    for i in range(25):
        cache.put(1, f"0x{i:040x}", True)
        assert len(cache) <= 10
    assert cache.answer(1, f"0x{24:040x}") is True  # the newest answers stay
    assert cache.answer(1, f"0x{0:040x}") is None  # the oldest went first
    with pytest.raises(ValueError, match="TTL"):
        GateCache(ttl=-1)


def test_only_token_gated_or_unknown_communities_are_asked(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with notify_relay(tmp_path) as (_, service):
            view = service.view
            view.communities = FakeCommunities()
            created(view, 1, OPEN)
            created(view, 2, TOKEN_GATE)
            assert not view.gated(1) and view.gated(2)
            assert view.gated(COMMUNITY)  # created before the view's first block: policy unknown
            changed = {"community_id": 1, "policy": TOKEN_GATE, "membership_seconds": 0, "fail_open": False}
            view.apply_membership("PolicyChanged", changed)
            assert view.gated(1)

    run(scenario())


def test_a_member_below_the_gate_is_sent_nothing_until_it_meets_it(tmp_path: Path) -> None:
    """`COMMUNITY`'s policy is unknown to the view, so it asks; `low` is a member the chain says
    does not qualify: nothing is recorded, sent or handed out at sign-in; a "no" is not asked again
    within the TTL; once it qualifies and the answer expires, it gets the campaign. An RPC failure
    sends nothing and is asked again on the next pass."""
    high, low = Account.create(), Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            view = service.view
            fake, clock = asking(view)
            fake.qualified.add((COMMUNITY, high.address.lower()))
            member(service, high, low)
            (ch, ih), (cl, il) = [await connect(server, u) for u in (high, low)]
            for inbox in (ih, il):
                await inbox.set_preference(True)
            view.campaigns[1] = campaign(1)
            await ih.wait(lambda: ih.confirmed == {1: 1})
            await asyncio.sleep(0.3)  # several delivery passes
            assert il.shown == [] and il.counts == {}
            assert await service.store.run(service.store.delivery, low.address.lower(), 1) is None
            assert fake.calls == 2  # one answer each, reused by every later pass within the TTL
            assert service.stats["gated"] >= 2
            # the RPC fails when the answers expire: nothing is sent, the next pass asks again
            fake.down = True
            clock.t += 61
            await asyncio.sleep(0.3)
            assert il.shown == [] and "is_qualified_member" in (view.last_error or "")
            fake.down = False
            fake.qualified.add((COMMUNITY, low.address.lower()))
            await il.wait(lambda: il.confirmed == {1: 1})
            for c in (ch, cl):
                await c.close()

    run(scenario())


def test_a_queued_notification_is_held_at_sign_in_while_below_the_gate(tmp_path: Path) -> None:
    bob = Account.create()

    async def scenario() -> None:
        async with notify_relay(tmp_path) as (server, service):
            view = service.view
            fake, clock = asking(view)
            fake.qualified.add((COMMUNITY, bob.address.lower()))
            member(service, bob)
            c, i = await connect(server, bob)
            await i.set_preference(True)
            await c.close()
            view.campaigns[1] = campaign(1)
            await asyncio.sleep(0.3)
            assert service.stats["queued"] == 1  # offline: queued while it qualified
            fake.qualified.clear()  # then it sold below the gate
            clock.t += 61
            c, i = await connect(server, bob)
            await asyncio.sleep(0.3)
            assert i.shown == [] and service.stats["held"] >= 1
            await c.close()
            fake.qualified.add((COMMUNITY, bob.address.lower()))  # back above it
            clock.t += 61
            c, i = await connect(server, bob)
            await i.wait(lambda: i.confirmed == {1: 1})
            await c.close()

    run(scenario())
