"""Helpers shared by the AdMarket tests, the stateful machine and the gas benchmark.

`deploy_market` builds AdMarket the way `ape run deploy` will (the plan's `deploy_ads`, then
`hand_over_admin`, so the Timelock holds its roles) next to the session's protocol, with test-only
Communities and Premium stand-ins (tests/utils/contracts/Mock*.vy) until those contracts land.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boa
from eth_account.signers.local import LocalAccount

from clubchat.ads.receipts import ZERO_ADDRESS, Receipt, SignedReceipt, sign_receipt
from clubchat.chain.eip712 import Domain
from clubchat.deploy.boa_backend import BoaBackend
from clubchat.deploy.plan import Deployment, deploy_ads, hand_over_admin
from clubchat.params import Parameters
from clubchat.registry.kinds import NOTIFY
from tests.utils.registry import fund, register_node

CONTRACTS = Path(__file__).resolve().parent / "contracts"
WAD = 10**18
DAY = 86_400
MAX_UINT = 2**256 - 1
# Creative content hash used by the tests (any non-zero bytes32).
CREATIVE = b"\x11" * 32


def deploy_market(protocol: Deployment, params: Parameters, deployer: str) -> Deployment:
    """The session protocol plus mock Communities and Premium and AdMarket, roles handed over."""
    dep = Deployment(
        contracts=dict(protocol.contracts),
        treasury=protocol.treasury,
        beneficiaries=dict(protocol.beneficiaries),
        escrows=dict(protocol.escrows),
        genesis_time=protocol.genesis_time,
    )
    dep.contracts["Communities"] = boa.load(str(CONTRACTS / "MockCommunities.vy"))
    dep.contracts["Premium"] = boa.load(str(CONTRACTS / "MockPremium.vy"))
    backend = BoaBackend(deployer)
    deploy_ads(backend, params, dep)
    # Only the new AdMarket's roles move here: the session protocol's were handed over already,
    # and the stand-ins have no roles.
    only_market = Deployment(contracts={n: dep.contracts[n] for n in ("Timelock", "AdMarket")})
    hand_over_admin(backend, params, only_market)
    return dep


def now() -> int:
    return int(boa.env.evm.patch.timestamp)


def give(token: Any, treasury: str, who: str, amount: int, spender: Any) -> None:
    """`who` gets `amount` CLUB from the treasury and approves `spender` for everything."""
    with boa.env.prank(treasury):
        token.transfer(who, amount)
    with boa.env.prank(who):
        token.approve(spender.address, MAX_UINT)


def register_notify(token: Any, registry: Any, treasury: str, operator: str, key: str, stake: int) -> None:
    """`operator` registered as a NOTIFY node with `stake` self-stake and hot key `key`."""
    fund(token, registry, treasury, operator, stake)
    register_node(registry, operator, key, kinds=NOTIFY, amount=stake, tag=operator[-6:].lower())


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign's arguments with test defaults (amounts in wei, times relative to now)."""

    budget: int = 1_000 * WAD
    price: int = WAD
    per_user_cap: int = 100
    start_in: int = 0
    duration: int = 7 * DAY
    targets: tuple[int, ...] = ()
    min_tier: int = 0
    min_stake: int = 0
    uri: str = "ipfs://creative"

    def args(self) -> tuple[Any, ...]:
        start = now() + self.start_in
        return (
            self.budget,
            self.price,
            self.per_user_cap,
            start,
            start + self.duration,
            CREATIVE,
            self.uri,
            list(self.targets),
            self.min_tier,
            self.min_stake,
        )


def create(market: Any, advertiser: str, spec: CampaignSpec | None = None) -> int:
    with boa.env.prank(advertiser):
        return int(market.create_campaign(*(spec or CampaignSpec()).args()))


def domain(market: Any) -> Domain:
    return Domain.of(market)


def signed(
    market: Any,
    user: LocalAccount,
    campaign: int,
    node: str,
    count: int,
    *,
    target: int = 0,
    stake_node: str = ZERO_ADDRESS,
    dom: Domain | None = None,
) -> tuple[Any, ...]:
    """The `settle` item for `user`'s signed receipt (signed in `dom`, default the market's)."""
    receipt = Receipt(campaign, user.address, node, count)
    sig = sign_receipt(user.key, dom or domain(market), receipt)
    return SignedReceipt(receipt, sig.packed(), target, stake_node).settlement()


def events(market: Any, name: str) -> list[Any]:
    """The `name` events of the last call."""
    return [e for e in market.get_logs() if type(e).__name__ == name]


def skipped(market: Any) -> list[str]:
    """Reasons of the `ReceiptSkipped` events of the last call."""
    return [e.reason for e in events(market, "ReceiptSkipped")]
