"""Gas of Disputes at 10, 100, 1,000 and 10,000 registered nodes: fork proofs and flag-and-vote.

Run: `.venv/bin/python bench/bench_disputes_gas.py` (`BENCH_DISPUTES_SIZES=10,100` for fewer). Prints a
table and writes bench/results/disputes_gas.json and .md. Not a test: nothing here asserts gas.

Method: the registry is filled with real registrations on a private anvil exactly as
bench_registry_gas.py does (its `Filler`: batched, auto-impersonated transactions, every node a
distinct operator with 1.5x the minimum self-stake that registers as RELAY and beats), plus one
node whose key is a known private key (it signs the forked log entries). Then, from the state at
each n and rolled back afterwards, every measured call is a transaction in its own block:
`commit_evidence`, `prove_equivocation` (the registry's slash with its CLUB transfer to the
reporter and burn, and the jail, included), `flag` (bond transferFrom and the registry freeze
included; the first dispute ever separately), `draw_panel` (k = 7: records the epoch seed, `sample`
of k candidates, again of k + 2 when an exclusion took a seat, one reviewer word per seat), the
first reviewer's `commit_vote` and `reveal_vote`, and `finalize` in three endings: no kick (7
voters; each then collects its share with `claim_share`), kick (all 7 voted: slash + jail + bond
back), nobody voted (7 non-voter slashes).
The fork proof and the draw are measured twice: before any node enlisted (fresh per-node words) and
after every node enlisted, as node software does at start (the other rows).
Gas is the receipt's gasUsed (21,000 intrinsic included).
"""

from __future__ import annotations

import os
from typing import Any

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
from bench_registry_gas import Filler, _addr, _send
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from clubchat.deploy.plan import registry_constructor_args, token_constructor_args
from clubchat.params import WAD, load
from clubchat.protocol.log_entry import LogEntry, log_domain, sign_log_entry
from clubchat.registry.kinds import RELAY

SIZES = tuple(int(x) for x in os.environ.get("BENCH_DISPUTES_SIZES", "10,100,1000,10000").split(","))
TARGETS = {
    "commit_evidence": 50_000,
    "prove_equivocation (slash + jail + burn)": 200_000,
    "flag (bond + freeze)": 150_000,
    "draw_panel (k=7)": 350_000,
    "commit_vote": 70_000,
    "reveal_vote": 70_000,
    "finalize (no kick: 7 voters)": 150_000,
}
SOURCES = (
    "contracts/disputes/Disputes.vy",
    "contracts/nodes/NodeRegistry.vy",
    "contracts/modules/sumtree.vy",
    "contracts/token/ClubToken.vy",
)
FORKER_KEY = keccak(text="clubchat-bench:forker-key")
NOTES = [
    '- Two states per n. "nobody enlisted": every node\'s Disputes word is fresh, so each panel seat',
    "  and the fork proof's offence count create a storage word (22,100 each). The other rows: every",
    "  node enlisted (`enlist()`, which `club node run` sends once at start), so a seat or an offence",
    "  rewrites a word (about 5,000). The enlisting itself is the node's own one-time transaction.",
    "- prove_equivocation includes NodeRegistry.jail first (checkpoint; the weight leaves total_weight",
    "  at once, but the node's sum-tree leaves are lazy: they move at its next heartbeat, unjail or",
    "  anyone's `poke`, so no tree word is written and the proof is flat in n) and then slash (two pool",
    "  words, the CLUB transfer to the reporter, whose first balance word costs 22,100 here, and the",
    "  burn with its total-supply checkpoint). The Disputes part (two ecrecovers, two key_record calls,",
    "  the proven flag, the offence count, the cleared commitment) is flat too.",
    "- draw_panel: `sample` of k = 7 candidates reads one sum-tree word per level per draw and checks",
    "  each drawn node's eligibility (about 33,000 gas per draw at n = 10,000). When an exclusion",
    "  (the flagged node, the flagger, a busy reviewer) takes a seat, `sample` is called again for",
    '  k + 2 (same first k, two more): "spares sampled" rows paid 7 + 9 draws. Then one reviewer',
    "  word per seat, one fresh word for the dispute (tally, deadlines and the panel's 128-bit hash",
    "  share it with the rewritten head word) and the event.",
    "- finalize without a kick pays nobody: each voter collects its equal share of the bond with",
    "  `claim_share` (its first CLUB balance word is its own cost, not the finaliser's).",
    "- finalize with a kick adds the registry's slash and jail of the flagged node; nobody voting",
    "  adds 7 non-voter slashes (each a registry slash with its burn): not voting is never free.",
    "- Reviewer weights: the reviewer's own stake (1.5x the minimum here) under the cap.",
]


def main() -> None:
    params = load()
    r, dp = params.registry, params.disputes
    token_art = compile_vyper(REPO_ROOT / "contracts" / "token" / "ClubToken.vy")
    registry_art = compile_vyper(REPO_ROOT / "contracts" / "nodes" / "NodeRegistry.vy")
    rules_art = compile_vyper(REPO_ROOT / "contracts" / "nodes" / "EndpointRules.vy")
    disputes_art = compile_vyper(REPO_ROOT / "contracts" / "disputes" / "Disputes.vy")
    rows: list[dict[str, Any]] = []
    actors = ["deployer", "reporter", "flagger"]
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
        disputes = chain.deploy(
            disputes_art, token.address, registry.address, dp.as_tuple(), sender="deployer"
        )
        for role in ("SLASHER_ROLE", "DISPUTES_ROLE"):
            role_id = getattr(registry.functions, role)().call()
            chain.transact(registry.functions.grantRole(role_id, disputes.address), "deployer")
        deployer = chain.address("deployer")
        stake = r.min_self_stake_per_kind_wei * 3 // 2

        def enc(fn: Any) -> str:
            return str(fn._encode_transaction_data())

        # Before the batched filling (it keeps its own nonces for the deployer).
        chain.transact(token.functions.mint(chain.address("flagger"), 10**6 * WAD), "deployer")
        chain.transact(token.functions.approve(disputes.address, 2**256 - 1), "flagger")
        # The node that forks: its key is a known private key (it signs), its operator impersonated.
        forker = Account.from_key(FORKER_KEY)
        forker_op = _addr(0x30, 1)
        # A node key consents to its operator first (its own transaction, an earlier batch).
        fill.batch([(forker.address, registry.address, enc(registry.functions.approve_operator(forker_op)))])
        fill.batch(
            [
                (deployer, token.address, enc(token.functions.mint(forker_op, stake))),
                (forker_op, token.address, enc(token.functions.approve(registry.address, stake))),
                (
                    forker_op,
                    registry.address,
                    enc(
                        registry.functions.register(
                            RELAY, forker.address, "eu-west", "", ["wss://fork.relay.example"], "", 500, stake
                        )
                    ),
                ),
            ]
        )
        fill.batch([(forker.address, registry.address, enc(registry.functions.heartbeat()))])
        domain = log_domain(chain.chain_id, disputes.address)

        registered = 0
        all_ops: list[tuple[str, str]] = []
        for n in SIZES:
            ops = [(_addr(0x10, i), _addr(0x20, i)) for i in range(registered + 1, n + 1)]
            all_ops.extend(ops)
            fill.batch([(deployer, token.address, enc(token.functions.mint(op, stake))) for op, _ in ops])
            fill.batch(
                [(key, registry.address, enc(registry.functions.approve_operator(op))) for op, key in ops]
            )
            calls: list[tuple[str, str, str]] = []
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
                                [f"wss://{op[-8:]}.r.example"],
                                "",
                                500,
                                stake,
                            )
                        ),
                    )
                )
            fill.batch(calls)
            registered = n
            # Every node (and the forker) beats now, so all are live for the measurements.
            keys = [_addr(0x20, i) for i in range(1, n + 1)] + [forker.address]
            fill.batch([(k, registry.address, enc(registry.functions.heartbeat())) for k in keys])
            if registry.functions.node_count().call() != n + 1:
                raise BenchError("registration count mismatch")

            def record(label: str, gas: int, n: int = n) -> None:
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

            def run(enlisted: bool, n: int = n) -> None:
                """One fork proof and one dispute from the state at n; with `enlisted` False only the
                proof and the draw are recorded (every node word is fresh then)."""
                suffix = "" if enlisted else ", nobody enlisted"
                with chain.isolated():
                    if enlisted:
                        # What node software does once at start (`club node run`): pre-pay its word.
                        every = [op for op, _ in all_ops] + [forker_op]
                        fill.batch([(op, disputes.address, enc(disputes.functions.enlist())) for op in every])
                    now = chain.latest_timestamp()
                    room = b"\x01" * 32
                    a = LogEntry(forker_op, room, 1, b"\x00" * 32, b"\xaa" * 32, now)
                    b = LogEntry(forker_op, room, 1, b"\x00" * 32, b"\xbb" * 32, now)
                    sa = sign_log_entry(FORKER_KEY, domain, a).packed()
                    sb = sign_log_entry(FORKER_KEY, domain, b).packed()
                    salt = b"\x07" * 32
                    evidence = keccak(encode(["address", "bytes32", "uint64"], [forker_op, room, 1]))
                    reporter = chain.address("reporter")
                    commitment = keccak(encode(["bytes32", "address", "bytes32"], [evidence, reporter, salt]))
                    gas = chain.gas(disputes.functions.commit_evidence(commitment), "reporter")
                    if enlisted:
                        record("commit_evidence", gas)
                    record(
                        "prove_equivocation (slash + jail + burn)" + suffix,
                        chain.gas(
                            disputes.functions.prove_equivocation(a.as_tuple(), sa, b.as_tuple(), sb, salt),
                            "reporter",
                        ),
                    )

                    # The first dispute ever also creates the id counter and Disputes' CLUB balance word
                    # (2 x 22,100 once); the measured flag is a later one against another node.
                    first = w3.to_checksum_address(_addr(0x10, 1))
                    gas = chain.gas(disputes.functions.flag(first, 1, "ipfs://evidence"), "flagger")
                    if enlisted:
                        record("flag (first dispute ever)", gas)
                    target = w3.to_checksum_address(_addr(0x10, n // 2 + 1))
                    gas = chain.gas(disputes.functions.flag(target, 1, "ipfs://evidence"), "flagger")
                    if enlisted:
                        record("flag (bond + freeze)", gas)
                    dispute_id = disputes.functions.dispute_count().call()
                    chain.travel(BLOCK)  # the seed block
                    receipt = chain.transact(disputes.functions.draw_panel(dispute_id), "flagger")
                    # Were the 2 spare candidates sampled (the target among the first k)? The seed
                    # is the contract's: keccak256(abi_encode(blockhash(draw_block), dispute_id)).
                    draw_block = disputes.functions.disputes(dispute_id).call()[5]
                    seed = keccak(
                        encode(
                            ["bytes32", "uint256"], [bytes(w3.eth.get_block(draw_block)["hash"]), dispute_id]
                        )
                    )
                    first_k = registry.functions.sample(RELAY, seed, dp.panel_size).call(
                        block_identifier=receipt["blockNumber"]
                    )
                    spares = ", spares sampled" if target in first_k else ""
                    record("draw_panel (k=7)" + suffix + spares, int(receipt["gasUsed"]))
                    [drawn] = disputes.events.PanelDrawn().process_receipt(receipt)
                    panel = [w3.to_checksum_address(x) for x in drawn["args"]["panel"]]
                    if len(panel) != dp.panel_size:
                        raise BenchError(f"panel of {len(panel)} at n={n}")
                    if not enlisted:
                        return
                    commit_deadline = drawn["args"]["commit_deadline"]
                    reveal_deadline = drawn["args"]["reveal_deadline"]

                    for ending, votes in (
                        ("no kick: 7 voters", dict.fromkeys(panel, False)),
                        ("kick: slash + jail + bond back", dict.fromkeys(panel, True)),
                        ("nobody voted: 7 non-voter slashes", {}),
                    ):
                        with chain.isolated():
                            gas_commit: list[int] = []
                            gas_reveal: list[int] = []
                            vsalt = b"\x09" * 32
                            for reviewer, kick in votes.items():
                                c = keccak(
                                    encode(
                                        ["uint256", "address", "bool", "bytes32"],
                                        [dispute_id, reviewer, kick, vsalt],
                                    )
                                )
                                rec = _send(
                                    chain,
                                    reviewer,
                                    disputes.functions.commit_vote(dispute_id, reviewer, c),
                                    enc,
                                )
                                gas_commit.append(int(rec["gasUsed"]))
                            chain.travel(commit_deadline - chain.latest_timestamp() + 1)
                            for reviewer, kick in votes.items():
                                rec = _send(
                                    chain,
                                    reviewer,
                                    disputes.functions.reveal_vote(dispute_id, reviewer, kick, vsalt),
                                    enc,
                                )
                                gas_reveal.append(int(rec["gasUsed"]))
                            if ending.startswith("no kick"):
                                record("commit_vote", gas_commit[0])
                                record("reveal_vote", gas_reveal[0])
                            chain.travel(reveal_deadline - chain.latest_timestamp() + 1)
                            record(
                                f"finalize ({ending})",
                                chain.gas(disputes.functions.finalize(dispute_id, panel), "flagger"),
                            )
                            if ending.startswith("no kick"):
                                record(
                                    "claim_share (a voter's part of the bond)",
                                    chain.gas(
                                        disputes.functions.claim_share(dispute_id, panel, 1), "flagger"
                                    ),
                                )

            run(enlisted=False)
            run(enlisted=True)
            # The enlisting was rolled back with the rest: the filler asks the chain for nonces again.
            fill.nonces.clear()
    env = environment(EVM_VERSION, [disputes_art, registry_art], SOURCES)
    _report(rows, env)


BLOCK = 12


def _report(rows: list[dict[str, Any]], env: dict[str, str]) -> None:
    metrics = list(dict.fromkeys(r["metric"] for r in rows))
    table = Table(title="Disputes gas by number of registered nodes (receipt gasUsed)")
    table.add_column("operation")
    for n in SIZES:
        table.add_column(f"n={n:,}", justify="right")
    table.add_column("target", justify="right")
    lines = [
        "| operation | " + " | ".join(f"n = {n:,}" for n in SIZES) + " | target |",
        "|---|" + "---:|" * (len(SIZES) + 1),
    ]
    for metric in metrics:
        vals = {r["n"]: r["value"] for r in rows if r["metric"] == metric}
        target = TARGETS.get(metric)
        cells = [f"{vals[n]:,}" if n in vals else "" for n in SIZES]
        tcell = f"<= {target:,}" if target else ""
        table.add_row(metric, *cells, tcell)
        lines.append(f"| {metric} | " + " | ".join(cells) + f" | {tcell} |")
    Console(width=160).print(table)
    md = [
        "# Disputes gas",
        "",
        "Generated by `bench/bench_disputes_gas.py`; see its docstring for the method (real registrations",
        "on anvil; one forking node with a known key; k = 7; each ending measured from one drawn panel).",
        "",
        *lines,
        "",
        "## Reading the figures",
        "",
        *NOTES,
        "",
        "## Environment",
        "",
    ]
    md += [f"- {k}: {v}" for k, v in env.items()] + [""]
    write_report("disputes_gas", rows, "\n".join(md))


if __name__ == "__main__":
    main()
