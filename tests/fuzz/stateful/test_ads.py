"""Stateful fuzzing of AdMarket against a Python model of campaigns, receipts, balances and requests.

Advertisers create, pause, cancel and refund campaigns; NOTIFY nodes settle batches of receipts
(good ones, replayed, lowered, over-cap, non-member, forged, for another node) while time moves
and governance changes the split; everyone withdraws; the burn is triggered; strangers send paid
message requests that are accepted, declined or reclaimed. Campaigns may require a Premium tier or
a minimum stake (user 0 holds both, with one node; a receipt whose stake hint names the other node
is skipped); user 3 is a contract wallet (EIP-1271) that approves the digests of its good receipts
and not those of its forged ones. A member may fall below the community's gate and meet it again
(the stand-in's `set_gate_met`): targeted receipts are skipped while it is below. The model
predicts every batch's total and every skip reason.
Invariants:
- escrow conservation per campaign: budget == spent + refundable + refunded;
- nothing paid beyond a campaign's budget or a user's cap; settled counts only grow;
- every settled amount is split exactly (user + node + community + burn == amount);
- balances are withdrawable exactly once (withdrawn + balance == credited, per account);
- request escrow: what the market holds == open campaign escrow + balances + unclaimed +
  burn owed + pending requests, to the wei.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import boa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest, sign_receipt
from tests.utils.ads import CREATIVE, DAY, WAD, deploy_market, domain, give, now, register_notify
from tests.utils.signing import named_signer

BPS = 10_000
CLUB = 5  # the one targeted community id
USERS = [named_signer(f"ads-machine-{i}") for i in range(3)]  # user 2 is not a member of CLUB
WALLET = 3  # the index of the contract-wallet user (a member of CLUB)
STAKE = 2 * WAD  # what user 0 delegates to node 0; stake-gated campaigns ask for 1 CLUB
GATES = ("none", "tier", "stake")
WALLET_SOURCE = Path(__file__).resolve().parents[2] / "utils" / "contracts" / "MockERC1271Wallet.vy"
KINDS = ("good", "replay", "lower", "over_cap", "forged", "wrong_node")
# Good receipts drawn five times as often as each bad kind, so campaigns actually get spent.
DRAWN_KINDS = ("good",) * 4 + KINDS


@dataclass
class Campaign:
    advertiser: str
    budget: int
    price: int
    cap: int
    end: int
    grace: int
    targeted: bool
    gate: str = "none"
    spent: int = 0
    refunded: int = 0
    is_refunded: bool = False
    cancelled: bool = False
    settled: dict[tuple[int, str], int] = field(default_factory=dict)  # (user, node) -> count
    total: dict[int, int] = field(default_factory=dict)  # user -> views settled over all nodes


class AdsMachine(RuleBasedStateMachine):
    market = None
    token = None
    registry = None
    communities = None
    premium = None
    governance = ""
    minimum = 0

    @initialize()
    def setup(self) -> None:
        self.advertisers = [str(boa.env.generate_address(f"ads-adv-{i}")) for i in range(2)]
        self.nodes = [str(boa.env.generate_address(f"ads-node-{i}")) for i in range(2)]
        self.owner = str(boa.env.generate_address("ads-club-owner"))
        self.senders = [str(boa.env.generate_address(f"ads-sender-{i}")) for i in range(2)]
        for adv in self.advertisers + self.senders:
            give(self.token, self.governance, adv, 1_000_000 * WAD, self.market)
        for i, node in enumerate(self.nodes):
            key = str(boa.env.generate_address(f"ads-node-key-{i}"))
            register_notify(self.token, self.registry, self.governance, node, key, self.minimum)
        self.communities.set_owner(CLUB, self.owner)
        self.wallet = boa.load(str(WALLET_SOURCE))
        self.users = [u.address for u in USERS] + [str(self.wallet.address)]
        for u in (self.users[0], self.users[1], self.users[WALLET]):
            self.communities.set_member(CLUB, u, True)
        self.premium.set_tier(self.users[0], 1)
        give(self.token, self.governance, self.users[0], STAKE, self.registry)
        with boa.env.prank(self.users[0]):
            self.registry.delegate(self.nodes[0], STAKE)
        assert self.registry.assets_of(self.nodes[0], self.users[0]) >= WAD
        self.dom = domain(self.market)
        self.split = [
            self.market.user_bps(),
            self.market.node_bps(),
            self.market.community_bps(),
            self.market.burn_bps(),
        ]
        self.campaigns: list[Campaign] = []
        self.below_gate: set[int] = set()  # members of CLUB who no longer meet its gate
        self.credited: dict[str, int] = {}
        self.withdrawn: dict[str, int] = {}
        self.unclaimed = 0
        self.payout = ""
        self.burn_owed = 0
        self.burned = 0
        self.accepted = 0  # wei of accepted paid requests
        self.requests: dict[tuple[str, str], tuple[int, int]] = {}  # (sender, recipient) -> (amount, expires)
        self.start_balance = self.token.balanceOf(self.market.address)
        self.supply = self.token.totalSupply()

    # CAMPAIGNS #

    @rule(
        adv=st.integers(0, 1),
        budget=st.integers(1, 15),
        price=st.sampled_from([1, 7, WAD]),
        cap=st.integers(1, 12),
        targeted=st.booleans(),
        days=st.integers(1, 5),
        gate=st.sampled_from(GATES),
    )
    def create(self, adv, budget, price, cap, targeted, days, gate) -> None:
        advertiser = self.advertisers[adv]
        t = now()
        targets = [CLUB] if targeted else []
        min_tier, min_stake = int(gate == "tier"), WAD if gate == "stake" else 0
        with boa.env.prank(advertiser):
            cid = self.market.create_campaign(
                budget * price, price, cap, t, t + days * DAY, CREATIVE, "", targets, min_tier, min_stake
            )
        assert cid == len(self.campaigns) + 1
        grace = self.market.settlement_grace_seconds()
        self.campaigns.append(
            Campaign(advertiser, budget * price, price, cap, t + days * DAY, grace, targeted, gate)
        )

    @precondition(lambda self: self.campaigns)
    @rule(i=st.integers(0, 20))
    def cancel(self, i) -> None:
        cid = i % len(self.campaigns)
        c = self.campaigns[cid]
        with boa.env.prank(c.advertiser):
            if c.cancelled:
                with boa.reverts("ads: cancelled"):
                    self.market.cancel(cid + 1)
            elif now() >= c.end:
                with boa.reverts("ads: campaign ended"):
                    self.market.cancel(cid + 1)
            else:
                self.market.cancel(cid + 1)
                c.cancelled, c.end = True, now()

    @precondition(lambda self: self.campaigns)
    @rule(i=st.integers(0, 20))
    def refund(self, i) -> None:
        cid = i % len(self.campaigns)
        c = self.campaigns[cid]
        with boa.env.prank(c.advertiser):
            if c.is_refunded:
                with boa.reverts("ads: already refunded"):
                    self.market.refund(cid + 1)
            elif now() <= c.end + c.grace:
                with boa.reverts("ads: settlement still open"):
                    self.market.refund(cid + 1)
            else:
                assert self.market.refund(cid + 1) == c.budget - c.spent
                c.refunded, c.is_refunded = c.budget - c.spent, True

    @rule(seconds=st.sampled_from([60, DAY, 3 * DAY, 8 * DAY]))
    def wait(self, seconds) -> None:
        boa.env.time_travel(seconds=seconds)

    @rule(user=st.integers(0, 40), node=st.integers(0, 40), community=st.integers(0, 4000))
    def set_split(self, user, node, community) -> None:
        rest = BPS - user * 100 - node * 100
        if rest < 0:
            return
        community_bps = min(community, rest)
        split = [user * 100, node * 100, community_bps, rest - community_bps]
        with boa.env.prank(self.governance):
            self.market.set_parameters(
                split, self.market.settlement_grace_seconds(), self.market.request_burn_bps(), DAY
            )
        self.split = split

    @rule(user=st.sampled_from([0, 1, WALLET]), met=st.booleans())
    def set_gate(self, user, met) -> None:
        """A member of CLUB sells below its gate (or buys back): checked again at settlement."""
        self.communities.set_gate_met(CLUB, self.users[user], met)
        (self.below_gate.discard if met else self.below_gate.add)(user)

    # SETTLEMENT #

    def _expect(
        self, cid: int, user: int, node: str, count: int, signer_ok: bool, item_node: str, stake_node: str
    ) -> str | int:
        """Skip reason or amount for one receipt, updating the model when it settles."""
        if item_node != node:
            return "ads: wrong node"
        if cid >= len(self.campaigns):
            return "ads: unknown campaign"
        c = self.campaigns[cid]
        if now() > c.end + c.grace:
            return "ads: settlement closed"
        if count > c.cap:
            return "ads: over the per-user cap"
        before = c.settled.get((user, node), 0)
        if count <= before:
            return "ads: replayed or lowered"
        views = count - before
        if c.total.get(user, 0) + views > c.cap:
            return "ads: over the per-user cap"
        if c.spent + views * c.price > c.budget:
            return "ads: budget exhausted"
        if not signer_ok:
            return "ads: bad signature"
        if c.targeted and user == 2:
            return "ads: not a member"
        if c.targeted and user in self.below_gate:
            return "ads: community gate not met"
        if c.gate == "tier" and user != 0:
            return "ads: premium tier too low"
        if c.gate == "stake" and (user != 0 or stake_node != self.nodes[0]):
            return "ads: stake too low"
        c.settled[(user, node)] = count
        c.total[user] = c.total.get(user, 0) + views
        amount = views * c.price
        c.spent += amount
        parts = [amount * b // BPS for b in self.split[:3]]
        self._credit(self.users[user], parts[0])
        self._credit(node, parts[1])
        burn = amount - sum(parts)
        if c.targeted:
            if self.payout:
                self._credit(self.payout, parts[2])
            else:
                self.unclaimed += parts[2]
        else:
            burn += parts[2]
        self.burn_owed += burn
        assert sum(parts) + (burn - (0 if c.targeted else parts[2])) == amount
        return amount

    def _credit(self, who: str, amount: int) -> None:
        self.credited[who] = self.credited.get(who, 0) + amount

    _batches = st.lists(
        st.tuples(
            st.integers(0, 20),
            st.integers(0, WALLET),
            st.sampled_from(DRAWN_KINDS),
            st.integers(1, 5),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    )

    @precondition(lambda self: self.campaigns)
    @rule(node=st.integers(0, 1), items=_batches)
    def settle(self, node, items) -> None:
        self._settle(node, items)

    # The same rule twice: settlement is drawn as often as the rest of the market's life together.
    @precondition(lambda self: self.campaigns)
    @rule(node=st.integers(0, 1), items=_batches)
    def settle_again(self, node, items) -> None:
        self._settle(node, items)

    def _settle(self, node, items) -> None:
        node_addr = self.nodes[node]
        batch, expected = [], []
        for i, user, kind, step, right_hint in items:
            cid = len(self.campaigns) if i == 20 else i % len(self.campaigns)  # 20: an unknown campaign
            c = self.campaigns[cid] if cid < len(self.campaigns) else None
            before = c.settled.get((user, node_addr), 0) if c else 0
            count = {
                "good": before + step,
                "replay": before,
                "lower": max(before - step, 0),
                "over_cap": (c.cap if c else 0) + step,
                "forged": before + step,
                "wrong_node": before + step,
            }[kind]
            signed_node = self.nodes[1 - node] if kind == "wrong_node" else node_addr
            forger = named_signer("ads-machine-forger")
            signer = forger if kind == "forged" or user == WALLET else USERS[user]
            receipt = Receipt(cid + 1, self.users[user], signed_node, count)
            sig = sign_receipt(signer.key, self.dom, receipt).packed()
            if user == WALLET:  # the wallet approves what it signed, not what was forged in its name
                self.wallet.set_approved(receipt_digest(self.dom, receipt), kind != "forged")
            stake_node = self.nodes[0] if right_hint else self.nodes[1]
            batch.append(SignedReceipt(receipt, sig, stake_node=stake_node).settlement())
            expected.append(
                self._expect(cid, user, node_addr, count, kind != "forged", signed_node, stake_node)
            )
        with boa.env.prank(node_addr):
            total = self.market.settle(node_addr, batch)
        reasons = [e.reason for e in self.market.get_logs() if type(e).__name__ == "ReceiptSkipped"]
        assert reasons == [e for e in expected if isinstance(e, str)]
        assert total == sum(e for e in expected if isinstance(e, int))

    # BALANCES #

    @rule(who=st.integers(0, 5))
    def withdraw(self, who) -> None:
        account = (self.users[:3] + self.nodes + [self.payout or self.owner])[who]
        owed = self.credited.get(account, 0) - self.withdrawn.get(account, 0)
        with boa.env.prank(account):
            if owed == 0:
                with boa.reverts("ads: nothing to withdraw"):
                    self.market.withdraw()
            else:
                assert self.market.withdraw() == owed
                self.withdrawn[account] = self.withdrawn.get(account, 0) + owed

    # Only with something to burn: the empty case's revert ("ads: nothing to burn") is a unit test
    # (tests/unit/ads/test_balances.py); rendering it here crashed titanoboa's error formatter
    # (`IntegerT` has no `key_type`) when the machine ran after other files in the same worker.
    @precondition(lambda self: self.burn_owed > 0)
    @rule()
    def burn(self) -> None:
        assert self.market.burn() == self.burn_owed
        self.burned += self.burn_owed
        self.burn_owed = 0

    @precondition(lambda self: not self.payout)
    @rule()
    def set_payout(self) -> None:
        payout = str(boa.env.generate_address("ads-club-payout"))
        with boa.env.prank(self.owner):
            self.market.set_community_payout(CLUB, payout)
        self._credit(payout, self.unclaimed)
        self.unclaimed, self.payout = 0, payout

    # PAID REQUESTS #

    @rule(user=st.integers(0, 2), price=st.integers(0, 3))
    def set_price(self, user, price) -> None:
        with boa.env.prank(USERS[user].address):
            self.market.set_request_price(price * WAD)

    @rule(sender=st.integers(0, 1), user=st.integers(0, 2))
    def send_request(self, sender, user) -> None:
        s, r = self.senders[sender], USERS[user].address
        price = self.market.request_price(r)
        with boa.env.prank(s):
            if price == 0:
                with boa.reverts("ads: recipient takes no paid requests"):
                    self.market.send_request(r, 10 * WAD)
            elif (s, r) in self.requests:
                with boa.reverts("ads: request already pending"):
                    self.market.send_request(r, 10 * WAD)
            else:
                self.market.send_request(r, 10 * WAD)
                self.requests[(s, r)] = (price, now() + self.market.request_timeout_seconds())

    @precondition(lambda self: self.requests)
    @rule(pick=st.integers(0, 10), action=st.sampled_from(["accept", "decline", "reclaim"]))
    def answer_request(self, pick, action) -> None:
        (s, r), (amount, expires) = sorted(self.requests.items())[pick % len(self.requests)]
        if action == "accept":
            with boa.env.prank(r):
                if now() >= expires:
                    with boa.reverts("ads: request expired"):
                        self.market.accept_request(s)
                    return
                burned = amount * self.market.request_burn_bps() // BPS
                assert self.market.accept_request(s) == amount - burned
            self._credit(r, amount - burned)
            self.burn_owed += burned
            self.accepted += amount
        elif action == "decline":
            with boa.env.prank(r):
                assert self.market.decline_request(s) == amount
        else:
            with boa.env.prank(s):
                if now() < expires:
                    with boa.reverts("ads: request not expired"):
                        self.market.reclaim_request(r)
                    return
                assert self.market.reclaim_request(r) == amount
        del self.requests[(s, r)]

    # INVARIANTS #

    @invariant()
    def campaigns_match(self) -> None:
        for cid, c in enumerate(getattr(self, "campaigns", [])):
            on_chain = self.market.campaign(cid + 1)
            refundable = 0 if c.is_refunded else c.budget - c.spent
            assert c.budget == c.spent + refundable + c.refunded
            assert (on_chain.budget, on_chain.spent, on_chain.refunded) == (c.budget, c.spent, c.is_refunded)
            assert c.spent <= c.budget
            for user, total in c.total.items():
                assert total <= c.cap
                assert self.market.settled_total(cid + 1, self.users[user]) == total
            for (user, node), count in c.settled.items():
                assert self.market.settled(cid + 1, self.users[user], node) == count

    @invariant()
    def balances_match(self) -> None:
        if not hasattr(self, "credited"):
            return
        for account, credited in self.credited.items():
            assert self.market.balances(account) == credited - self.withdrawn.get(account, 0)
        assert self.market.burn_pending() == self.burn_owed
        assert self.market.community_unclaimed(CLUB) == self.unclaimed

    @invariant()
    def split_sums_to_spent(self) -> None:
        if not hasattr(self, "credited"):
            return
        spent = sum(c.spent for c in self.campaigns)
        paid_out = sum(self.credited.values()) + self.unclaimed + self.burn_owed + self.burned
        # Every wei credited, held for a community or burned came from a campaign's spend or an
        # accepted request, and every wei spent went to exactly one of them.
        assert paid_out == spent + self.accepted
        assert self.token.totalSupply() == self.supply - self.burned

    @invariant()
    def market_holds_exactly_what_it_owes(self) -> None:
        if not hasattr(self, "credited"):
            return
        escrow = sum(0 if c.is_refunded else c.budget - c.spent for c in self.campaigns)
        owed = sum(self.credited.values()) - sum(self.withdrawn.values())
        pending = sum(a for a, _ in self.requests.values())
        held = self.token.balanceOf(self.market.address) - self.start_balance
        assert held == escrow + owed + self.unclaimed + self.burn_owed + pending


_PROFILE_IS_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def test_ads_stateful(protocol, params, deployer):
    dep = deploy_market(protocol, params, deployer)
    AdsMachine.market = dep["AdMarket"]
    AdsMachine.token = dep["ClubToken"]
    AdsMachine.registry = dep["NodeRegistry"]
    AdsMachine.communities = dep["Communities"]
    AdsMachine.premium = dep["Premium"]
    AdsMachine.governance = str(dep["Timelock"].address)
    AdsMachine.minimum = params.registry.min_self_stake_per_kind_wei
    run = AdsMachine.TestCase
    run.settings = settings(
        max_examples=200 if _PROFILE_IS_DEEP else 15,
        stateful_step_count=100 if _PROFILE_IS_DEEP else 50,
        deadline=None,
    )
    run().runTest()
