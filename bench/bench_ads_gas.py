"""Gas of AdMarket: campaign creation, batch settlement of receipts, withdraw, paid message requests.

Run: `.venv/bin/python bench/bench_ads_gas.py` (or `make bench`). Prints a table and writes
bench/results/ads_gas.json and bench/results/ads_gas.md. Not a test: nothing here asserts gas.

Set-up on a private anvil (bench/_harness): ClubToken, EndpointRules and NodeRegistry as the deploy
plan builds them, the test-only Communities and Premium stand-ins (tests/utils/contracts/Mock*.vy:
one storage read per `is_qualified_member` / `tier_of`), and AdMarket with the `ads:` parameters; the
"real Communities" rows use a second AdMarket that reads the real Communities contract, with an OPEN
and a TOKEN_GATE (CLUB balance) community. One NOTIFY node is registered; its operator sends every batch.
Receipts are signed by distinct user keys (`clubchat.ads.receipts.sign_receipt`), every user is a
member of the campaign's one target community, and every measured batch is a real transaction
mined in its own block; gas is the receipt's gasUsed (21,000 intrinsic and calldata included), and a
per-receipt figure is the batch's gasUsed divided by its size.

Which receipts: "first-ever" are users who have never settled anything (their settled-views word and
their balance are both created: two zero-to-non-zero stores); "settled before" are the same users'
next cumulative receipt for the same campaign (both words exist). Each is measured for a receipt
worth 1 view and one worth 1,000,000 views, from the same state (anvil snapshots): execution is
identical, and the calldata differs only by the count's bytes (16 gas per non-zero byte).
"""

from __future__ import annotations

from typing import Any

from _harness import REPO_ROOT, Chain, anvil, compile_vyper, environment, write_report
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from clubchat.ads.receipts import ZERO_ADDRESS, Receipt, SignedReceipt, receipt_digest, sign_receipt
from clubchat.chain.eip712 import Domain
from clubchat.deploy.backend import EVM_VERSION
from clubchat.deploy.plan import ads_constructor_args, registry_constructor_args, token_constructor_args
from clubchat.params import WAD, load
from clubchat.registry.kinds import NOTIFY

COMMUNITY = 1
OPEN, TOKEN_GATE = 1, 4  # Communities' join policies
GATE = 1_000 * WAD  # the balance gate of the real TOKEN_GATE community
REAL = "settle per receipt, real Communities,"
PRICE = 10**12  # wei per view
CAP = 10_000_000  # views per user
BIG = 1_000_000  # "a million views"
SOURCES = (
    "contracts/ads/AdMarket.vy",
    "contracts/token/ClubToken.vy",
    "contracts/nodes/NodeRegistry.vy",
    "contracts/communities/Communities.vy",
    "tests/utils/contracts/MockCommunities.vy",
    "tests/utils/contracts/MockPremium.vy",
)
TARGETS = {
    "create campaign (untargeted)": 150_000,
    "create campaign (1 target community)": 150_000,
    "settle per receipt, batch of 100, first-ever, 1 view": 60_000,
    "settle per receipt, batch of 100, first-ever, 1,000,000 views": 60_000,
    "settle per receipt, batch of 100, settled before, 1 view": 35_000,
    "settle per receipt, batch of 100, settled before, 1,000,000 views": 35_000,
    "withdraw (earner already holds CLUB)": 45_000,
    "withdraw (earner's first CLUB)": 45_000,
    "send paid message request": 80_000,
    f"{REAL} OPEN community, batch of 100, first-ever, 1 view": 60_000,
    f"{REAL} OPEN community, batch of 100, settled before, 1 view": 35_000,
    f"{REAL} TOKEN_GATE (balance) community, batch of 100, first-ever, 1 view": 60_000,
    f"{REAL} TOKEN_GATE (balance) community, batch of 100, settled before, 1 view": 35_000,
}
NOTES = [
    "- First-ever receipts create two storage words (the user's settled views for the campaign and",
    "  the user's balance), 2 x 22,100 gas of the figure; a user who settled before updates both",
    "  (2 x 5,000). A user who has earned before but is new to the campaign creates one.",
    "- 1 view and 1,000,000 views differ only in calldata (the count's 3 non-zero bytes instead of 1):",
    "  settlement does the same work whatever the number of views it pays.",
    "- Node verification (a NodeRegistry `nodes(node)` read, 6 cold storage words) and the node's and",
    "  burn's balance updates are paid once per batch, so a batch of 1 costs far more per receipt.",
    '- Communities and Premium are test stand-ins in the rows above the "real Communities" ones (one',
    "  storage read each). The real-Communities rows settle against the contract (a second AdMarket):",
    "  `is_qualified_member` reads the member word, then the community's config word (warm after the",
    "  first receipt of the batch), about +400 gas per receipt in an OPEN community. In a TOKEN_GATE",
    "  community it also reads the gate's balance field (the other fields only when it fails) and",
    "  calls `ClubToken.balanceOf(user)`: the user's balance word is cold (2,100) and read by nothing",
    "  else in the settlement, so a gated receipt costs about 2,900 more than an OPEN one.",
    "- What a first-ever gated receipt in a batch of 100 cannot avoid: the two new words (2 x 22,100),",
    "  the cold member word and token balance word (2 x 2,100), ecrecover (3,000 + 100), its calldata",
    "  (about 2,400: 288 bytes) and a hundredth of the 21,000 intrinsic gas, about 54,000 of the",
    "  59,554. A batch reads and unpacks a campaign's words once per run of its receipts and stores",
    "  its spend once, adds a community's share up over a run (a batch sorted by campaign and",
    "  community pays least), keys the (campaign, user) word by `campaign << 160 | user` (one hash",
    "  per access, not two), builds the EIP-712 domain separator once and checks ECDSA in the loop",
    "  (62,753 before these).",
    "  Most of the rest is vyper's decoding of the batch into memory (about 500 per receipt).",
    "- Batch of 1: what a colluding node pays to settle one account per transaction, moving one gate",
    "  balance between transactions (the farmer's recycling, priced in clubchat.sim.sybil).",
    "- `withdraw` writes three storage words (traced with anvil's prestateTracer in diff mode): the",
    "  earner's AdMarket balance (cleared, refund included), AdMarket's ClubToken word and the earner's",
    "  ClubToken word (balance, delegate and checkpoint state packed in one slot; no vote checkpoint is",
    "  written for a holder who does not delegate). For an earner holding no CLUB yet that last word is",
    "  created: 22,100 gas instead of 5,000, exactly the 17,100 between the two withdraw rows. The",
    "  first withdraw cannot reach 45,000; its floor, measured with anvil's struct-log trace, is",
    "  52,720 whatever AdMarket does: 21,064 intrinsic with the calldata, the cold call to the token",
    "  2,600, AdMarket's balance word read and cleared 5,000 less its 4,800 refund, AdMarket's token",
    "  word 5,000, the earner's new token word 22,100 and the ERC-20 Transfer event 1,756. Above it:",
    "  AdMarket's `Withdrawn` event 1,381 (kept: it is how the market's own log says who took what;",
    "  a token Transfer from the market is also a refund or a returned request), the reentrancy",
    "  lock 300 and the two contracts' code 1,417.",
    "- An earner who delegates its votes (to itself here) pays the token's vote checkpoint on top:",
    "  the transfer moves voting power to its delegate, whose previous checkpoint goes to history",
    "  (two entries per slot: a new slot every other checkpoint costs 22,100, the other 5,000).",
    "- `burn` writes a total-supply checkpoint the same way, so it costs about 17,000 more when the",
    "  supply's previous checkpoint opens a new history slot: which one it is depends on how many",
    "  supply checkpoints the run's earlier mints wrote, not on AdMarket.",
    "- Contract-wallet receipts pay a failed ecrecover, the wallet's code-size check and its",
    "  `isValidSignature` call (here a mock: one storage read) on top of an EOA's receipt.",
    "- The machine was shared with other jobs while this ran; gas does not depend on that.",
]


def _views(n: int) -> str:
    return f"{n:,} view{'s' if n > 1 else ''}"


def _user(i: int) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-bench-ads:{i}"))


def main() -> None:
    params = load()
    art = {
        name: compile_vyper(path)
        for name, path in {
            "ClubToken": REPO_ROOT / "contracts" / "token" / "ClubToken.vy",
            "EndpointRules": REPO_ROOT / "contracts" / "nodes" / "EndpointRules.vy",
            "NodeRegistry": REPO_ROOT / "contracts" / "nodes" / "NodeRegistry.vy",
            "Communities": REPO_ROOT / "contracts" / "communities" / "Communities.vy",
            "MockCommunities": REPO_ROOT / "tests" / "utils" / "contracts" / "MockCommunities.vy",
            "MockPremium": REPO_ROOT / "tests" / "utils" / "contracts" / "MockPremium.vy",
            "MockERC1271Wallet": REPO_ROOT / "tests" / "utils" / "contracts" / "MockERC1271Wallet.vy",
            "AdMarket": REPO_ROOT / "contracts" / "ads" / "AdMarket.vy",
        }.items()
    }
    rows: list[dict[str, Any]] = []

    def row(metric: str, value: float, n: int = 1) -> None:
        rows.append(
            {
                "metric": metric,
                "value": round(value),
                "unit": "gas",
                "target": TARGETS.get(metric),
                "better": "lower",
                "anchor": None,
                "n": n,
            }
        )

    actors = [
        "deployer",
        "advertiser",
        "operator",
        "node_key",
        "sender",
        "recipient",
        "earner",
        "poor",
        "voter",
    ]
    with anvil(extra_args=["--gas-limit", "300000000"]) as url:
        chain = Chain(url, actors)
        token = chain.deploy(art["ClubToken"], *token_constructor_args(params), sender="deployer")
        rules = chain.deploy(art["EndpointRules"], sender="deployer")
        registry = chain.deploy(
            art["NodeRegistry"],
            *registry_constructor_args(params, token.address, rules.address, chain.latest_timestamp()),
            sender="deployer",
        )
        communities = chain.deploy(art["MockCommunities"], sender="deployer")
        premium = chain.deploy(art["MockPremium"], sender="deployer")
        market = chain.deploy(
            art["AdMarket"],
            *ads_constructor_args(
                params, token.address, registry.address, communities.address, premium.address
            ),
            sender="deployer",
        )
        tx = chain.transact
        for who in ("advertiser", "operator", "sender", "earner", "voter"):
            tx(token.functions.mint(chain.address(who), 10**6 * WAD), "deployer")
        tx(token.functions.delegate(chain.address("voter")), "voter")  # its transfers write checkpoints
        tx(token.functions.approve(registry.address, 2**256 - 1), "operator")
        for who in ("advertiser", "sender"):
            tx(token.functions.approve(market.address, 2**256 - 1), who)
        node = chain.address("operator")
        stake = params.registry.min_self_stake_per_kind_wei
        tx(registry.functions.approve_operator(node), "node_key")  # the node key consents first
        tx(
            registry.functions.register(
                NOTIFY, chain.address("node_key"), "eu", "https://n.example/m.json",
                ["https://n.notify.example"], "", 1000, stake,
            ),
            "operator",
        )  # fmt: skip
        dom = Domain.of(market)

        def create(targets: list[int]) -> tuple[int, int]:
            t = chain.latest_timestamp()
            args = (
                1_000 * WAD,
                PRICE,
                CAP,
                t,
                t + 30 * 86_400,
                b"\x11" * 32,
                "ipfs://creative",
                targets,
                0,
                0,
            )
            gas = chain.gas(market.functions.create_campaign(*args), "advertiser")
            return gas, int(market.functions.campaign_count().call())

        gas, _ = create([])
        row("create campaign (the market's first: its CLUB balance word is created)", gas)
        gas, _ = create([])
        row("create campaign (untargeted)", gas)
        gas, _ = create(list(range(1, 17)))
        row("create campaign (16 target communities)", gas)
        gas, campaign = create([COMMUNITY])
        row("create campaign (1 target community)", gas)

        def item(user: LocalAccount, cid: int, count: int) -> tuple[Any, ...]:
            receipt = Receipt(cid, user.address, node, count)
            return SignedReceipt(receipt, sign_receipt(user.key, dom, receipt).packed()).settlement()

        def settle(items: list[tuple[Any, ...]]) -> int:
            return chain.gas(market.functions.settle(node, items), "operator", gas_limit=20_000_000)

        users = [_user(i) for i in range(300)]
        earner = chain.accounts["earner"]
        poor = chain.accounts["poor"]
        voter = chain.accounts["voter"]
        # Contract-wallet users (EIP-1271): each approves the digests of its own receipts.
        wallets = [chain.deploy(art["MockERC1271Wallet"], sender="deployer") for _ in range(100)]
        members = [u.address for u in users] + [earner.address, poor.address, voter.address]
        members += [w.address for w in wallets]
        for start in range(0, len(members), 128):
            tx(communities.functions.set_members(COMMUNITY, members[start : start + 128], True), "deployer")

        first, second = users[:100], users[100:200]
        for views in (1, BIG):
            with chain.isolated():
                gas = settle([item(u, campaign, views) for u in first])
                row(
                    f"settle per receipt, batch of 100, first-ever, {_views(views)}",
                    gas / 100,
                )
        # The state the "settled before" figures start from: every user of `first` settled 1 view.
        settle([item(u, campaign, 1) for u in first])
        for views in (1, BIG):
            with chain.isolated():
                gas = settle([item(u, campaign, 1 + views) for u in first])
                row(
                    f"settle per receipt, batch of 100, settled before, {_views(views)}",
                    gas / 100,
                )
        for size in (1, 10):
            with chain.isolated():
                gas = settle([item(u, campaign, 2) for u in first[:size]])
                row(f"settle per receipt, batch of {size}, settled before, 1 view", gas / size)
        with chain.isolated():
            _, other = create([COMMUNITY])
            gas = settle([item(u, other, 1) for u in first])
            row("settle per receipt, batch of 100, earned before, new to the campaign", gas / 100)
        with chain.isolated():
            bad = [
                SignedReceipt(Receipt(campaign, u.address, node, 5), b"\x01" * 65).settlement()
                for u in second
            ]
            gas = settle(bad)
            row("skipped receipt (bad signature), batch of 100, per receipt", gas / 100)

        def wallet_item(wallet: Any, cid: int, count: int) -> tuple[Any, ...]:
            receipt = Receipt(cid, wallet.address, node, count)
            tx(wallet.functions.set_approved(receipt_digest(dom, receipt), True), "deployer")
            return SignedReceipt(receipt, b"\x01" * 65).settlement()  # no key: the wallet decides

        gas = settle([wallet_item(w, campaign, 1) for w in wallets])
        row("settle per receipt, batch of 100, contract wallets (EIP-1271), first-ever", gas / 100)
        gas = settle([wallet_item(w, campaign, 2) for w in wallets])
        row("settle per receipt, batch of 100, contract wallets (EIP-1271), settled before", gas / 100)

        settle([item(earner, campaign, 10), item(poor, campaign, 10), item(voter, campaign, 10)])
        row("withdraw (earner already holds CLUB)", chain.gas(market.functions.withdraw(), "earner"))
        row("withdraw (earner's first CLUB)", chain.gas(market.functions.withdraw(), "poor"))
        row(
            "withdraw (earner holds CLUB and delegates its votes)",
            chain.gas(market.functions.withdraw(), "voter"),
        )
        row("withdraw (node operator, after the batches)", chain.gas(market.functions.withdraw(), "operator"))
        row("burn (what the batches owe the burn)", chain.gas(market.functions.burn(), "deployer"))

        recipient = chain.address("recipient")
        tx(market.functions.set_request_price(5 * WAD), "recipient")
        row(
            "send paid message request",
            chain.gas(market.functions.send_request(recipient, 5 * WAD), "sender"),
        )
        sender = chain.address("sender")
        with chain.isolated():
            row(
                "accept paid message request", chain.gas(market.functions.accept_request(sender), "recipient")
            )
        with chain.isolated():
            row(
                "decline paid message request",
                chain.gas(market.functions.decline_request(sender), "recipient"),
            )
        chain.travel(params.ads.request_timeout_seconds)
        row(
            "reclaim ignored paid message request",
            chain.gas(market.functions.reclaim_request(recipient), "sender"),
        )

        _real_communities(chain, art, params, token, registry, premium, users, row)
        env = environment(EVM_VERSION, list(art.values()), SOURCES)
    _report(rows, env)


def _real_communities(
    chain: Chain,
    art: dict[str, Any],
    params: Any,
    token: Any,
    registry: Any,
    premium: Any,
    users: list[LocalAccount],
    row: Any,
) -> None:
    """Targeted receipts against the real Communities contract (`is_qualified_member`): an OPEN
    community, and a TOKEN_GATE community whose CLUB balance gate is read again at settlement.

    A second AdMarket reads a real Communities; users[200:300] are members of both communities
    (added by staff) and hold the gate balance; users[:100] are members of the gated community
    holding nothing (their receipts are skipped for the gate)."""
    tx = chain.transact
    fee = params.communities.creation_fee_wei
    communities = chain.deploy(
        art["Communities"], token.address, registry.address, premium.address, fee, sender="deployer"
    )
    market = chain.deploy(
        art["AdMarket"],
        *ads_constructor_args(params, token.address, registry.address, communities.address, premium.address),
        sender="deployer",
    )
    tx(token.functions.mint(chain.address("deployer"), 2 * fee), "deployer")
    tx(token.functions.approve(communities.address, 2 * fee), "deployer")
    tx(token.functions.approve(market.address, 2**256 - 1), "advertiser")
    owner = chain.address("deployer")
    cids = {}
    for policy in (OPEN, TOKEN_GATE):
        tx(communities.functions.create(owner, policy, 0, False), "deployer")
        cids[policy] = int(communities.functions.community_count().call())
    tx(communities.functions.set_token_gate(cids[TOKEN_GATE], GATE, ZERO_ADDRESS, 0, 0), "deployer")
    holders, empty = users[200:300], users[:100]
    for cid in cids.values():
        tx(communities.functions.add_members(cid, [u.address for u in holders]), "deployer")
    tx(communities.functions.add_members(cids[TOKEN_GATE], [u.address for u in empty]), "deployer")
    for u in holders:
        tx(token.functions.mint(u.address, GATE), "deployer")
    node = chain.address("operator")
    dom = Domain.of(market)

    def settle(cid: int, who: list[LocalAccount], count: int) -> int:
        items = []
        for u in who:
            receipt = Receipt(cid, u.address, node, count)
            items.append(SignedReceipt(receipt, sign_receipt(u.key, dom, receipt).packed()).settlement())
        return chain.gas(market.functions.settle(node, items), "operator", gas_limit=20_000_000)

    def campaign(target: int) -> int:
        t = chain.latest_timestamp()
        args = (1_000 * WAD, PRICE, CAP, t, t + 30 * 86_400, b"\x11" * 32, "ipfs://creative", [target], 0, 0)
        tx(market.functions.create_campaign(*args), "advertiser")
        return int(market.functions.campaign_count().call())

    for policy, label in ((OPEN, "OPEN community"), (TOKEN_GATE, "TOKEN_GATE (balance) community")):
        with chain.isolated():  # each community starts from the same state: no user has earned yet
            cid = campaign(cids[policy])
            with chain.isolated():
                row(f"{REAL} {label}, batch of 100, first-ever, 1 view", settle(cid, holders, 1) / 100)
            settle(cid, holders, 1)
            with chain.isolated():
                row(f"{REAL} {label}, batch of 100, settled before, 1 view", settle(cid, holders, 2) / 100)
            with chain.isolated():
                row(f"{REAL} {label}, batch of 1, settled before, 1 view", settle(cid, holders[:1], 2))
            with chain.isolated():
                other = campaign(cids[policy])
                row(
                    f"{REAL} {label}, batch of 1, earned before, new to the campaign",
                    settle(other, holders[:1], 1),
                )
            if policy == TOKEN_GATE:
                row(f"{REAL} {label}, skipped below the gate, batch of 100", settle(cid, empty, 1) / 100)


def _report(rows: list[dict[str, Any]], env: dict[str, str]) -> None:
    table = Table(title="AdMarket gas (receipt gasUsed)")
    for col, justify in (("operation", "left"), ("gas", "right"), ("target", "right"), ("", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    lines = ["| operation | gas | target | |", "|---|---:|---:|---|"]
    for r in rows:
        target = f"<= {r['target']:,}" if r["target"] else ""
        verdict = "" if not r["target"] else ("ok" if r["value"] <= r["target"] else "OVER")
        table.add_row(r["metric"], f"{r['value']:,}", target, verdict)
        lines.append(f"| {r['metric']} | {r['value']:,} | {target} | {verdict} |")
    Console(width=140).print(table)
    md = [
        "# AdMarket gas",
        "",
        "Generated by `bench/bench_ads_gas.py`; see its docstring for the method.",
        "",
        *lines,
        "",
        "## Reading the figures",
        "",
        *NOTES,
        "",
        "## Environment",
        "",
        *[f"- {k}: {v}" for k, v in env.items()],
        "",
    ]
    write_report("ads_gas", rows, "\n".join(md))


if __name__ == "__main__":
    main()
