"""AdMarket client: one method per advertiser, user and node action, and a typed campaign status.

Transactions go through the one `Sender` of clubchat.chain.tx (`LocalSender` for a local key,
`ApeSender` in `ape run ads`). Amounts are CLUB wei, times unix seconds. Errors a user can cause
(no AdMarket in the deployment, not the advertiser, refund before the grace period ends, nothing
to withdraw, ...) are checked before sending and raised as `AdsError` with one sentence saying
what to do; a transaction that reverts anyway raises `TransactionFailed` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from clubchat.ads.receipts import SignedReceipt
from clubchat.chain.eip712 import Domain
from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Sender, send_call
from clubchat.timefmt import utc

MAX_TARGETS = 16
MAX_BATCH = 100
MAX_URI = 256


class AdsError(ValueError):
    """An ad-market action that cannot succeed; the message says what to do instead."""


@dataclass(frozen=True)
class CampaignSpec:
    """What an advertiser escrows: amounts in wei, times in unix seconds."""

    budget_wei: int
    price_wei: int
    per_user_cap: int
    start: int
    end: int
    creative_hash: bytes
    creative_uri: str
    targets: tuple[int, ...] = ()
    min_tier: int = 0
    min_stake_wei: int = 0

    def check(self, now: int) -> None:
        """Raise AdsError for what the contract would refuse, in the user's terms."""
        if self.price_wei <= 0:
            raise AdsError("give a price per notification above 0")
        if self.budget_wei < self.price_wei:
            raise AdsError("the budget must pay for at least one notification; raise --budget")
        if self.per_user_cap < 1:
            raise AdsError("give --per-user-cap of at least 1 notification")
        if self.end <= max(self.start, now):
            raise AdsError("the campaign must end after it starts and after now; check the window")
        if self.end - self.start > 365 * 86_400:
            raise AdsError("a campaign lasts at most one year; shorten the window")
        if len(self.creative_hash) != 32 or not any(self.creative_hash):
            raise AdsError("give the creative's 32-byte content hash (or the creative file to hash)")
        if len(self.creative_uri) > MAX_URI:
            raise AdsError(f"the creative URI is longer than {MAX_URI} characters; use a shorter one")
        if len(self.targets) > MAX_TARGETS or 0 in self.targets:
            raise AdsError(f"target at most {MAX_TARGETS} communities, by their non-zero ids")


@dataclass(frozen=True)
class CampaignStatus:
    """A campaign as the chain has it, with what follows from it."""

    campaign: int
    advertiser: str
    budget_wei: int
    spent_wei: int
    price_wei: int
    per_user_cap: int
    start: int
    end: int
    grace: int
    min_tier: int
    min_stake_wei: int
    paused: bool
    cancelled: bool
    refunded: bool
    targets: tuple[int, ...]

    @property
    def settlement_closes(self) -> int:
        """Last second a receipt settles; the refund is possible after it."""
        return self.end + self.grace

    @property
    def refundable_wei(self) -> int:
        return 0 if self.refunded else self.budget_wei - self.spent_wei

    def state(self, now: int) -> str:
        if self.refunded:
            return "refunded"
        if now > self.settlement_closes:
            return "closed, refundable"
        if self.cancelled:
            return "cancelled, settling"
        if now >= self.end:
            return "ended, settling"
        if now < self.start:
            return "scheduled"
        return "paused" if self.paused else "running"

    def lines(self, now: int) -> list[str]:
        club = 10**18
        return [
            f"campaign {self.campaign} by {self.advertiser}: {self.state(now)}",
            f"budget {self.budget_wei / club:,.6f} CLUB, spent {self.spent_wei / club:,.6f}, "
            f"refundable {self.refundable_wei / club:,.6f}",
            f"price {self.price_wei / club:,.6f} CLUB per notification, at most {self.per_user_cap} per user",
            f"runs {utc(self.start)} to {utc(self.end)}; receipts settle until {utc(self.settlement_closes)}",
            "targets: " + (", ".join(str(t) for t in self.targets) or "every opted-in user"),
            f"gates: premium tier >= {self.min_tier}, stake >= {self.min_stake_wei / club:,.6f} CLUB",
        ]


class AdMarketClient:
    """AdMarket and CLUB from a deployment manifest, acting as `sender`."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender | None = None) -> None:
        if "AdMarket" not in manifest.contracts:
            raise AdsError("this deployment has no AdMarket; deploy it (it needs Communities and Premium)")
        self.w3 = w3
        self.market: Contract = manifest.contract(w3, "AdMarket")
        self.token: Contract = manifest.contract(w3, "ClubToken")
        self.sender = sender

    # -- plumbing --------------------------------------------------------------------------

    def _me(self) -> Sender:
        if self.sender is None:
            raise AdsError("this action sends a transaction; give an account")
        return self.sender

    def _send(self, contract: Contract, fn_name: str, *args: object) -> str:
        return send_call(self._me(), getattr(contract.functions, fn_name)(*args))

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _ensure_allowance(self, amount: int) -> None:
        me = to_checksum_address(self._me().address)
        if int(self.token.functions.balanceOf(me).call()) < amount:
            raise AdsError(f"{me} holds less than {amount / 1e18:,.6f} CLUB; fund it first")
        if int(self.token.functions.allowance(me, self.market.address).call()) < amount:
            self._send(self.token, "approve", self.market.address, amount)

    def _mine(self, campaign: int) -> CampaignStatus:
        status = self.status(campaign)
        if status.advertiser.lower() != self._me().address.lower():
            raise AdsError(f"campaign {campaign} belongs to {status.advertiser}; use that account")
        return status

    def domain(self) -> Domain:
        """The EIP-712 domain users sign receipts in."""
        return Domain.of(self.market)

    # -- advertisers -----------------------------------------------------------------------

    def create_campaign(self, spec: CampaignSpec) -> int:
        """Approve (if needed) and escrow the budget; returns the new campaign id."""
        spec.check(self._now())
        self._ensure_allowance(spec.budget_wei)
        self._send(
            self.market,
            "create_campaign",
            spec.budget_wei,
            spec.price_wei,
            spec.per_user_cap,
            spec.start,
            spec.end,
            spec.creative_hash,
            spec.creative_uri,
            list(spec.targets),
            spec.min_tier,
            spec.min_stake_wei,
        )
        return int(self.market.functions.campaign_count().call())

    def _running(self, campaign: int) -> CampaignStatus:
        status = self._mine(campaign)
        if status.cancelled:
            raise AdsError(f"campaign {campaign} is cancelled")
        if self._now() >= status.end:
            raise AdsError(f"campaign {campaign} has ended")
        return status

    def pause(self, campaign: int) -> str:
        if self._running(campaign).paused:
            raise AdsError(f"campaign {campaign} is already paused")
        return self._send(self.market, "pause", campaign)

    def resume(self, campaign: int) -> str:
        if not self._running(campaign).paused:
            raise AdsError(f"campaign {campaign} is not paused")
        return self._send(self.market, "resume", campaign)

    def cancel(self, campaign: int) -> str:
        self._running(campaign)
        return self._send(self.market, "cancel", campaign)

    def refund(self, campaign: int) -> int:
        """Take back the unspent budget; returns the wei refunded."""
        status = self._mine(campaign)
        if status.refunded:
            raise AdsError(f"campaign {campaign} was already refunded")
        if self._now() <= status.settlement_closes:
            raise AdsError(
                f"receipts of campaign {campaign} settle until {utc(status.settlement_closes)}; "
                "refund after that"
            )
        self._send(self.market, "refund", campaign)
        return status.refundable_wei

    def status(self, campaign: int) -> CampaignStatus:
        c = self.market.functions.campaign(campaign).call()
        if int(c[1]) == 0:
            raise AdsError(f"there is no campaign {campaign}")
        targets = tuple(int(t) for t in self.market.functions.targets(campaign).call())
        budget, spent, price, cap, start, end, grace, tier, stake = (int(x) for x in c[1:10])
        return CampaignStatus(
            campaign=campaign,
            advertiser=to_checksum_address(c[0]),
            budget_wei=budget,
            spent_wei=spent,
            price_wei=price,
            per_user_cap=cap,
            start=start,
            end=end,
            grace=grace,
            min_tier=tier,
            min_stake_wei=stake,
            paused=bool(c[10]),
            cancelled=bool(c[11]),
            refunded=bool(c[12]),
            targets=targets,
        )

    # -- users, nodes, communities ---------------------------------------------------------

    def earnings(self, account: str) -> int:
        """Wei `account` can withdraw now."""
        return int(self.market.functions.balances(to_checksum_address(account)).call())

    def withdraw(self) -> int:
        """Withdraw everything earned; returns the wei paid."""
        owed = self.earnings(self._me().address)
        if owed == 0:
            raise AdsError("nothing to withdraw yet: earnings arrive when a node settles your receipts")
        self._send(self.market, "withdraw")
        return owed

    def settle(self, node: str, receipts: Sequence[SignedReceipt]) -> str:
        """Send one batch (at most 100) of receipts delivered by `node` (sent by the node or its key)."""
        if not receipts:
            raise AdsError("no receipts to settle")
        if len(receipts) > MAX_BATCH:
            raise AdsError(f"a batch holds at most {MAX_BATCH} receipts; split it")
        return self._send(
            self.market, "settle", to_checksum_address(node), [r.settlement() for r in receipts]
        )

    def set_community_payout(self, community_id: int, payout: str) -> str:
        return self._send(self.market, "set_community_payout", community_id, to_checksum_address(payout))

    # -- paid message requests -------------------------------------------------------------

    def set_request_price(self, price_wei: int) -> str:
        return self._send(self.market, "set_request_price", price_wei)

    def request_price(self, account: str) -> int:
        return int(self.market.functions.request_price(to_checksum_address(account)).call())

    def send_request(self, recipient: str, max_price_wei: int) -> int:
        """Escrow `recipient`'s price (at most `max_price_wei`); returns the wei escrowed."""
        price = self.request_price(recipient)
        if price == 0:
            raise AdsError(f"{recipient} takes no paid message requests")
        if price > max_price_wei:
            raise AdsError(
                f"{recipient} asks {price / 1e18:,.6f} CLUB, above your maximum; raise --max-price"
            )
        self._ensure_allowance(price)
        self._send(self.market, "send_request", to_checksum_address(recipient), max_price_wei)
        return price

    def pending_request(self, sender: str, recipient: str) -> tuple[int, int]:
        """(amount wei, expiry time) of the pending request, zeros if none."""
        amount, expires = self.market.functions.request(
            to_checksum_address(sender), to_checksum_address(recipient)
        ).call()
        return int(amount), int(expires)

    def accept_request(self, sender: str) -> str:
        amount, expires = self.pending_request(sender, self._me().address)
        if amount == 0:
            raise AdsError(f"no pending request from {sender}")
        if self._now() >= expires:
            raise AdsError(f"the request from {sender} expired at {utc(expires)}; the sender may reclaim it")
        return self._send(self.market, "accept_request", to_checksum_address(sender))

    def decline_request(self, sender: str) -> str:
        if self.pending_request(sender, self._me().address)[0] == 0:
            raise AdsError(f"no pending request from {sender}")
        return self._send(self.market, "decline_request", to_checksum_address(sender))

    def reclaim_request(self, recipient: str) -> str:
        amount, expires = self.pending_request(self._me().address, recipient)
        if amount == 0:
            raise AdsError(f"no pending request to {recipient}")
        if self._now() < expires:
            raise AdsError(f"the request to {recipient} stays open until {utc(expires)}; reclaim after that")
        return self._send(self.market, "reclaim_request", to_checksum_address(recipient))
