"""Probing a node the way the node software and clients use it: the checks a reviewer runs.

For each kind the node is registered with, one check through the endpoints in the registry:

- relay: two fresh wallets sign in (EIP-4361), one sends a probe envelope to the other, which must
  receive it with the same id and body (and the sender its `sent`);
- notify: a fresh wallet sends to a second fresh wallet that is offline, the node must answer
  `sent` with status `stored`, and the second wallet must get the envelope on sign-in;
- turn: TURN credentials from the node's credential endpoint (wallet sign-in), then a TURN
  allocation at the registered `turn:` URI with them (coturn answers with a relayed address).

A flag for settling forged ad receipts (reason 7) is not probed: `audit_ad_receipts` reads the
flagged node's settled batches from AdMarket's logs and fails its one check when
`clubchat.ads.evidence.find_forged` finds a receipt the contract skipped as not signed by its user.

The verdict is what a reviewer commits: kick when any check of a registered kind failed (the node
takes rewards for a service it does not give), keep when all passed. Fresh wallets every time, and
every probe envelope sealed end to end as clients seal theirs (each fresh wallet publishes its key
bundle first), so a node cannot recognise a reviewer's probe and serve only it.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aioice.stun
from aioice.turn import create_turn_endpoint
from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.ads.evidence import find_forged
from clubchat.client.history import entry_of
from clubchat.client.relay_client import Received, RelayClient, RelayError
from clubchat.client.secure import Secure
from clubchat.client.turn_credentials import fetch_turn_credentials
from clubchat.communities.rooms import RoomClient
from clubchat.disputes.evidence import FlagEvidence, GrantedBy, MemberOf, check, fetch, parse
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import LogEntry
from clubchat.registry.kinds import NOTIFY, RELAY, TURN, TURN_CREDENTIAL
from clubchat.registry.words import node_record

PROBE_TIMEOUT = 10.0
LOG_RANGE = 5_000  # blocks per eth_getLogs request


@dataclass(frozen=True)
class Check:
    """One probe: which service, whether it worked, what was seen and how long it took."""

    name: str
    ok: bool
    detail: str
    ms: float

    def to_json(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


@dataclass(frozen=True)
class Endpoints:
    """A node's registered endpoints (empty string: kind not registered)."""

    node: str
    kinds: int
    relay: str = ""
    notify: str = ""
    turn: str = ""
    credential: str = ""


@dataclass(frozen=True)
class ProbeReport:
    node: str
    checks: tuple[Check, ...]
    at: float
    verdict: bool | None = None  # decided by the review (`review_history`), not by every check

    @property
    def kick(self) -> bool:
        """The reviewer's vote: kick when a registered service failed (or nothing could be probed),
        unless the review decided otherwise (`verdict`)."""
        if self.verdict is not None:
            return self.verdict
        return not self.checks or not all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "at": int(self.at),
            "verdict": "kick" if self.kick else "keep",
            "checks": [c.to_json() for c in self.checks],
        }

    def lines(self) -> list[str]:
        rows = [f"{'check':<8} {'result':<6} {'ms':>8}  detail"]
        rows += [f"{c.name:<8} {'ok' if c.ok else 'FAIL':<6} {c.ms:>8.1f}  {c.detail}" for c in self.checks]
        rows.append(f"verdict: {'kick' if self.kick else 'keep'} ({self.node})")
        return rows


def endpoints_of(registry: Any, node: str) -> Endpoints:
    """The endpoints `node` registered (sync web3 calls on the NodeRegistry contract)."""
    kinds = node_record(registry, node).kinds

    def uri(kind: int) -> str:
        return str(registry.functions.endpoint(node, kind).call()) if kinds & kind else ""

    credential = str(registry.functions.endpoint(node, TURN_CREDENTIAL).call()) if kinds & TURN else ""
    return Endpoints(node, kinds, uri(RELAY), uri(NOTIFY), uri(TURN), credential)


def _ws_of(uri: str) -> str:
    """The WebSocket endpoint of a NOTIFY node's http(s) URI (the same server answers both)."""
    return "ws" + uri.removeprefix("http") if uri.startswith("http") else uri


async def _timed(name: str, probe: Callable[[], Awaitable[str]], timeout: float) -> Check:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe(), timeout)
        ok = True
    except Exception as exc:  # every failure is a finding, reported in the table
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ok = False
    return Check(name, ok, detail, (time.perf_counter() - start) * 1000)


def _wallet() -> LocalAccount:
    return Account.from_key(secrets.token_bytes(32))


async def _closing(*clients: RelayClient | None) -> None:
    for c in clients:
        if c is not None:
            with contextlib.suppress(Exception):
                await c.close()


async def _sealed(uri: str, timeout: float, wallet: LocalAccount | None = None) -> tuple[RelayClient, Secure]:
    """`wallet` (default: a fresh one) signed in at `uri`, its key bundle published there (so it
    can be sealed to)."""
    wallet = wallet or _wallet()
    client = await RelayClient.connect(uri, wallet, timeout=timeout)
    secure = Secure(wallet)
    await secure.ready(client)
    return client, secure


async def _opened(secure: Secure, client: RelayClient, timeout: float) -> Received:
    """The next envelope `client` gets that opens for `secure` (acknowledged); TimeoutError if none
    comes within `timeout` of the call."""
    async with asyncio.timeout(timeout):
        while True:  # bound: one envelope per pass, until the timeout
            got = await secure.open(client, await client.inbox.get())
            if got is not None:
                return got


async def probe_relay(uri: str, timeout: float = PROBE_TIMEOUT) -> str:
    """Sign in twice and pass one envelope, sealed end to end like every client's, from one wallet
    to the other (a plaintext probe would tell the relay which envelopes are a reviewer's)."""
    a = b = None
    try:
        a, sa = await _sealed(uri, timeout)
        b, sb = await _sealed(uri, timeout)
        body = "probe " + secrets.token_hex(8)
        sent = await sa.send(a, b.address, m.Text(body=body))
        got = await _opened(sb, b, timeout)
        if got.envelope.id != sent.id or got.envelope.payload != m.Text(body=body):
            raise RuntimeError("the envelope received is not the one sent")
        signed = "signed entry" if sent.entry is not None else "no signed entry"
        return f"sign-in x2, envelope {sent.status} and received ({signed})"
    finally:
        await _closing(a, b)


async def probe_notify(uri: str, timeout: float = PROBE_TIMEOUT) -> str:
    """Send to an offline wallet: the node must store it and hand it out on the wallet's sign-in."""
    ws = _ws_of(uri)
    a = b = None
    offline = _wallet()
    try:
        a, sa = await _sealed(ws, timeout)
        b, sb = await _sealed(ws, timeout, offline)  # its bundle, for the sender to seal to
        await b.close()
        body = "mailbox probe " + secrets.token_hex(8)
        sent = await sa.send(a, offline.address, m.Text(body=body))
        if sent.status != "stored":
            raise RuntimeError(f"the envelope for an offline wallet was {sent.status}, not stored")
        b = await RelayClient.connect(ws, offline, timeout=timeout)
        got = await _opened(sb, b, timeout)
        if got.envelope.id != sent.id or got.envelope.payload != m.Text(body=body):
            raise RuntimeError("the mailbox handed out another envelope")
        return "stored for an offline wallet and fetched on its sign-in"
    finally:
        await _closing(a, b)


def _turn_address(uri: str) -> tuple[str, int]:
    """(host, port) of a `turn:host:port?transport=udp` URI (port 3478 when absent)."""
    rest = uri.split(":", 1)[1].split("?", 1)[0]
    parts = urlsplit("//" + rest)
    return parts.hostname or "", parts.port or 3478


async def probe_turn(uri: str, credential_endpoint: str, timeout: float = PROBE_TIMEOUT) -> str:
    """Credentials from the credential endpoint, then one TURN allocation with them."""
    creds = await fetch_turn_credentials(credential_endpoint, _wallet(), timeout)
    host, port = _turn_address(uri)

    class Sink(asyncio.DatagramProtocol):
        pass

    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.1  # a silent server fails within the timeout, not after 8 retries of 0.5 s
    try:
        transport, _ = await create_turn_endpoint(
            Sink, (host, port), creds.username, creds.password, lifetime=60
        )
    finally:
        aioice.stun.RETRY_RTO = old
    relayed = transport.get_extra_info("sockname")
    transport.close()
    return f"credentials from {credential_endpoint}, allocation relayed at {relayed[0]}:{relayed[1]}"


async def probe(ep: Endpoints, timeout: float = PROBE_TIMEOUT) -> ProbeReport:
    """Every check of the kinds `ep.node` is registered with."""
    checks: list[Check] = []
    if ep.kinds & RELAY:
        checks.append(await _timed("relay", lambda: probe_relay(ep.relay, timeout), timeout * 3))
    if ep.kinds & NOTIFY:
        checks.append(await _timed("notify", lambda: probe_notify(ep.notify, timeout), timeout * 3))
    if ep.kinds & TURN:
        checks.append(await _timed("turn", lambda: probe_turn(ep.turn, ep.credential, timeout), timeout * 3))
    return ProbeReport(ep.node, tuple(checks), time.time())


def audit_ad_receipts(market: Any, node: str, from_block: int, to_block: int) -> ProbeReport:
    """The forged-receipt check of `node` (a web3.py AdMarket contract, or None when the deployment
    has none): every batch settled for it in blocks from_block..to_block, read LOG_RANGE blocks at a
    time. Kick iff one of them held a receipt its user never signed."""
    start = time.perf_counter()
    if market is None:
        check = Check("ads", True, "the deployment has no AdMarket: no receipt to forge", 0.0)
        return ProbeReport(node, (check,), time.time())
    forged = []
    block = from_block
    while block <= to_block:  # bound: (to_block - from_block) / LOG_RANGE requests
        end = min(to_block, block + LOG_RANGE - 1)
        forged += find_forged(market, node, block, end)
        block = end + 1
    ms = (time.perf_counter() - start) * 1000
    if forged:
        first = forged[0]
        detail = (
            f"{len(forged)} settled receipt(s) not signed by their user, first in tx {first.tx} "
            f"(campaign {first.campaign}, user {first.user}, {first.count} views)"
        )
    else:
        detail = f"no forged receipt in the batches settled for it in blocks {from_block}-{to_block}"
    return ProbeReport(node, (Check("ads", not forged, detail, ms),), time.time())


HISTORY_PROBE_ENVELOPES = 3


async def probe_history(
    uri: str, signed_by: Callable[[LogEntry, bytes], bool], timeout: float = PROBE_TIMEOUT
) -> str:
    """Two fresh wallets: one sends HISTORY_PROBE_ENVELOPES envelopes to the other, which must get
    them all (nothing dropped), then asks the relay with `history` for the room's entries 1..n: the
    relay must produce every one, chained, the same entries it acknowledged, the last signed by the
    node's key (nothing withheld)."""
    a = b = None
    try:
        a, sa = await _sealed(uri, timeout)
        b, sb = await _sealed(uri, timeout)
        answers: asyncio.Queue[Any] = asyncio.Queue()

        async def keep(frame: Any) -> None:
            answers.put_nowait(frame)

        a.on_other = keep  # `entries` and `error` answers (a RelayClient without a HistoryBook)
        acked: list[LogEntry] = []
        for i in range(HISTORY_PROBE_ENVELOPES):
            sent = await sa.send(a, b.address, m.Text(body=f"history probe {i} " + secrets.token_hex(8)))
            if sent.entry is None:
                raise RuntimeError("the relay acknowledged an envelope without a signed-history entry")
            acked.append(entry_of(sent.entry))
        for i in range(HISTORY_PROBE_ENVELOPES):
            try:
                await _opened(sb, b, timeout)
            except TimeoutError:
                lost = HISTORY_PROBE_ENVELOPES - i
                raise RuntimeError(
                    f"dropped: {lost} of {HISTORY_PROBE_ENVELOPES} acknowledged envelopes never reached"
                    " their online recipient"
                ) from None
        last = acked[-1].seq
        await a.ask_history(b.address, 1, last)
        answer = await asyncio.wait_for(answers.get(), timeout)
        while not isinstance(answer, m.Entries | m.Error):  # other frames (notifications) pass by
            answer = await asyncio.wait_for(answers.get(), timeout)
        if isinstance(answer, m.Error):
            raise RuntimeError(f"history refused: {answer.code}: {answer.reason}")
        got = [entry_of(r.entry) for r in answer.records]
        if [e.seq for e in got] != list(range(1, last + 1)):
            raise RuntimeError(
                f"withheld: asked for entries 1-{last} it signed, got {[e.seq for e in got] or 'none'}"
            )
        for e, before in zip(got[1:], got, strict=False):
            if e.prev != before.struct_hash():
                raise RuntimeError(f"entry {e.seq} does not follow entry {before.seq}")
        if any(e not in got for e in acked):
            raise RuntimeError("the history differs from the entries it acknowledged")
        sig = answer.records[-1].sig
        if sig is None or not signed_by(got[-1], bytes.fromhex(sig.removeprefix("0x"))):
            raise RuntimeError("the last entry of its answer is not signed by the node's key")
        return f"{last} envelopes received, their {last} signed entries produced on request"
    finally:
        await _closing(a, b)


async def _granted_entries(
    uri: str, ev: FlagEvidence, start: int, end: int, timeout: float
) -> tuple[m.SignedRecord, ...]:
    """A fresh wallet's request, with the flagger's grant, for entries start..end of the flagger's
    room: `history` with `peer` for a direct room, `room-history` for a community room. The records
    the relay answered, or RuntimeError when it refused the grant."""
    assert ev.grant is not None
    place = ev.community_room
    a = None
    try:
        a = await RoomClient.connect(uri, _wallet(), timeout=timeout)
        assert isinstance(a, RoomClient)
        if place is not None:
            try:
                return (await a.room_history(*place, start, end, grant=ev.grant)).records
            except RelayError as exc:
                raise RuntimeError(f"refused the flagger's grant: {exc.code}: {exc.reason}") from None
        assert ev.peer is not None
        answers: asyncio.Queue[Any] = asyncio.Queue()

        async def keep(frame: Any) -> None:
            answers.put_nowait(frame)

        a.on_other = keep
        await a.ask_history(ev.peer, start, end, grant=ev.grant)
        answer = await asyncio.wait_for(answers.get(), timeout)
        while not isinstance(answer, m.Entries | m.Error):  # other frames pass by
            answer = await asyncio.wait_for(answers.get(), timeout)
        if isinstance(answer, m.Error):
            raise RuntimeError(f"refused the flagger's grant: {answer.code}: {answer.reason}")
        return answer.records
    finally:
        await _closing(a)


async def probe_granted_history(
    uri: str, ev: FlagEvidence, signed_by: Callable[[LogEntry, bytes], bool], timeout: float = PROBE_TIMEOUT
) -> str:
    """A fresh wallet asks the relay, with the flagger's grant, for the seqs the flagger says are
    missing and the entries up to its signed head (at most MAX_HISTORY) of the flagger's room, a
    direct one or a community room (`_granted_entries`): the relay must produce every one, of that
    room, chained, leading to the head it signed (the same entry at the head's seq, or the head's
    `prev` after the last), the last signed by the node's key."""
    head = ev.head.entry
    start = ev.missing[0]
    end = min(head.seq, start + m.MAX_HISTORY - 1)
    records = await _granted_entries(uri, ev, start, end, timeout)
    got = [entry_of(r.entry) for r in records]
    seqs = [e.seq for e in got]
    if seqs != list(range(start, end + 1)):
        raise RuntimeError(
            f"withheld: asked with the flagger's grant for entries {start}-{end} of its room, which"
            f" the relay signed up to {head.seq}; got {seqs or 'none'}"
        )
    if any(e.room != head.room or e.node != head.node for e in got):
        raise RuntimeError("the relay answered with entries of another room")
    for e, before in zip(got[1:], got, strict=False):
        if e.prev != before.struct_hash():
            raise RuntimeError(f"entry {e.seq} does not follow entry {before.seq}")
    last = got[-1]
    if last.seq == head.seq:
        leads = last == head
    else:  # the answer ends before the head: the head must follow it (unless capped further down)
        leads = last.seq + 1 < head.seq or head.prev == last.struct_hash()
    if not leads:
        raise RuntimeError(f"the entries produced do not lead to the signed head (seq {head.seq})")
    sig = records[-1].sig
    if sig is None or not signed_by(last, bytes.fromhex(sig.removeprefix("0x"))):
        raise RuntimeError("the last entry of its answer is not signed by the node's key")
    return f"entries {start}-{end} of the flagger's room produced with its grant, leading to seq {head.seq}"


async def review_history(
    ep: Endpoints,
    evidence_uri: str,
    signed_by: Callable[[LogEntry, bytes], bool],
    window: int,
    granted_by: GrantedBy | None = None,
    member_of: MemberOf | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> ProbeReport:
    """A flag for dropping messages or withholding history: the flag's evidence (fetched from
    `evidence_uri`, checked against the node's keys and, for its grant, `granted_by` and, for a
    community room's grant, the granter's membership `member_of`), the relay's
    own behaviour towards a room of the reviewer's (`probe_history`) and, when the evidence carries
    the flagger's grant, towards the flagger's room itself (`probe_granted_history`), with the node's
    service checks (`probe`). Kick when a service check fails, or when the evidence holds and the
    relay drops or withholds in a probed room; a flag whose evidence does not hold is not upheld by
    a history failure alone."""
    report = await probe(ep, timeout)
    held: list[FlagEvidence] = []

    async def evidence() -> str:
        data = await asyncio.to_thread(fetch, evidence_uri)
        ev = parse(data)
        said = await asyncio.to_thread(check, ev, ep.node, signed_by, window, None, granted_by, member_of)
        held.append(ev)
        return said

    proved = await _timed("evidence", evidence, timeout * 2)
    history = await _timed("history", lambda: probe_history(ep.relay, signed_by, timeout), timeout * 3)
    probed = [history]  # the rooms the relay was asked for: the reviewer's, and the flagger's with its grant
    if held and held[0].grant is not None:
        ev = held[0]
        room = lambda: probe_granted_history(ep.relay, ev, signed_by, timeout)  # noqa: E731
        probed.append(await _timed("room", room, timeout * 2))
    service_failed = not report.checks or not all(c.ok for c in report.checks)
    kick = service_failed or (proved.ok and not all(c.ok for c in probed))
    checks = (*report.checks, proved, *probed)
    return ProbeReport(ep.node, checks, time.time(), verdict=kick)
