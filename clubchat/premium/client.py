"""Premium client: subscribe (or gift), lock, unlock, settle, and a typed `status` of an account.

web3.py over the deployment manifest; transactions go through the one `Sender` of clubchat.chain.tx.
What a user can get wrong (no such tier, not enough CLUB, unlock too early) is checked before
sending and reported as a `PremiumError` sentence saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Sender, send_call


class PremiumError(ValueError):
    """A premium action cannot succeed as asked; the message says what to do."""


@dataclass(frozen=True)
class Tier:
    number: int
    max_message_bytes: int
    max_file_bytes: int
    max_call_seconds: int
    mailbox_quota_bytes: int
    price_per_period_wei: int
    lock_amount_wei: int


@dataclass(frozen=True)
class PremiumStatus:
    """One account's tier now, how it holds it, and the terms."""

    account: str
    tier: int
    limits: Tier
    subscriptions: dict[int, int]  # tier -> end (unix s), running ones only
    locked_wei: int
    unlock_at: int  # 0: locked (or nothing locked); else withdrawable from then
    period_seconds: int
    burn_bps: int


class PremiumClient:
    """Premium (and CLUB for payments) from a deployment manifest, acting as `sender`."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender | None = None) -> None:
        self.w3 = w3
        self.contract: Contract = manifest.contract(w3, "Premium")
        self.token: Contract = manifest.contract(w3, "ClubToken")
        self.sender = sender

    def _me(self) -> Sender:
        if self.sender is None:
            raise PremiumError("this action sends a transaction; give an account (--key)")
        return self.sender

    def _send(self, fn_name: str, *args: Any) -> str:
        return send_call(self._me(), getattr(self.contract.functions, fn_name)(*args))

    def _view(self, fn_name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, fn_name)(*args).call()

    def _pay(self, amount: int) -> None:
        me = to_checksum_address(self._me().address)
        if int(self.token.functions.balanceOf(me).call()) < amount:
            raise PremiumError(f"this costs {amount / 1e18:,.4f} CLUB and {me} holds less; fund it first")
        if int(self.token.functions.allowance(me, self.contract.address).call()) < amount:
            send_call(self._me(), self.token.functions.approve(self.contract.address, amount))

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def tier(self, number: int) -> Tier:
        t = self._view("tiers", number)
        return Tier(number, *(int(x) for x in t))

    def tiers(self) -> list[Tier]:
        return [self.tier(n) for n in range(int(self._view("tier_count")) + 1)]

    def subscribe(self, tier: int, periods: int, account: str | None = None) -> str:
        """Pay `periods` periods of `tier` for `account` (default: the sender; another address: a gift)."""
        count = int(self._view("tier_count"))
        if not 1 <= tier <= count:
            raise PremiumError(
                f"tier {tier} does not exist; paid tiers are 1 to {count} (`club premium status`)"
            )
        price = self.tier(tier).price_per_period_wei
        if price == 0:
            raise PremiumError(f"tier {tier} is not sold by subscription; reach it with `club premium lock`")
        if not 1 <= periods <= 120:
            raise PremiumError("buy between 1 and 120 periods at once")
        self._pay(price * periods)
        return self._send("subscribe", to_checksum_address(account or self._me().address), tier, periods)

    def lock(self, amount_wei: int) -> str:
        """Lock `amount_wei` more CLUB (the total must reach a tier's lock threshold)."""
        me = to_checksum_address(self._me().address)
        total = int(self._view("locked", me)) + amount_wei
        reachable = [t for t in self.tiers()[1:] if t.lock_amount_wei and total >= t.lock_amount_wei]
        if not reachable:
            lowest = min((t.lock_amount_wei for t in self.tiers()[1:] if t.lock_amount_wei), default=0)
            raise PremiumError(f"lock at least {lowest / 1e18:,.0f} CLUB in total to reach a tier")
        self._pay(amount_wei)
        return self._send("lock", amount_wei)

    def request_unlock(self) -> str:
        me = to_checksum_address(self._me().address)
        amount, unlock_at = (int(x) for x in self._view("locks", me))
        if amount == 0:
            raise PremiumError(f"{me} has nothing locked")
        if unlock_at:
            raise PremiumError("an unlock is already under way; withdraw it with `club premium unlock`")
        return self._send("request_unlock")

    def unlock(self) -> str:
        me = to_checksum_address(self._me().address)
        _amount, unlock_at = (int(x) for x in self._view("locks", me))
        if unlock_at == 0:
            raise PremiumError("no unlock requested; run `club premium unlock --request` first")
        if self.now() < unlock_at:
            raise PremiumError(f"the tokens come back at unix {unlock_at}; try again after that")
        return self._send("unlock")

    def settle(self) -> str:
        return self._send("settle")

    def status(self, account: str) -> PremiumStatus:
        a = to_checksum_address(account)
        now = self.now()
        tier = int(self._view("tier_of", a))
        amount, unlock_at = (int(x) for x in self._view("locks", a))
        subs = {}
        for t in range(1, int(self._view("tier_count")) + 1):
            end = int(self._view("subscription_expiry", a, t))
            if end > now:
                subs[t] = end
        return PremiumStatus(
            account=a,
            tier=tier,
            limits=self.tier(tier),
            subscriptions=subs,
            locked_wei=amount,
            unlock_at=unlock_at,
            period_seconds=int(self._view("period_seconds")),
            burn_bps=int(self._view("burn_bps")),
        )
