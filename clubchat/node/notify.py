"""NOTIFY node ad delivery: campaigns from the chain to opted-in users, receipts back, settlement.

`NotifyService` attaches to a node's `RelayServer` (`relay.notify`) and
- follows AdMarket and Communities (`clubchat.node.notify_chain.AdMarketView`);
- keeps each user's signed `ad-preference` (EIP-712 `AdPreference`, clubchat.ads.preferences),
  the newest one winning; an opted-out user gets nothing and its queue is dropped;
- for every live campaign (started, not ended, paused or cancelled, creative resolved and matching
  its hash), records one notification for each opted-in user who qualifies and sends it as a
  `notification` frame to the user's connections; an offline user gets it at its next sign-in,
  until it receipts it or the campaign ends (`clubchat.node.notify_store`: durable, bounded per
  user and in all);
- qualifying is checked before anything is recorded, sent or handed out at sign-in, with every
  gate AdMarket checks at settlement: a member of a target community (anyone for an untargeted
  campaign) and, in a TOKEN_GATE community, still meeting its gate (`is_qualified_member` through
  an eth_call, cached with a short TTL: `clubchat.node.notify_chain.GateCache`), the campaign's
  minimum Premium tier, its minimum bonded stake (the node the user stakes with most becomes the
  receipt's settlement hint). A user who fails a gate gets nothing and so never signs a receipt
  that settlement would skip;
- sends a campaign again to a user who receipted the last one, up to the campaign's per-user cap,
  once `repeat_every` seconds (the operator's spacing) have passed since the last one; the
  client answers each with its cumulative receipt (count 1, 2, ...), and settlement pays the
  views above what was settled, at the same gas for any count;
- takes the user's signed cumulative `ad-receipt` (EIP-712 `Receipt`) for at most what it delivered,
  stores it durably before answering `receipted`, and settles the stored receipts in batches when
  their value reaches the operator's minimum (`settle_pending`, the same as `club node settle`).

Contract wallets (EIP-1271): a preference or receipt whose signature does not recover to its user
is asked of the user's wallet with `isValidSignature`, through the relay's `Eip1271Verifier`
(clubchat.node.eip1271, the same verifier as contract-wallet sign-in), as AdMarket asks it at
settlement. A receipt signature must be 65 bytes: AdMarket hands the wallet r || s || v.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from clubchat.ads.preferences import AdPreference, preference_digest, signed_by
from clubchat.ads.receipt_store import SettleResult, signed_by_user
from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest
from clubchat.aio import cancel_and_wait
from clubchat.chain.eip712 import Domain
from clubchat.node.notify_chain import AdMarketView, CampaignInfo
from clubchat.node.notify_gate import RequestGate
from clubchat.node.notify_store import NotifyStore
from clubchat.protocol import messages as m

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer
    from clubchat.node.relay_conn import Conn

log = logging.getLogger("clubchat.notify")

MAX_FUTURE_ISSUED = 300  # seconds a preference's `issued` may lie ahead of the node's clock


@dataclass(frozen=True)
class NotifyConfig:
    """Operator settings of ad delivery."""

    node: str  # the node's registry address: the `node` every receipt must name
    poll: float = 2.0  # seconds between chain syncs (and delivery passes)
    sweep_interval: float = 300.0  # seconds between sweeps of expired deliveries
    settle_min_wei: int | None = None  # settle automatically once stored receipts pay this; None: never
    settle_interval: float = 60.0  # seconds between automatic settlement checks
    repeat_every: float = 86_400.0  # seconds between two notifications of a campaign to one user

    def __post_init__(self) -> None:
        if self.repeat_every <= 0:
            raise ValueError("the spacing of repeated notifications must be positive")


async def handle_frame(relay: RelayServer, conn: Conn, frame: m.AdPreference | m.AdReceipt) -> None:
    """The relay's entry for ad frames: a node without a NotifyService answers `not-offered`."""
    service: NotifyService | None = relay.notify
    if service is None:
        relay._error(conn, "not-offered", "this node delivers no ad notifications")
    elif isinstance(frame, m.AdPreference):
        await service.preference(conn, frame)
    else:
        await service.receipt(conn, frame)


class NotifyService:
    """Ad delivery of one NOTIFY node (see the module docstring)."""

    def __init__(
        self,
        config: NotifyConfig,
        store: NotifyStore,
        view: AdMarketView,
        domain: Domain,
        settle: Callable[[], SettleResult] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.node = to_checksum_address(config.node)
        self.store = store
        self.view = view
        self.domain = domain
        self.settle = settle  # runs settle_pending with the node key (on the store's thread)
        self.clock = clock or view.now  # chain time: campaign windows are in it
        self.relay: RelayServer | None = None
        self.stats: Counter[str] = Counter()
        self.last_settle: SettleResult | None = None
        self._opted_in: set[str] = set()  # lower-case users whose newest preference is an opt-in
        self._offered: dict[int, set[str]] = {}  # campaign -> users recorded (mirror of the store)
        self._tasks: list[asyncio.Task[None]] = []

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self, relay: RelayServer) -> None:
        """Open the store, attach to `relay` and start following the chain (owned tasks)."""
        await self.store.open()
        self._opted_in = set(await self.store.run(self.store.opted_in))
        self.relay = relay
        relay.notify = self
        self._tasks.append(asyncio.create_task(self.view.run(self.config.poll, self.deliver_live)))
        self._tasks.append(asyncio.create_task(self._sweep_loop()))
        if self.settle is not None and self.config.settle_min_wei is not None:
            self._tasks.append(asyncio.create_task(self._settle_loop()))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks, quiet=True)
        self._tasks.clear()
        if self.relay is not None:
            self.relay.notify = None
        await self.store.close()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            dropped = await self.store.run(self.store.sweep, int(self.clock()))
            self.stats["swept"] += dropped
            ended = [c for c, info in self.view.campaigns.items() if info.end <= int(self.clock())]
            for cid in ended:  # bound: the campaigns seen
                self._offered.pop(cid, None)

    async def _settle_loop(self) -> None:
        assert self.settle is not None and self.config.settle_min_wei is not None
        while True:
            await asyncio.sleep(self.config.settle_interval)
            try:
                self.last_settle = await self.store.run(self.settle)
                self.stats["settled-receipts"] += self.last_settle.receipts
            except Exception as exc:  # an RPC or gas failure: try again next time
                log.warning("automatic settlement failed: %s", exc)
                self.stats["settle-failed"] += 1

    def status(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "opted_in": len(self._opted_in),
            "chain": self.view.status(),
            "queue_refused": self.store.refused,
            "stats": dict(self.stats),
        }

    # -- delivery ----------------------------------------------------------------------------------

    def _frame(self, info: CampaignInfo, count: int) -> str:
        assert info.text is not None
        return m.encode(
            m.Notification(
                campaign=info.campaign,
                node=self.node,
                count=count,
                creative_hash="0x" + info.creative_hash.hex(),
                creative_uri=info.creative_uri,
                text=info.text,
            )
        )

    def _send(self, user: str, text: str) -> int:
        """Queue `text` on every connection of `user`; returns how many took it."""
        assert self.relay is not None
        sent = 0
        for conn in tuple(self.relay.clients.get(user, ())):  # bound: max_sessions_per_address
            if self.relay._push(conn, text):
                sent += 1
        return sent

    async def deliver_live(self) -> None:
        """Record and send every live campaign to the opted-in users who qualify and lack it."""
        now = int(self.clock())
        for info in list(self.view.campaigns.values()):  # bound: the campaigns seen
            if info.live(now):
                await self._deliver(info, self._opted_in, now)

    async def _deliver(self, info: CampaignInfo, users: set[str], now: int) -> None:
        offered = self._offered.get(info.campaign)
        if offered is None:
            offered = self._offered[info.campaign] = await self.store.run(self.store.offered, info.campaign)
        todo: list[tuple[str, int, str]] = []
        candidates = [user for user in users if user not in offered]  # bound: the opted-in users
        await self.view.refresh_gates(info, candidates, now)
        for user in candidates:
            hints = self.view.qualifies(info, user, now)
            if hints is not None:
                todo.append((user, *hints))
            elif self.view.member_target(info, user, now) is not None:
                self.stats["gated"] += 1  # a member, short of the community's gate, the tier or the stake
        if todo:
            taken = await self.store.run(self.store.offer, info.campaign, info.end, todo, self.clock())
            offered.update(taken)
            self._send_all(info, [(user, 1) for user in taken])
        if info.per_user_cap > 1:
            await self._deliver_again(info, users, now)

    async def _deliver_again(self, info: CampaignInfo, users: set[str], now: int) -> None:
        """The next notification to each user in `users` who receipted the last one, is below the
        cap, was last sent `repeat_every` ago and still qualifies."""
        at = self.clock()  # to the fraction of a second: the spacing may be short
        due = await self.store.run(
            self.store.due_again, info.campaign, info.per_user_cap, at - self.config.repeat_every
        )
        todo: list[tuple[str, int, str]] = []
        due = [user for user in due if user in users]  # bound: the campaign's delivery rows
        await self.view.refresh_gates(info, due, now)
        for user in due:
            hints = self.view.qualifies(info, user, now)
            if hints is not None:
                todo.append((user, *hints))
        if not todo:
            return
        counts = await self.store.run(self.store.repeat, info.campaign, todo, info.per_user_cap, at)
        self._send_all(info, [(u, k) for (u, _, _), k in zip(todo, counts, strict=True) if k])

    def _send_all(self, info: CampaignInfo, deliveries: list[tuple[str, int]]) -> None:
        """Send each (user, count) just recorded; users not online find it queued at sign-in."""
        for user, count in deliveries:  # bound: the rows just recorded
            if self._send(user, self._frame(info, count)):
                self.stats["delivered"] += 1
            else:
                self.stats["queued"] += 1

    async def signed_in(self, conn: Conn) -> None:
        """Hand the user its pending notifications: those of campaigns still live that it still
        qualifies for (a member who fell below a community's gate, or was banned, since the
        notification was queued gets it only once it qualifies again)."""
        user = conn.address
        if user is None or user not in self._opted_in:
            return
        now = int(self.clock())
        for d in await self.store.run(self.store.pending, user, now):  # bound: max_pending_per_user
            info = self.view.campaigns.get(d.campaign)
            if info is None or not info.live(now):
                continue
            await self.view.refresh_gates(info, (user,), now)
            if self.view.qualifies(info, user, now) is None:
                self.stats["held"] += 1
                continue
            assert self.relay is not None
            if self.relay._push(conn, self._frame(info, d.count)):
                self.stats["handed-out"] += 1

    # -- frames from users -------------------------------------------------------------------------

    async def preference(self, conn: Conn, frame: m.AdPreference) -> None:
        assert self.relay is not None and conn.address is not None
        now = int(self.clock())
        pref = AdPreference(frame.user, frame.enabled, frame.issued)
        sig = bytes.fromhex(frame.signature[2:])
        if frame.user.lower() != conn.address:
            self.relay._error(conn, "bad-ad-preference", "the preference must be the signed-in user's own")
            return
        if frame.issued > now + MAX_FUTURE_ISSUED:
            self.relay._error(conn, "bad-ad-preference", "`issued` lies in the future; check the clock")
            return
        if not signed_by(self.domain, pref, sig) and not await self._wallet_signed(
            frame.user, preference_digest(self.domain, pref), sig
        ):
            self.relay._error(conn, "bad-ad-preference", "the signature is not the user's (AdPreference)")
            return
        if not await self.store.run(
            self.store.set_preference, conn.address, frame.enabled, frame.issued, sig
        ):
            self.relay._error(conn, "bad-ad-preference", "this node holds a newer preference of this user")
            return
        self.stats["opt-in" if frame.enabled else "opt-out"] += 1
        if frame.enabled:
            self._opted_in.add(conn.address)
        else:
            self._opted_in.discard(conn.address)
            for offered in self._offered.values():  # bound: live campaigns; queued rows were dropped
                offered.discard(conn.address)
        self.relay._push(conn, m.encode(m.AdPreferenceSet(enabled=frame.enabled, issued=frame.issued)))
        if frame.enabled:
            await self.signed_in(conn)  # what was queued before, then what is new
            for info in list(self.view.campaigns.values()):  # bound: the campaigns seen
                if info.live(now):
                    await self._deliver(info, {conn.address}, now)

    async def _wallet_signed(self, user: str, digest: bytes, signature: bytes) -> bool:
        """True when `user` is a contract wallet whose `isValidSignature(digest, signature)` says
        so (the relay's EIP-1271 verifier; False without one, for an EOA, or on any failure)."""
        verifier = None if self.relay is None else self.relay.verifier
        if verifier is None:
            return False
        ok = bool(await verifier.is_valid_signature(user, digest, signature))
        self.stats["eip1271-accepted" if ok else "eip1271-refused"] += 1
        return ok

    async def receipt(self, conn: Conn, frame: m.AdReceipt) -> None:
        assert self.relay is not None and conn.address is not None
        if frame.node.lower() != self.node.lower():
            self.relay._error(conn, "bad-receipt", f"this node signs receipts as {self.node}")
            return
        delivery = await self.store.run(self.store.delivery, conn.address, frame.campaign)
        if delivery is None or frame.count > delivery.count:
            delivered = 0 if delivery is None else delivery.count
            self.relay._error(
                conn,
                "bad-receipt",
                f"this node delivered {delivered} notifications of campaign {frame.campaign}",
            )
            return
        receipt = Receipt(frame.campaign, conn.checksum_address, self.node, frame.count)
        signed = SignedReceipt(
            receipt,
            bytes.fromhex(frame.signature[2:]),
            delivery.target,
            to_checksum_address(delivery.stake_node),
        )
        wallet = False
        if not signed_by_user(self.domain, signed):
            wallet = len(signed.signature) == 65 and await self._wallet_signed(
                receipt.user, receipt_digest(self.domain, receipt), signed.signature
            )
            if not wallet:
                self.relay._error(conn, "bad-receipt", "the signature is not the user's (Receipt)")
                return
        assert self.store.receipts is not None
        stored = await self.store.run(partial(self.store.receipts.add, signed, contract_wallet=wallet))
        await self.store.run(self.store.mark_receipted, conn.address, frame.campaign, frame.count)
        self.stats["receipts" if stored else "receipts-repeated"] += 1
        self.relay._push(conn, m.encode(m.Receipted(campaign=frame.campaign, count=frame.count)))


def ads_run_options(fn: Any) -> Any:
    """`club node run` options of ad delivery (a NOTIFY node with --rpc-url and an AdMarket)."""
    import click

    from clubchat.cli_params import ClubAmount

    fn = click.option(
        "--ads-settle-min",
        "ads_settle_min_wei",
        type=ClubAmount(),
        default=None,
        help="Settle stored ad receipts automatically once they pay this much CLUB [default: never; "
        "use `club node settle`].",
    )(fn)
    fn = click.option(
        "--ads-repeat-every",
        type=click.FloatRange(min=1.0),
        default=86_400.0,
        show_default=True,
        help="Seconds between two notifications of one campaign to one user (each one is receipted "
        "before the next; a campaign's per-user cap bounds how many).",
    )(fn)
    fn = click.option(
        "--ads-fetch-http/--no-ads-fetch-http",
        default=False,
        show_default=True,
        help="Fetch campaign creatives from http(s) URIs (data: URIs are always read).",
    )(fn)
    return fn


class NodeAds:
    """A chain-connected node's ad-market side: the AdMarket view, the paid-request gate every relay
    applies (`relay.gate`) and, on a NOTIFY node, the NotifyService (which then runs the view)."""

    def __init__(self, view: AdMarketView, service: NotifyService | None, poll: float = 2.0) -> None:
        self.view = view
        self.gate = RequestGate(view)
        self.service = service
        self.poll = poll
        self._task: asyncio.Task[None] | None = None
        self._relay: RelayServer | None = None

    async def start(self, relay: RelayServer) -> None:
        self._relay = relay
        relay.gate = self.gate
        if self.service is not None:
            await self.service.start(relay)
        else:
            self._task = asyncio.create_task(self.view.run(self.poll))

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task], quiet=True)
        if self.service is not None:
            await self.service.stop()
        if self._relay is not None:
            self._relay.gate = None

    def status(self) -> dict[str, Any]:
        if self.service is not None:
            return {**self.service.status(), "requests_refused": self.gate.refused}
        return {"chain": self.view.status(), "requests_refused": self.gate.refused}


def for_node(
    w3: Any,
    manifest: Any,
    data_dir: Any,
    notify: bool,
    operator: str,
    key: Any,
    depth: int,
    settle_min_wei: int | None = None,
    fetch_http: bool = False,
    repeat_every: float = 86_400.0,
) -> NodeAds | None:
    """The ad side of a chain-connected node, or None without an AdMarket in `manifest`. On a
    NOTIFY node (`notify`), receipts name `operator` (the registry node) and the node `key` sends
    the settlements."""
    from clubchat.ads.client import AdMarketClient
    from clubchat.ads.receipt_store import settle_pending
    from clubchat.chain.tx import LocalSender

    if "AdMarket" not in manifest.contracts:
        return None
    market = manifest.contract(w3, "AdMarket")
    communities = manifest.contract(w3, "Communities") if "Communities" in manifest.contracts else None
    optional = {
        name: manifest.contract(w3, name)
        for name in ("Premium", "NodeRegistry")
        if name in manifest.contracts
    }
    view = AdMarketView(
        w3, market, communities, manifest.block, depth, fetch_http,
        premium=optional.get("Premium") if notify else None,
        registry=optional.get("NodeRegistry") if notify else None,
    )  # fmt: skip
    if not notify:
        return NodeAds(view, None)
    domain = Domain.of(market)
    store = NotifyStore(data_dir, domain)
    min_wei = settle_min_wei
    settle = None
    if key is not None and min_wei is not None:
        client = AdMarketClient(w3, manifest, LocalSender(w3, key))

        def settle() -> SettleResult:
            assert store.receipts is not None and min_wei is not None
            return settle_pending(store.receipts, client, operator, min_wei)

    config = NotifyConfig(node=operator, settle_min_wei=settle_min_wei, repeat_every=repeat_every)
    return NodeAds(view, NotifyService(config, store, view, domain, settle=settle))
