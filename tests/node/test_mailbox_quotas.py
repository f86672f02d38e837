"""NOTIFY mailbox against hostile senders: per-sender quotas (one sender cannot lock others out of a
mailbox), a daily allowance, a total size cap, expiry, a full disk answered with `mailbox-full`, and a
hand-out of large stored envelopes within a byte budget (the recipient is never cut off as a slow
reader for what the relay itself handed out)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from eth_account import Account

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.node.mailbox import (
    DAY,
    REASON_DAILY,
    REASON_DISK,
    REASON_NODE,
    REASON_RECIPIENT,
    REASON_SENDER,
    Mailbox,
    MailboxLimits,
)
from clubchat.node.relay import HAND_OUT_PER_TURN, RelayConfig
from clubchat.protocol import messages as m
from tests.node.harness import Raw, count_turns, envelope, relay, run

alice = Account.from_key("0x" + "a1" * 32)
mallory = Account.from_key("0x" + "66" * 32)
carol = Account.from_key("0x" + "c3" * 32)
dave = Account.from_key("0x" + "d4" * 32)

BIG = "\U0001f600" * 16_000  # 64,000 bytes of UTF-8: a frame just under the relay's 64 KiB limit


def big_frame(i: int, to: str) -> str:
    """A large envelope as a client sends it (UTF-8 text, not \\u escapes)."""
    return json.dumps(
        {
            "type": "envelope",
            "id": f"b{i}",
            "from": mallory.address,
            "to": to,
            "payload": {"type": "text", "body": BIG},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _open(path: Path, limits: MailboxLimits, clock: Clock | None = None) -> Mailbox:
    box = Mailbox(path, limits, clock=clock or Clock())
    await box.open()
    return box


def test_one_sender_cannot_lock_other_senders_out_of_a_mailbox(tmp_path: Path) -> None:
    limits = MailboxLimits(per_recipient=20, per_sender_per_recipient=5)

    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", limits)
        try:
            async with relay(mailbox=box) as server:
                bad = await RelayClient.connect(server.uri, mallory)
                codes = []
                for i in range(8):
                    try:
                        codes.append((await bad.send(carol.address, m.Text(body="spam"), id=f"s{i}")).status)
                    except RelayError as exc:
                        codes.append(exc.code)
                        assert exc.reason.startswith(REASON_SENDER + ":"), exc.reason
                assert codes == ["stored"] * 5 + ["mailbox-full"] * 3
                good = await RelayClient.connect(server.uri, alice)
                assert (await good.send(carol.address, m.Text(body="see you at 8"))).status == "stored"
                assert await box.count(carol.address) == 6
                await bad.close()
                await good.close()
        finally:
            await box.close()

    run(scenario())


def test_recipient_and_daily_quotas_and_total_cap_refuse_with_their_reason(tmp_path: Path) -> None:
    clock = Clock()

    async def scenario() -> None:
        limits = MailboxLimits(per_recipient=3, per_sender_per_recipient=2, per_sender_per_day=4)
        box = await _open(tmp_path / "a.sqlite", limits, clock)
        try:
            frame = envelope(mallory.address, carol.address, "x")
            for i, sender in enumerate([mallory, alice]):
                for j in range(2):
                    assert (await box.store(carol.address, sender.address, f"{i}{j}", frame)).status == (
                        "stored" if i + j < 2 or (i, j) == (1, 0) else "full"
                    )
            refused = await box.store(carol.address, dave.address, "d", frame)
            assert refused.status == "full" and refused.reason.startswith(REASON_RECIPIENT + ":")
            # Mallory's day: 2 for Carol, 2 more elsewhere, then the allowance is used up
            for j in range(2):
                assert (await box.store(dave.address, mallory.address, f"m{j}", frame)).status == "stored"
            daily = await box.store(alice.address, mallory.address, "m9", frame)
            assert daily.status == "full" and daily.reason.startswith(REASON_DAILY + ":")
            # acknowledging does not give the allowance back; the next UTC day does
            assert await box.delete(dave.address, mallory.address, "m0")
            assert (await box.store(alice.address, mallory.address, "m9", frame)).status == "full"
            clock.now += DAY
            assert (await box.store(alice.address, mallory.address, "m9", frame)).status == "stored"
            # a duplicate is recognised before any quota
            assert (await box.store(alice.address, mallory.address, "m9", frame)).status == "duplicate"
        finally:
            await box.close()

        size = len(envelope(alice.address, carol.address, "t0").encode())
        box = await _open(tmp_path / "b.sqlite", MailboxLimits(total_bytes=3 * size), clock)
        try:
            for i in range(3):
                frame = envelope(alice.address, carol.address, f"t{i}")
                assert (await box.store(f"0x{i:040x}", alice.address, f"t{i}", frame)).status == "stored"
            over = await box.store(
                dave.address, alice.address, "t3", envelope(alice.address, dave.address, "t3")
            )
            assert over.status == "full" and over.reason.startswith(REASON_NODE + ":")
            assert box.total_bytes == 3 * size
            assert await box.delete("0x" + "0" * 40, alice.address, "t0")
            assert box.total_bytes == 2 * size
            assert (
                await box.store(
                    dave.address, alice.address, "t3", envelope(alice.address, dave.address, "t3")
                )
            ).status == "stored"
        finally:
            await box.close()
        reopened = await _open(tmp_path / "b.sqlite", MailboxLimits(), clock)
        assert reopened.total_bytes == 3 * size  # recomputed from the database on open
        await reopened.close()

    run(scenario())


def test_envelopes_expire_after_the_retention_and_are_swept(tmp_path: Path) -> None:
    clock = Clock()

    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", MailboxLimits(retention=3600), clock)
        try:
            await box.store(
                carol.address, alice.address, "old", envelope(alice.address, carol.address, "old")
            )
            clock.now += 1800
            await box.store(
                carol.address, alice.address, "new", envelope(alice.address, carol.address, "new")
            )
            clock.now += 1801
            held = [json.loads(f)["id"] for f in await box.pending(carol.address)]
            assert held == ["new"]  # expired envelopes are never handed out, even before a sweep
            before = box.total_bytes
            assert await box.sweep() == 1
            assert await box.count(carol.address) == 1
            assert box.total_bytes == before // 2
        finally:
            await box.close()

    run(scenario())


def test_a_full_disk_is_answered_with_mailbox_full_not_internal(tmp_path: Path) -> None:
    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", MailboxLimits())
        try:
            # SQLite's own page limit makes the database "full" exactly like a full file system does
            pages = await box._run(lambda: box._conn().execute("PRAGMA page_count").fetchone()[0])
            await box._run(lambda: box._conn().execute(f"PRAGMA max_page_count={pages + 2}"))
            async with relay(mailbox=box) as server:
                a = await RelayClient.connect(server.uri, alice)
                codes = []
                for i in range(6):
                    try:
                        await a.send(carol.address, m.Text(body="x" * 4000), id=f"f{i}")
                        codes.append("stored")
                    except RelayError as exc:
                        codes.append(exc.code)
                        assert exc.reason.startswith(REASON_DISK + ":"), exc.reason
                assert codes[-1] == "mailbox-full" and "internal" not in codes, codes
                assert server.stats["error:internal"] == 0
                stored = codes.count("stored")
                assert await box.count(carol.address) == stored  # nothing half-written
                await a.close()
        finally:
            await box.close()

    run(scenario())


async def _store_big(box: Mailbox, n: int, recipient: str = dave.address) -> None:
    for i in range(n):
        frame = big_frame(i, recipient)
        assert (await box.store(recipient, mallory.address, f"b{i}", frame)).status == "stored"


def test_large_stored_envelopes_are_handed_out_by_budget_without_cutting_the_recipient_off(
    tmp_path: Path,
) -> None:
    # 80 x 64 KB = 5.1 MB stored, more than the relay's slow-reader limit (1 MiB unsent per connection)
    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", MailboxLimits(per_recipient_bytes=2**30))
        try:
            await _store_big(box, 80)
            config = RelayConfig()
            async with relay(config, mailbox=box) as server:
                raw = await Raw.open(server.uri)
                raw.ws.transport.pause_reading()  # a phone waking up: reads a little later
                await raw.ws.send(raw.sign_in_frame(dave))
                await asyncio.sleep(0.5)
                raw.ws.transport.resume_reading()
                assert isinstance(await raw.frame(), m.SignedIn)
                first = []
                while True:  # without acks, the hand-out stops at its byte budget
                    try:
                        frame = await raw.frame(1.0)
                    except TimeoutError:
                        break
                    first.append(frame.envelope.id)
                assert 0 < len(first) < 80 and server.stats["slow-consumer-closed"] == 0
                size = len(big_frame(0, dave.address).encode())
                # as many as fit the budget: the mailbox's, and never more than half the slow-reader limit
                budget = min(box.limits.handout_bytes, config.max_buffered_bytes // 2)
                assert len(first) == budget // size
                await raw.close()
                # the reference client acks each one: all 80 arrive in one sign-in, in order
                c = await RelayClient.connect(server.uri, dave)
                got = [(await c.receive(10)).envelope.id for _ in range(80)]
                assert got == [f"b{i}" for i in range(80)]
                assert server.stats["slow-consumer-closed"] == 0 and not c.closed.is_set()
                for _ in range(100):
                    if await box.count(dave.address) == 0:
                        break
                    await asyncio.sleep(0.05)
                assert await box.count(dave.address) == 0
                await c.close()
        finally:
            await box.close()

    run(scenario())


@pytest.mark.slow
def test_two_hundred_large_envelopes_drain_in_one_sign_in(tmp_path: Path) -> None:
    """a10 `poison` as a test: 200 x 64 KB, the recipient signs in once and gets all of them."""

    async def scenario() -> None:
        box = await _open(
            tmp_path / "mb.sqlite", MailboxLimits(per_recipient_bytes=2**30, per_sender_per_recipient=200)
        )
        try:
            await _store_big(box, 200)
            async with relay(RelayConfig(), mailbox=box) as server:
                c = await RelayClient.connect(server.uri, dave)
                got = [(await c.receive(10)).envelope.id for _ in range(200)]
                assert got == [f"b{i}" for i in range(200)]
                assert server.stats["slow-consumer-closed"] == 0
                await c.close()
        finally:
            await box.close()

    run(scenario(), timeout=120)


def test_a_large_hand_out_is_queued_a_batch_per_event_loop_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipient with 300 stored envelopes signs in: all 300 were queued in one event-loop turn
    (1,000, the hand-out batch, took ~40 ms, ahead of every other client's frames); now the relay
    yields after every HAND_OUT_PER_TURN of them, and the recipient still gets all, in order."""
    turn = [0]
    queued: list[int] = []  # the turn each stored envelope was queued in
    stored_frame = m.stored_frame

    def counting(frame: str) -> str:
        queued.append(turn[0])
        return stored_frame(frame)

    monkeypatch.setattr(m, "stored_frame", counting)

    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", MailboxLimits(per_sender_per_recipient=300))
        try:
            for i in range(300):
                frame = envelope(mallory.address, dave.address, f"s{i}")
                assert (await box.store(dave.address, mallory.address, f"s{i}", frame)).status == "stored"
            async with relay(RelayConfig(), mailbox=box) as server:
                count_turns(turn)
                c = await RelayClient.connect(server.uri, dave)
                got = [(await c.receive(10)).envelope.id for _ in range(300)]
                assert got == [f"s{i}" for i in range(300)]
                per_turn = Counter(queued)
                assert max(per_turn.values()) <= HAND_OUT_PER_TURN, sorted(per_turn.items())
                await c.close()
        finally:
            await box.close()

    run(scenario(), timeout=120)


@pytest.mark.slow
def test_default_limits_keep_one_flooding_sender_from_locking_a_mailbox(tmp_path: Path) -> None:
    """a10 `fairness` as a test, with the default limits: Mallory floods until refused, Alice still stores."""

    async def scenario() -> None:
        box = Mailbox(tmp_path / "mb.sqlite")
        await box.open()
        try:
            async with relay(mailbox=box) as server:
                bad = await RelayClient.connect(server.uri, mallory)
                stored = 0
                with pytest.raises(RelayError) as err:
                    for i in range(box.limits.per_recipient + 1):
                        await bad.send(carol.address, m.Text(body="spam"), id=f"s{i}")
                        stored += 1
                assert err.value.code == "mailbox-full" and stored == box.limits.per_sender_per_recipient
                good = await RelayClient.connect(server.uri, alice)
                assert (await good.send(carol.address, m.Text(body="see you at 8"))).status == "stored"
                await bad.close()
                await good.close()
        finally:
            await box.close()

    run(scenario())


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_sender_per_recipient must be positive"):
        MailboxLimits(per_sender_per_recipient=0)


def test_the_hand_out_counts_against_the_nodes_memory_budget(tmp_path: Path) -> None:
    """Stored envelopes queued for a recipient are unsent bytes like forwarded ones: with the node's
    budget full (non-reading recipients of a flood), a hand-out waits instead of passing the budget,
    and resumes once the budget has room."""
    size = len(big_frame(0, dave.address).encode())
    config = RelayConfig(
        max_buffered_total=4 * size,
        socket_send_buffer=4096,
        rate_per_second=1e6,
        rate_burst=1e6,
        hand_out_retry=0.1,
    )

    async def scenario() -> None:
        box = await _open(tmp_path / "mb.sqlite", MailboxLimits(per_recipient_bytes=2**30))
        try:
            await _store_big(box, 12)
            async with relay(config, mailbox=box) as server:
                stuck = []
                for _ in range(2):  # carol on two connections that never read
                    raw = await Raw.open(server.uri)
                    await raw.sign_in(carol)
                    raw.ws.transport.pause_reading()
                    stuck.append(raw)
                sender = await Raw.open(server.uri)
                await sender.sign_in(alice)
                for i in range(40):  # fill the budget
                    big = m.Text(body="x" * (m.MAX_TEXT_CHARS - 100))
                    await sender.send(envelope(alice.address, carol.address, f"fill{i}", big))
                    if (await sender.obj()).get("code") == "recipient-busy":
                        break
                else:
                    raise AssertionError("the budget never filled")
                c = await RelayClient.connect(server.uri, dave)
                await asyncio.sleep(0.5)
                assert server.stats["hand-out-deferred"] > 0
                assert server.buffered <= config.max_buffered_total
                for raw in stuck:  # the flood's recipients go away: the budget has room again
                    raw.ws.transport.abort()
                got = [(await c.receive(10)).envelope.id for _ in range(12)]
                assert got == [f"b{i}" for i in range(12)]  # all of them, in order, once
                await c.close()
                await sender.close()
        finally:
            await box.close()

    run(scenario())
