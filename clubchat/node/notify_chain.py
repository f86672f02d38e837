"""What a NOTIFY node knows of the ad market: AdMarket's and Communities' events, followed from the
chain a confirmation depth behind the head (the RegistryCache pattern), plus the creatives.

- campaigns (`CampaignInfo`: price, cap, window, targets, paused/cancelled) from `CampaignCreated`,
  `CampaignPaused`, `CampaignResumed`, `CampaignCancelled`, `CampaignRefunded`;
- community memberships (`clubchat.communities.cache.MembershipCache`, the cache the relay rooms
  use: `MemberJoined` and a staff batch's `MembersAdded` with the expiry, `MemberRemoved`, `Banned`,
  `Unbanned`): who qualifies for a
  targeted campaign (a banned member does not, from the ban on), and which addresses share a
  community (strangers do not);
- paid message requests: each account's price (`RequestPriceSet`), the escrows open now
  (`RequestSent` until `RequestRefunded`) and the accepted ones (`RequestAccepted`);
- with Premium: every account's tier (`clubchat.communities.cache.TierCache`), for campaigns that
  require a minimum tier;
- with NodeRegistry: every account's bonded stake per node (`StakeCache`, from `Staked`, `Unbonded`,
  `Rebonded`, `Slashed`), for campaigns that require a minimum stake.

Everything but one question is answered from memory, without an RPC call per user; settlement
re-checks membership on chain, so a stale cache costs the node a skipped receipt, never money.
The one question: in a TOKEN_GATE community (or one whose policy this view has not seen), does a
member still meet the community's gate (a CLUB balance, a stake, a tier)? Settlement asks
`Communities.is_qualified_member`, and a member below the gate is skipped ("ads: community gate
not met"), so the node asks the same view with an `eth_call` before it records or sends anything
(`GateCache`): a member below the gate gets nothing and signs nothing. Why a cache with a short TTL
rather than following CLUB `Transfer` events: the gate may be a balance, a stake or a tier (a tier
expires with time, not with an event), and following every CLUB transfer costs every NOTIFY node
the whole token's traffic, while the node only needs the answer when a delivery is due (once per
campaign and user, then once per repeat). Each answer is trusted for `ttl` seconds (60 by
default); a `TokenGateChanged` or `PolicyChanged` event drops a community's answers at once; the
cache holds at most `limit` answers (the oldest half is dropped past it). An RPC failure answers
nothing: the user is not sent the campaign in that pass, and the next pass asks again.

Creatives: a notification carries the creative's text, whose keccak256 must be the campaign's
`creative_hash` (the client checks it again). `resolve_creative` reads `data:` URIs (RFC 2397) and,
when the operator allows it, http(s) URIs with a size and time limit.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address

from clubchat.chain.logs import log_chunks
from clubchat.communities.cache import CommunityState, MembershipCache, TierCache

log = logging.getLogger("clubchat.notify")

MAX_CREATIVE_BYTES = 65_536  # a creative larger than this is not delivered
TOKEN_GATE = 4  # Communities' join policy whose gate `is_qualified_member` checks again
UNKNOWN_POLICY = 0  # a community created before the view's first block: its policy is not known
GATE_TTL = 60.0  # seconds an `is_qualified_member` answer is trusted
MAX_GATE_ANSWERS = 200_000  # (community, account) answers held; past it the oldest half is dropped
NEVER = 2**64 - 1  # Communities' expiry of a membership that does not expire
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass
class StakeCache:
    """Bonded stake from NodeRegistry's events: what `assets_of(node, account)` answers, rounded
    as the registry rounds (one virtual share and one virtual wei, down)."""

    pools: dict[str, list[int]] = field(default_factory=dict)  # node -> [bonded assets, bonded shares]
    shares: dict[str, dict[str, int]] = field(default_factory=dict)  # account -> node -> bonded shares

    def apply(self, name: str, a: Any) -> None:
        if name not in ("Staked", "Rebonded", "Unbonded", "Slashed"):
            return
        node = a["node"].lower()
        pool = self.pools.setdefault(node, [0, 0])
        if name == "Slashed":
            pool[0] -= int(a["bonded_cut"])
            return
        sign = -1 if name == "Unbonded" else 1
        pool[0] += sign * int(a["assets"])
        pool[1] += sign * int(a["shares"])
        held = self.shares.setdefault(a["account"].lower(), {})
        held[node] = held.get(node, 0) + sign * int(a["shares"])

    def assets_of(self, node: str, account: str) -> int:
        assets, total = self.pools.get(node.lower(), (0, 0))
        return self.shares.get(account.lower(), {}).get(node.lower(), 0) * (assets + 1) // (total + 1)

    def best(self, account: str) -> tuple[str, int]:
        """The node `account` has the most bonded stake with, and that stake (ZERO_ADDRESS, 0: none)."""
        best: tuple[str, int] = (ZERO_ADDRESS, 0)
        for node in self.shares.get(account.lower(), {}):  # bound: the nodes the account stakes with
            assets = self.assets_of(node, account)
            if assets > best[1]:
                best = (to_checksum_address(node), assets)
        return best


class GateCache:
    """`Communities.is_qualified_member(community, account)` answers, each trusted for `ttl` seconds
    of `clock` (monotonic by default), at most `limit` of them (the oldest half is dropped at once
    past it: amortised O(1)); `forget` drops a community's answers (its gate or policy changed)."""

    def __init__(
        self, ttl: float = GATE_TTL, limit: int = MAX_GATE_ANSWERS, clock: Any = time.monotonic
    ) -> None:
        if ttl < 0 or limit < 2:
            raise ValueError("the gate cache needs a TTL >= 0 and room for two answers")
        self.ttl, self.limit, self.clock = ttl, limit, clock
        # (community, lower-case account) -> (qualified, when asked, the community's generation)
        self._answers: dict[tuple[int, str], tuple[bool, float, int]] = {}
        self._generation: dict[int, int] = {}  # community -> times its answers were dropped
        self.asked = 0  # eth_calls made (answers stored)

    def __len__(self) -> int:
        return len(self._answers)

    def answer(self, community: int, account: str) -> bool | None:
        """The answer for (community, account) if it is fresh, else None (ask the chain)."""
        held = self._answers.get((community, account.lower()))
        if held is None:
            return None
        ok, at, generation = held
        if generation != self._generation.get(community, 0) or self.clock() - at > self.ttl:
            return None
        return ok

    def put(self, community: int, account: str, ok: bool) -> None:
        key = (community, account.lower())
        self._answers.pop(key, None)  # re-inserted last: the dict's order is the age order
        if len(self._answers) >= self.limit:
            for old in list(self._answers)[: self.limit // 2]:  # bound: half the cache, once per limit/2 puts
                del self._answers[old]
        self._answers[key] = (ok, self.clock(), self._generation.get(community, 0))
        self.asked += 1

    def forget(self, community: int) -> None:
        """Drop every answer about `community` (lazily: they no longer match its generation)."""
        self._generation[community] = self._generation.get(community, 0) + 1


@dataclass
class CampaignInfo:
    """One campaign as AdMarket's events describe it (amounts wei, times unix seconds)."""

    campaign: int
    advertiser: str
    price: int
    per_user_cap: int
    start: int
    end: int
    creative_hash: bytes
    creative_uri: str
    targets: tuple[int, ...]
    min_tier: int
    min_stake: int
    paused: bool = False
    cancelled: bool = False
    refunded: bool = False
    text: str | None = None  # the resolved creative; None until resolved (or when it does not match)
    bad_creative: str = ""  # why the creative cannot be delivered, when it cannot

    def live(self, now: int) -> bool:
        """Deliverable now: started, not ended, not paused or cancelled, creative resolved."""
        return (
            self.start <= now < self.end
            and not (self.paused or self.cancelled or self.refunded)
            and self.text is not None
        )


def resolve_creative(uri: str, allow_http: bool, timeout: float = 5.0) -> bytes:
    """The creative's bytes from a `data:` URI (or an http(s) one when allowed); raises ValueError."""
    if uri.startswith("data:"):
        header, sep, payload = uri[5:].partition(",")
        if not sep:
            raise ValueError("a data: URI needs a comma before its data")
        if header.endswith(";base64"):
            return base64.b64decode(payload, validate=True)
        return urllib.parse.unquote_to_bytes(payload)
    if uri.startswith(("http://", "https://")) and allow_http:
        with urllib.request.urlopen(uri, timeout=timeout) as resp:
            body = bytes(resp.read(MAX_CREATIVE_BYTES + 1))
        if len(body) > MAX_CREATIVE_BYTES:
            raise ValueError(f"the creative is larger than {MAX_CREATIVE_BYTES} bytes")
        return body
    raise ValueError(f"this node does not fetch creatives from {uri[:40]!r}")


def creative_text(info: CampaignInfo, allow_http: bool) -> str:
    """The creative as text, checked against the campaign's hash; raises ValueError."""
    body = resolve_creative(info.creative_uri, allow_http)
    if len(body) > MAX_CREATIVE_BYTES:
        raise ValueError(f"the creative is larger than {MAX_CREATIVE_BYTES} bytes")
    if keccak(body) != info.creative_hash:
        raise ValueError("the creative's keccak256 is not the campaign's creative hash")
    return body.decode("utf-8")


@dataclass
class AdMarketView:
    """AdMarket and Communities as their events describe them, `depth` blocks behind the head."""

    w3: Any
    market: Any
    communities: Any | None
    from_block: int
    depth: int = 0
    allow_http: bool = False
    premium: Any | None = None  # followed for tier-gated campaigns (None: they reach nobody)
    registry: Any | None = None  # followed for stake-gated campaigns (None: they reach nobody)
    gates: GateCache = field(default_factory=GateCache)  # TOKEN_GATE re-checks (is_qualified_member)
    tiers: TierCache = field(default_factory=TierCache)
    stakes: StakeCache = field(default_factory=StakeCache)
    campaigns: dict[int, CampaignInfo] = field(default_factory=dict)
    membership: MembershipCache = field(default_factory=MembershipCache)
    request_price: dict[str, int] = field(default_factory=dict)  # lower-case account -> wei (>0 only)
    escrows: set[tuple[str, str]] = field(default_factory=set)  # (sender, recipient), lower-case, open
    accepted: set[tuple[str, str]] = field(default_factory=set)  # (sender, recipient) accepted once
    rpc_ok: bool = False
    last_error: str | None = None
    events: int = 0

    def __post_init__(self) -> None:
        self.synced_block = self.from_block - 1
        # (lower-case contract address, topic) -> the event that decodes it (contracts share names)
        self._by_topic: dict[tuple[str, bytes], Any] = {}
        followed = [c for c in (self.market, self.communities, self.premium, self.registry) if c is not None]
        for contract in followed:
            for abi in contract.abi:
                if abi.get("type") == "event":
                    event = getattr(contract.events, abi["name"])()
                    self._by_topic[(contract.address.lower(), event_abi_to_log_topic(abi))] = event
        self._addresses = [c.address for c in followed]
        self._premium = None if self.premium is None else self.premium.address.lower()
        self._communities = None if self.communities is None else self.communities.address.lower()
        self._registry = None if self.registry is None else self.registry.address.lower()
        self._chain_time: tuple[int, float] | None = None  # (head timestamp, wall clock first seen)
        self._last_now = 0.0

    def now(self) -> float:
        """The chain's time: the newest head's timestamp plus the wall time since that head was first
        seen (the wall clock before the first sync), never going back. Campaign windows, memberships
        and the spacing of repeated notifications are in chain time. A chain that mines no block for
        a while (a quiet dev chain) still moves on with the wall clock."""
        if self._chain_time is None:
            return time.time()
        ts, at = self._chain_time
        self._last_now = max(self._last_now, ts + (time.time() - at))
        return self._last_now

    def _saw_head(self, timestamp: int) -> None:
        """Note the head's timestamp; the same head seen again does not reset the clock."""
        if self._chain_time is None or self._chain_time[0] != timestamp:
            self._chain_time = (timestamp, time.time())

    # -- following the chain ----------------------------------------------------------------------

    def sync_once(self) -> int:
        """Apply the events of confirmed blocks not yet seen, then resolve new creatives (blocking)."""
        head = self.w3.eth.get_block("latest")
        self._saw_head(int(head["timestamp"]))
        target = int(head["number"]) - self.depth
        applied = 0
        for end, logs in log_chunks(self.w3, self._addresses, self.synced_block, target):
            for raw in logs:  # bound: the chunk's logs
                source = str(raw["address"]).lower()
                event = self._by_topic.get((source, bytes(raw["topics"][0])))
                if event is None:
                    continue
                decoded = event.process_log(raw)
                if source == self._premium:
                    self.tiers.apply(decoded["event"], decoded["args"])
                elif source == self._registry:
                    self.stakes.apply(decoded["event"], decoded["args"])
                elif source == self._communities:
                    self.apply_membership(decoded["event"], decoded["args"])
                else:
                    self._apply(decoded)
                applied += 1
            self.synced_block = end
        self.events += applied
        for info in self.campaigns.values():  # bound: the campaigns seen
            if info.text is None and not info.bad_creative:
                try:
                    info.text = creative_text(info, self.allow_http)
                except (ValueError, OSError, UnicodeDecodeError) as exc:
                    info.bad_creative = str(exc)[:200]
                    log.warning("campaign %d is not delivered: %s", info.campaign, info.bad_creative)
        return applied

    def _apply(self, ev: Any) -> None:
        name, a = ev["event"], ev["args"]
        if name == "CampaignCreated":
            cid = int(a["campaign"])
            self.campaigns[cid] = CampaignInfo(
                campaign=cid,
                advertiser=to_checksum_address(a["advertiser"]),
                price=int(a["price"]),
                per_user_cap=int(a["per_user_cap"]),
                start=int(a["start"]),
                end=int(a["end"]),
                creative_hash=bytes(a["creative_hash"]),
                creative_uri=str(a["creative_uri"]),
                targets=tuple(int(t) for t in a["targets"]),
                min_tier=int(a["min_tier"]),
                min_stake=int(a["min_stake"]),
            )
        elif name in ("CampaignPaused", "CampaignResumed", "CampaignCancelled", "CampaignRefunded"):
            info = self.campaigns.get(int(a["campaign"]))
            if info is None:
                return
            if name == "CampaignPaused":
                info.paused = True
            elif name == "CampaignResumed":
                info.paused = False
            elif name == "CampaignCancelled":
                info.cancelled, info.end = True, int(a["at"])
            else:
                info.refunded = True
        elif name == "RequestPriceSet":
            account, price = a["account"].lower(), int(a["price"])
            if price:
                self.request_price[account] = price
            else:
                self.request_price.pop(account, None)
        elif name == "RequestSent":
            self.escrows.add((a["sender"].lower(), a["recipient"].lower()))
        elif name == "RequestAccepted":
            pair = (a["sender"].lower(), a["recipient"].lower())
            self.escrows.discard(pair)
            self.accepted.add(pair)
        elif name == "RequestRefunded":
            self.escrows.discard((a["sender"].lower(), a["recipient"].lower()))

    def apply_membership(self, name: str, a: Any) -> None:
        """One Communities event into the membership cache. A community whose creation lies before
        `from_block` gets a record with no owner or policy (this view needs neither), so its members,
        bans and removals after `from_block` still count."""
        if "community_id" not in a:
            return
        community = int(a["community_id"])
        if name in ("TokenGateChanged", "PolicyChanged"):
            self.gates.forget(community)
        if name != "CommunityCreated" and community not in self.membership.communities:
            self.membership.communities[community] = CommunityState(
                owner="", policy=0, membership_seconds=0, fail_open=False
            )
        self.membership.apply(name, a)

    async def run(self, poll: float, on_synced: Any = None) -> None:
        """Follow the chain until cancelled, calling `on_synced()` after each pass; never raises on
        RPC failures (the cache is kept and `last_error` says why it is stale)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.sync_once)
                self.rpc_ok, self.last_error = True, None
            except Exception as exc:  # any RPC failure: keep the cache, say so
                self.rpc_ok = False
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            if on_synced is not None:
                try:
                    await on_synced()
                except Exception:  # a bug must cost this pass, never the node
                    log.exception("notify: delivery pass failed")
            await asyncio.sleep(poll)

    # -- questions the node asks --------------------------------------------------------------------

    def gated(self, community: int) -> bool:
        """True when settlement checks more than membership in `community`: a TOKEN_GATE community,
        or one whose policy this view has not seen (created before its first block). Without a
        followed Communities contract there is nothing to ask (and no membership to follow)."""
        if self.communities is None:
            return False
        state = self.membership.communities.get(community)
        return state is None or state.policy in (TOKEN_GATE, UNKNOWN_POLICY)

    def member_target(self, info: CampaignInfo, user: str, now: int | None = None) -> int | None:
        """The index of the first target community `user` is a member of (0 for an untargeted
        campaign), or None when it is a member of none; community gates are not looked at."""
        return self._first_target(info, user, now, gates=False)

    def qualifying_target(self, info: CampaignInfo, user: str, now: int | None = None) -> int | None:
        """The index of the first target community that qualifies `user` as settlement checks it
        (`Communities.is_qualified_member`: a member, and in a gated community meeting the gate by
        a fresh answer of the gate cache; `refresh_gates` asks), 0 for an untargeted campaign, or
        None. A gated community without a fresh answer does not qualify the user (yet)."""
        return self._first_target(info, user, now, gates=True)

    def _first_target(self, info: CampaignInfo, user: str, now: int | None, gates: bool) -> int | None:
        if not info.targets:
            return 0
        if not self.membership.communities_of(user):
            return None
        at = int(self.now()) if now is None else now
        for i, community in enumerate(info.targets):  # bound: 16 targets
            if self.membership.is_member(community, user, at) and (
                not gates or not self.gated(community) or self.gates.answer(community, user)
            ):
                return i
        return None

    def stale_gates(self, info: CampaignInfo, users: Any, now: int) -> list[tuple[int, str]]:
        """The (gated target community, user) pairs of members in `users` without a fresh answer."""
        pairs: list[tuple[int, str]] = []
        for user in users:  # bound: the users a delivery pass looks at
            if not self.membership.communities_of(user):
                continue
            for community in info.targets:  # bound: 16 targets
                if (
                    self.membership.is_member(community, user, now)
                    and self.gated(community)
                    and self.gates.answer(community, user) is None
                ):
                    pairs.append((community, user))
        return pairs

    def ask_gates(self, pairs: list[tuple[int, str]]) -> int:
        """Ask `Communities.is_qualified_member` for each pair (blocking: run it off the event
        loop) and store the answers; stops at the first RPC failure (the rest stay unanswered).
        Returns how many were answered."""
        assert self.communities is not None
        ask = self.communities.functions.is_qualified_member
        answered = 0
        for community, user in pairs:  # bound: the pairs of one delivery pass
            try:
                ok = bool(ask(community, to_checksum_address(user)).call())
            except Exception as exc:  # any RPC failure: these users wait for the next pass
                self.last_error = f"is_qualified_member: {type(exc).__name__}: {exc}"[:300]
                break
            self.gates.put(community, user, ok)
            answered += 1
        return answered

    async def refresh_gates(self, info: CampaignInfo, users: Any, now: int) -> None:
        """Make the gate cache's answers for `users` and `info`'s gated targets fresh (eth_calls in
        a worker thread, only for the answers that are missing or older than the TTL)."""
        pairs = self.stale_gates(info, users, now)
        if pairs:
            await asyncio.get_running_loop().run_in_executor(None, self.ask_gates, pairs)

    def qualifies(self, info: CampaignInfo, user: str, now: int) -> tuple[int, str] | None:
        """The settlement hints of `user` for `info` (target community index, registry node it
        stakes with), or None when the user fails a gate AdMarket checks at settlement: membership
        of a target community, the minimum Premium tier, the minimum bonded stake. A gate this view
        cannot check (Premium or NodeRegistry not followed) counts as failed."""
        target = self.qualifying_target(info, user, now)
        if target is None:
            return None
        if info.min_tier and (self.premium is None or self.tiers.tier_of(user, now) < info.min_tier):
            return None
        stake_node = ZERO_ADDRESS
        if info.min_stake:
            if self.registry is None:
                return None
            stake_node, assets = self.stakes.best(user)
            if assets < info.min_stake:
                return None
        return target, stake_node

    def share_community(self, a: str, b: str, now: int) -> bool:
        """True when `a` and `b` are both members of some community now (so they are not strangers)."""
        ma, mb = self.membership.communities_of(a), self.membership.communities_of(b)
        if not ma or not mb:
            return False
        is_member = self.membership.is_member
        return any(is_member(c, a, now) and is_member(c, b, now) for c in ma & mb)  # bound: memberships

    def status(self) -> dict[str, Any]:
        return {
            "rpc": "up" if self.rpc_ok else "down",
            "synced_block": self.synced_block,
            "campaigns": len(self.campaigns),
            "events": self.events,
            "last_error": self.last_error,
        }
