"""Gas of NodeRegistry operations at 10, 100, 1,000 and 10,000 registered nodes, and discovery latency.

Run: `.venv/bin/python bench/bench_registry_gas.py` (or `make bench`). Prints a table and writes
bench/results/registry_gas.json and bench/results/registry_gas.md. Not a test: nothing here asserts gas.

How the registry is filled: real transactions on a private anvil (bench/_harness.anvil). Every node
is a distinct operator that receives CLUB (mint), approves, registers (RELAY, 1.5x the minimum
self-stake) and whose node key sends a heartbeat, so every node sits in the RELAY sum tree exactly as
on a live chain. To be quick the filling transactions are sent as JSON-RPC batches from
auto-impersonated accounts and mined up to 1,000 per block (anvil's block gas limit is raised for
that; it does not change any transaction's gas). The measured operations are then sent one by one,
each in its own block, from the state reached at each n, inside an anvil snapshot that is rolled back
afterwards, so every measurement starts from the same state. Gas is the receipt's gasUsed (21,000
intrinsic included); `sample(k=3)` is measured with eth_estimateGas of the view call.

Which nodes are measured: node #1 (the first registered) and the middle node #(n/2 + 1). In the 4-ary
sum tree every slot's update path has the same length (one word per level), so the two agree up to
which words are already warm; a delegation is a first delegation of that delegator to that node (its
account word goes from zero to non-zero), plus a second delegation to the same node. Claims are
measured for the operator (rewards + commission) and for a delegator, after 1 and after 30 epochs
the node does not touch; "first ever" is the account's first claim.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import requests
from _harness import (
    EVM_VERSION,
    REPO_ROOT,
    BenchError,
    Chain,
    anvil,
    compile_vyper,
    environment,
    write_report,
)
from rich.console import Console
from rich.table import Table
from web3 import Web3

from clubchat.deploy.plan import registry_constructor_args, token_constructor_args
from clubchat.params import WAD, load
from clubchat.registry.kinds import NOTIFY, RELAY

SIZES = tuple(int(x) for x in os.environ.get("BENCH_REGISTRY_SIZES", "10,100,1000,10000").split(","))
BATCH = 1_000
FILL_GAS = 1_500_000
LATENCY_RUNS = 41
CLAIMS = (
    "claim by operator (first ever, 1 epoch)",
    "claim by operator (1 epoch)",
    "claim by operator (30 missed epochs)",
    "claim by delegator (first ever, 1 epoch)",
    "claim by delegator (1 epoch)",
    "claim by delegator (30 missed epochs)",
    "claim by operator (a heartbeat booked the epoch)",
)
TARGETS = {
    "stake (middle node)": 150_000,
    "delegate (middle node)": 150_000,
    "stake (first node)": 150_000,
    "stake (RELAY+NOTIFY node)": 150_000,
    "delegate (RELAY+NOTIFY node)": 150_000,
    "delegate (first node)": 150_000,
    "delegate again (first node)": 150_000,
    **{label: 60_000 for label in CLAIMS},
}
SOURCES = (
    "contracts/nodes/NodeRegistry.vy",
    "contracts/nodes/EndpointRules.vy",
    "contracts/modules/sumtree.vy",
    "contracts/token/ClubToken.vy",
)
NOTES = [
    "- Growth: every tree-touching operation (stake, delegate, unbond, slash, the first heartbeat) grows by",
    "  one sum-tree level per factor 4 of n (about 5,400 gas: a cold SLOAD plus an SSTORE of one word),",
    "  i.e. log4(n): 2 levels at n = 10, 4 at 100, 5 at 1,000, 7 at 10,000. Each word holds 4 live",
    "  lanes, the 4 lanes frozen at the start of the epoch it was last written in and that epoch's tag",
    "  (sampling draws from the frozen weights), so the first write of a word in a",
    "  new epoch costs the same as any other write, and a draw reads one word per level in either view.",
    "  `sample(k=3)` grows by k cold word reads per level and checks each drawn node's eligibility",
    "  (jailed, live, self-stake >= the current minimum: 3 cold reads per drawn node). withdraw, claim",
    "  and finalize_epoch do not touch the tree and stay flat. heartbeat and finalize_epoch read the",
    "  epoch-seed word (+2,100) and the first of them in an epoch records the seed (+~5,000).",
    "  Middle and first node cost the same (every slot's path has the same length).",
    "- delegate is a delegator's first delegation to that node: its (node, account) word goes from zero",
    "  to non-zero (22,100 gas of the figure); a second delegation to the same node is ~17,000 cheaper.",
    "  The CLUB transferFrom inside costs ~19,000 (the delegator does not delegate its votes; a",
    "  self-delegated holder also moves vote checkpoints).",
    "- Rewards stream, split between the kinds (kind_reward_bps): finalize_epoch streams the new CLUB",
    "  over the next epoch, and every checkpoint (stake, delegate, unbond, slash, heartbeat) first",
    "  brings the reward words of the node's declared kinds up to now: a one-kind node reads the stream",
    "  word and the stake word (principal and the three kinds' reward weights) and reads and writes its",
    "  kind's word, as with the one pool before (+~1,300 gas of arithmetic: the loop over the kinds and",
    "  the kind's rate); a RELAY+NOTIFY node reads and writes a second kind word (+~5,000, the rows",
    "  below; its NOTIFY tree is one level deep here). finalize_epoch brings all three kinds' words up",
    "  to now and reads the claims-and-forfeits counter (+~16,000 against the one pool).",
    "- A RELAY+NOTIFY node (the rows so named) counts weight * 3 in each of the two kinds' reward",
    "  weights. Its checkpoints read and write both kinds' reward words and move both of its sum-tree",
    "  paths (its RELAY path as deep as any RELAY node's; its NOTIFY tree holds it alone, one level):",
    "  a steady heartbeat costs 5,605 more than a RELAY node's. A first delegation to it costs 159,151",
    "  at n = 10,000, above the 150,000 target of a one-kind node (145,143): about 5,000 of the 14,008",
    "  is the second reward word (one cold read and one write), the rest the NOTIFY tree path and the",
    "  second kind's slot; under the one pool the second tree path was paid too.",
    "- Claims are O(1): 30 missed epochs cost the same as one. A claim pays what the node's last",
    "  checkpoint booked (the measured claims come half an hour after a finalisation, right after a",
    "  heartbeat; the node software beats every 20 minutes): it reads the node's accumulator word and",
    "  the account's word, and writes the account's word and the spent word: 52,040 for a delegator",
    "  with the CLUB transfer, 58,178 for the operator (the commission word too), both under 60,000.",
    "- slash is not monotone in n because of the CLUB burn inside: the token packs two total-supply",
    "  checkpoints per storage slot, so a burn that opens a new slot costs ~17,000 more than one that",
    "  fills the second half of a slot, depending on how many mints (registrations) came before.",
    "- register pays for its strings (endpoint, metadata), the node list, the tree slot and the pool",
    "  words; the first heartbeat inserts the node into the tree (weight 0 -> stake). It costs ~17,100",
    "  more for every tree word its slot is the first of (zero -> non-zero): the measured newcomer's",
    "  slot n opens a leaf word at n = 100, 1,000 and 10,000 and a level-1 word at 10,000 too.",
]


def _addr(prefix: int, i: int) -> str:
    return str(Web3.to_checksum_address("0x" + f"{prefix:08x}{i:032x}"))


class Filler:
    """Batched, auto-impersonated transactions for filling the registry quickly."""

    def __init__(self, chain: Chain, url: str) -> None:
        self.chain, self.url = chain, url
        self.session = requests.Session()
        self.nonces: dict[str, int] = {}

    def _next_nonce(self, sender: str) -> int:
        """Local nonce bookkeeping: anvil would hand the same pending nonce to a sender's batched txs."""
        if sender not in self.nonces:
            self.nonces[sender] = int(self.chain.w3.eth.get_transaction_count(sender))
        nonce = self.nonces[sender]
        self.nonces[sender] = nonce + 1
        return nonce

    def batch(self, calls: list[tuple[str, str, str]]) -> None:
        """Send (sender, to, data) calls in blocks of BATCH transactions; every one must succeed."""
        self.chain.rpc("evm_setAutomine", False)
        try:
            for start in range(0, len(calls), BATCH):
                chunk = calls[start : start + BATCH]
                payload = [
                    {
                        "jsonrpc": "2.0",
                        "id": j,
                        "method": "eth_sendTransaction",
                        "params": [
                            {
                                "from": s,
                                "to": to,
                                "data": data,
                                "gas": hex(FILL_GAS),
                                "gasPrice": "0x0",
                                "nonce": hex(self._next_nonce(s)),
                            }
                        ],
                    }
                    for j, (s, to, data) in enumerate(chunk)
                ]
                answers = self.session.post(self.url, json=payload, timeout=300).json()
                bad = [a for a in answers if "error" in a]
                if bad:
                    raise BenchError(f"fill transaction rejected: {bad[0]['error']}")
                self.chain.rpc("evm_mine")
                hashes = [a["result"] for a in answers]
                for h in (hashes[0], hashes[-1]):
                    if int(self.chain.w3.eth.get_transaction_receipt(h)["status"]) != 1:
                        raise BenchError("a fill transaction reverted")
        finally:
            self.chain.rpc("evm_setAutomine", True)


def main() -> None:
    params = load()
    r = params.registry
    token_art = compile_vyper(REPO_ROOT / "contracts" / "token" / "ClubToken.vy")
    registry_art = compile_vyper(REPO_ROOT / "contracts" / "nodes" / "NodeRegistry.vy")
    rules_art = compile_vyper(REPO_ROOT / "contracts" / "nodes" / "EndpointRules.vy")
    rows: list[dict[str, Any]] = []
    latency: dict[str, float] = {}
    actors = ["deployer", "delegator", "keeper", "newcomer", "newcomer_key", "multi", "multi_key"]
    with anvil(extra_args=["--gas-limit", "3000000000", "--auto-impersonate", "--base-fee", "0"]) as url:
        chain = Chain(url, actors)
        w3 = chain.w3
        fill = Filler(chain, url)
        token = chain.deploy(token_art, *token_constructor_args(params), sender="deployer")
        rules = chain.deploy(rules_art, sender="deployer")
        registry = chain.deploy(
            registry_art,
            *registry_constructor_args(params, token.address, rules.address, chain.latest_timestamp()),
            sender="deployer",
        )
        deployer = chain.address("deployer")
        stake = r.min_self_stake_per_kind_wei * 3 // 2
        big = 10**9 * WAD // 100
        for who in ("delegator", "newcomer", "multi"):
            chain.transact(token.functions.mint(chain.address(who), big), "deployer")
            chain.transact(token.functions.approve(registry.address, 2**256 - 1), who)

        def enc(fn: Any) -> str:
            return str(fn._encode_transaction_data())

        registered = 0
        first_op, first_key = _addr(0x10, 1), _addr(0x20, 1)
        for n in SIZES:
            ops = [(_addr(0x10, i), _addr(0x20, i)) for i in range(registered + 1, n + 1)]
            fill.batch([(deployer, token.address, enc(token.functions.mint(op, stake))) for op, _ in ops])
            calls: list[tuple[str, str, str]] = []
            # Each node key consents to its operator first (its own transaction, an earlier batch:
            # transactions of different senders in one batch may land in any order).
            fill.batch(
                [(key, registry.address, enc(registry.functions.approve_operator(op))) for op, key in ops]
            )
            for op, key in ops:
                calls.append((op, token.address, enc(token.functions.approve(registry.address, stake))))
                calls.append(
                    (
                        op,
                        registry.address,
                        enc(
                            registry.functions.register(
                                RELAY,
                                w3.to_checksum_address(key),
                                "eu-west",
                                "",
                                [f"wss://{op[-8:]}.relay.example"],
                                "",
                                500,
                                stake,
                            )
                        ),
                    )
                )
            fill.batch(calls)
            fill.batch([(key, registry.address, enc(registry.functions.heartbeat())) for _, key in ops])
            if registered == 0:
                # The measured operator stakes more later: give it CLUB and an open allowance.
                fill.batch(
                    [
                        (deployer, token.address, enc(token.functions.mint(first_op, 10**6 * WAD))),
                        (first_op, token.address, enc(token.functions.approve(registry.address, 2**256 - 1))),
                    ]
                )
            registered = n
            typical_slot = n // 2 + 1
            typical = _addr(0x10, typical_slot)
            if typical_slot != 1:
                fill.batch(
                    [
                        (deployer, token.address, enc(token.functions.mint(typical, 10**6 * WAD))),
                        (typical, token.address, enc(token.functions.approve(registry.address, 2**256 - 1))),
                    ]
                )
            if registry.functions.node_count().call() != n:
                raise BenchError("registration count mismatch")
            if registry.functions.total_stake(RELAY).call() != n * stake:
                raise BenchError("not every node is in the tree")
            first = w3.to_checksum_address(first_op)
            fkey = w3.to_checksum_address(first_key)

            def measure(label: str, fn: Any, sender: str, impersonated: bool = False, n: int = n) -> None:
                if impersonated:
                    tx = {
                        "from": sender,
                        "to": fn.address,
                        "data": enc(fn),
                        "gas": hex(FILL_GAS),
                        "gasPrice": "0x0",
                    }
                    chain.rpc("evm_setNextBlockTimestamp", chain.latest_timestamp() + 12)
                    h = chain.rpc("eth_sendTransaction", tx)
                    rec = w3.eth.wait_for_transaction_receipt(h)
                    if rec["status"] != 1:
                        raise BenchError(f"{label} reverted at n={n}")
                    gas = int(rec["gasUsed"])
                else:
                    gas = chain.gas(fn, sender)
                rows.append(
                    {
                        "metric": label,
                        "value": gas,
                        "unit": "gas",
                        "target": TARGETS.get(label),
                        "better": "lower",
                        "anchor": None,
                        "n": n,
                    }
                )

            with chain.isolated():
                measure(
                    "approve_operator (node key consents)",
                    registry.functions.approve_operator(chain.address("newcomer")),
                    "newcomer_key",
                )
                measure(
                    "register (RELAY)",
                    registry.functions.register(
                        RELAY,
                        chain.address("newcomer_key"),
                        "eu-west",
                        "",
                        ["wss://new.relay.example"],
                        "",
                        500,
                        stake,
                    ),
                    "newcomer",
                )
                measure("heartbeat (first, enters the tree)", registry.functions.heartbeat(), "newcomer_key")
                measure("heartbeat (steady)", registry.functions.heartbeat(), fkey, impersonated=True)
                for who, tag in ((typical, "middle node"), (first, "first node")):
                    measure(f"stake ({tag})", registry.functions.stake(WAD * 1000), who, impersonated=True)
                    measure(f"delegate ({tag})", registry.functions.delegate(who, WAD * 1000), "delegator")
                measure(
                    "delegate again (first node)", registry.functions.delegate(first, WAD * 1000), "delegator"
                )
                measure("unbond (first node)", registry.functions.unbond(first, WAD * 500), "delegator")
                measure(
                    "slash (first node)",
                    registry.functions.slash(first, WAD // 100, deployer, WAD // 10),
                    "deployer",
                )
                chain.travel(r.unbonding_seconds + 1)
                measure("withdraw", registry.functions.withdraw(0), "delegator")
            with chain.isolated():
                # A RELAY+NOTIFY node: its weight * 3 counts in each of the two kinds' reward weights
                # and every checkpoint brings both kinds' reward words up to now (the only NOTIFY
                # node: its NOTIFY tree has one level, its RELAY slot is slot n + 1).
                mkey = chain.address("multi_key")
                chain.transact(registry.functions.approve_operator(chain.address("multi")), "multi_key")
                measure(
                    "register (RELAY+NOTIFY)",
                    registry.functions.register(
                        RELAY | NOTIFY,
                        mkey,
                        "eu-west",
                        "",
                        ["wss://multi.relay.example", "https://multi.notify.example"],
                        "",
                        500,
                        2 * stake,
                    ),
                    "multi",
                )
                measure("heartbeat (RELAY+NOTIFY, first)", registry.functions.heartbeat(), "multi_key")
                chain.rpc("evm_setNextBlockTimestamp", chain.latest_timestamp() + 600)
                measure("heartbeat (RELAY+NOTIFY, steady)", registry.functions.heartbeat(), "multi_key")
                measure("stake (RELAY+NOTIFY node)", registry.functions.stake(WAD * 1000), "multi")
                measure(
                    "delegate (RELAY+NOTIFY node)",
                    registry.functions.delegate(chain.address("multi"), WAD * 1000),
                    "delegator",
                )
                _one_epoch(chain, token, registry, mkey, r.epoch_seconds, enc, deployer)
                chain.transact(registry.functions.finalize_epoch(), "keeper")
                _one_epoch(chain, token, registry, mkey, r.epoch_seconds, enc, deployer)
                measure(
                    "finalize_epoch (RELAY and NOTIFY active)", registry.functions.finalize_epoch(), "keeper"
                )
            with chain.isolated():
                # A delegator joins the measured node; then rewards: one epoch, or 30 epochs in
                # which nobody touches the node (its key beats, nothing else).
                chain.transact(registry.functions.delegate(first, WAD * 5000), "delegator")
                for epochs, steady in ((1, False), (1, True), (30, True)):
                    what = "1 epoch" if epochs == 1 else f"{epochs} missed epochs"
                    if not steady:
                        what = "first ever, " + what
                    with chain.isolated():
                        if steady:
                            # Steady state: both have claimed before (their words are non-zero).
                            _one_epoch(chain, token, registry, fkey, r.epoch_seconds, enc, deployer)
                            chain.transact(registry.functions.finalize_epoch(), "keeper")
                            _send(chain, first, registry.functions.claim(first), enc)
                            chain.transact(registry.functions.claim(first), "delegator")
                        for _ in range(epochs):
                            _one_epoch(chain, token, registry, fkey, r.epoch_seconds, enc, deployer)
                            if steady and epochs == 1:
                                measure("finalize_epoch", registry.functions.finalize_epoch(), "keeper")
                            else:
                                chain.transact(registry.functions.finalize_epoch(), "keeper")
                        # Rewards stream over the day after a finalisation: half
                        # an hour later the node key's heartbeat books what streamed so far (the node
                        # software beats every 20 minutes); a delegator's claim pays up to that booking.
                        chain.rpc("evm_setNextBlockTimestamp", chain.latest_timestamp() + 1800)
                        _send(chain, fkey, registry.functions.heartbeat(), enc)
                        measure(f"claim by delegator ({what})", registry.functions.claim(first), "delegator")
                        measure(
                            f"claim by operator ({what})",
                            registry.functions.claim(first),
                            first,
                            impersonated=True,
                        )
                with chain.isolated():
                    # How the node software runs: its key beats every third of the heartbeat
                    # period, so soon after a finalisation a heartbeat has booked the node's
                    # commission and the operator's claim finds the node checkpointed.
                    _one_epoch(chain, token, registry, fkey, r.epoch_seconds, enc, deployer)
                    chain.transact(registry.functions.finalize_epoch(), "keeper")
                    _send(chain, first, registry.functions.claim(first), enc)
                    _one_epoch(chain, token, registry, fkey, r.epoch_seconds, enc, deployer)
                    chain.transact(registry.functions.finalize_epoch(), "keeper")
                    chain.rpc("evm_setNextBlockTimestamp", chain.latest_timestamp() + 600)
                    _send(chain, fkey, registry.functions.heartbeat(), enc)
                    measure(
                        "claim by operator (a heartbeat booked the epoch)",
                        registry.functions.claim(first),
                        first,
                        impersonated=True,
                    )
            sample_fn = registry.functions.sample(RELAY, b"\x01" * 32, 3)
            gas = int(w3.eth.estimate_gas({"to": registry.address, "data": enc(sample_fn)}))
            rows.append(
                {
                    "metric": "sample(k=3) eth_call",
                    "value": gas,
                    "unit": "gas",
                    "target": None,
                    "better": "lower",
                    "anchor": None,
                    "n": n,
                }
            )
            if n == SIZES[-1]:
                latency = _latency(w3, registry, token, sample_fn, deployer)
    for metric, value in latency.items():
        rows.append(
            {
                "metric": metric,
                "value": round(value, 3),
                "unit": "ms",
                "target": 100 if metric.startswith("discovery") else None,
                "better": "lower",
                "anchor": None,
                "n": SIZES[-1],
            }
        )
    env = environment(EVM_VERSION, [registry_art], SOURCES)
    _report(rows, env)


def _send(chain: Chain, sender: str, fn: Any, enc: Any) -> Any:
    tx = {"from": sender, "to": fn.address, "data": enc(fn), "gas": hex(FILL_GAS), "gasPrice": "0x0"}
    h = chain.rpc("eth_sendTransaction", tx)
    rec = chain.w3.eth.wait_for_transaction_receipt(h)
    if rec["status"] != 1:
        raise BenchError(f"{sender} call reverted")
    return rec


def _one_epoch(
    chain: Chain, token: Any, registry: Any, key: str, epoch_seconds: int, enc: Any, deployer: str
) -> None:
    """Rewards arrive, the node key beats 60 s before the epoch ends, the end passes (not finalised)."""
    chain.transact(token.functions.mint(registry.address, 1000 * WAD), "deployer")
    done = registry.functions.epochs_finalised().call()
    end = registry.functions.EPOCH_START().call() + (done + 1) * epoch_seconds
    chain.rpc("evm_setNextBlockTimestamp", max(end - 60, chain.latest_timestamp() + 1))
    _send(chain, key, registry.functions.heartbeat(), enc)
    chain.rpc("evm_setNextBlockTimestamp", end + 1)
    chain.rpc("evm_mine")


def _latency(w3: Any, registry: Any, token: Any, sample_fn: Any, holder: str) -> dict[str, float]:
    """Median wall time (ms) of one discovery eth_call and of a baseline token.balanceOf eth_call."""
    balance_fn = token.functions.balanceOf(holder)
    out: dict[str, list[float]] = {
        "discovery eth_call sample(RELAY, seed, 3)": [],
        "baseline eth_call balanceOf": [],
    }
    for i in range(LATENCY_RUNS):
        seed = i.to_bytes(32, "big")
        for label, call in (
            (
                "discovery eth_call sample(RELAY, seed, 3)",
                lambda s=seed: registry.functions.sample(RELAY, s, 3).call(),
            ),
            ("baseline eth_call balanceOf", balance_fn.call),
        ):
            t0 = time.perf_counter()
            call()
            out[label].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in out.items()}


def _report(rows: list[dict[str, Any]], env: dict[str, str]) -> None:
    gas_metrics = list(dict.fromkeys(r["metric"] for r in rows if r["unit"] == "gas"))
    table = Table(title="NodeRegistry gas by number of registered nodes (receipt gasUsed)")
    table.add_column("operation")
    for n in SIZES:
        table.add_column(f"n={n:,}", justify="right")
    table.add_column("target", justify="right")
    lines = [
        "| operation | " + " | ".join(f"n = {n:,}" for n in SIZES) + " | target |",
        "|---|" + "---:|" * (len(SIZES) + 1),
    ]
    for metric in gas_metrics:
        vals = {r["n"]: r["value"] for r in rows if r["metric"] == metric}
        target = next((r["target"] for r in rows if r["metric"] == metric), None)
        cells = [f"{vals[n]:,}" if n in vals else "" for n in SIZES]
        tcell = f"<= {target:,}" if target else ""
        table.add_row(metric, *cells, tcell)
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {tcell} |")
    lat = [r for r in rows if r["unit"] == "ms"]
    console = Console(width=160)
    console.print(table)
    for r in lat:
        console.print(f"{r['metric']}: {r['value']:.2f} ms (median of {LATENCY_RUNS}, n={r['n']:,})")
    md = [
        "# NodeRegistry gas and discovery latency",
        "",
        "Generated by `bench/bench_registry_gas.py`; see its docstring for the method (real registrations on",
        "anvil; measured nodes: the first and the middle registered node).",
        "",
        *lines,
        "",
        "## Discovery latency on local anvil (10,000 registered RELAY nodes)",
        "",
        "| call | median wall time (ms) | target |",
        "|---|---:|---:|",
    ]
    for r in lat:
        md.append(f"| {r['metric']} | {r['value']:.2f} | {'<= 100' if r['target'] else ''} |")
    md += ["", "## Reading the figures", "", *NOTES]
    md += ["", "## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()] + [""]
    write_report("registry_gas", rows, "\n".join(md))


if __name__ == "__main__":
    main()
