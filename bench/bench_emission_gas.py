"""Gas of Emission.advance under the rule r x (cap - totalSupply): one epoch, catch-ups, the bootstrap guard.

Run: `.venv/bin/python bench/bench_emission_gas.py`. Prints a table and writes
bench/results/emission_gas.json and .md. Not a test: nothing here asserts gas.

Each scenario starts from the same state (an anvil snapshot after the setup): a ClubToken with the
600M CLUB genesis of parameters.yaml minted before Emission is deployed (as the deploy plan does), an
Emission with the file's rate, tip and receiver weights whose first receiver stands for the
NodeRegistry. The guard reads `total_weight()` of that receiver: a stand-in contract with the same
view (tests/utils/contracts/MockStakeRegistry.vy, 1M CLUB staked), so the guard's cost is one
external view call and a square root. Gas is the receipt's gasUsed of a keeper's `advance()`, 21,000
intrinsic included; the first settlement of each scenario writes Emission's counters and mints to
receivers that already hold CLUB (a first mint to an empty account would cost ~17,100 more per
receiver).
"""

from __future__ import annotations

from typing import Any

from _harness import REPO_ROOT, Chain, anvil, compile_vyper, write_report
from rich.console import Console
from rich.table import Table

from clubchat.deploy.plan import token_constructor_args
from clubchat.params import WAD, load

WEEK = 7 * 86_400
STAKE = 1_000_000
TARGET = 250_000  # a keeper's tip of 10 CLUB must pay for it at any plausible gas price
SCENARIOS = (
    ("advance: 1 epoch, no bootstrap", 0, 1, False),
    ("advance: 1 epoch, guard binds", 104, 1, False),
    ("advance: 1 epoch after a burn (re-anchors)", 0, 1, True),
    ("advance: 12 missed epochs", 0, 12, False),
    ("advance: 5,200 missed epochs (a century)", 0, 5_200, False),
    ("advance: 110 epochs across the bootstrap's end", 104, 110, False),
)


def main() -> None:
    params = load()
    e = params.emission
    token_art = compile_vyper(REPO_ROOT / "contracts" / "token" / "ClubToken.vy")
    emission_art = compile_vyper(REPO_ROOT / "contracts" / "token" / "Emission.vy")
    stand_in = compile_vyper(REPO_ROOT / "tests" / "utils" / "contracts" / "MockStakeRegistry.vy")
    rows: list[dict[str, Any]] = []
    with anvil() as url:
        chain = Chain(url, ["deployer", "keeper", "holder", "community", "treasury"])
        registry = chain.deploy(stand_in, sender="deployer")
        chain.transact(registry.functions.set_total_weight(STAKE), "deployer")
        receivers = [registry.address, chain.address("community"), chain.address("treasury")]
        base = chain.snapshot()
        for label, boot, epochs, burn in SCENARIOS:
            chain.revert(base)
            base = chain.snapshot()
            token = chain.deploy(token_art, *token_constructor_args(params), sender="deployer")
            chain.transact(
                token.functions.mint(chain.address("holder"), params.genesis.total_wei), "deployer"
            )
            for r in [*receivers, chain.address("keeper")]:  # every payee already holds CLUB
                chain.transact(token.functions.mint(r, WAD), "deployer")
            emission = chain.deploy(
                emission_art, token.address, e.rate_per_epoch_wad, WEEK, e.tip_wei,
                chain.latest_timestamp() + WEEK, receivers, [r.weight_bps for r in e.receivers],
                registry.address, e.bootstrap_multiple_wei, boot, sender="deployer",
            )  # fmt: skip
            chain.transact(
                token.functions.grantRole(token.functions.MINTER_ROLE().call(), emission.address), "deployer"
            )
            if burn:
                chain.travel(WEEK)
                chain.transact(emission.functions.advance(), "keeper")
                chain.transact(token.functions.burn(10**8 * WAD), "holder")
            chain.travel(WEEK * epochs)
            gas = chain.gas(emission.functions.advance(), "keeper")
            rows.append(
                {"metric": label, "value": gas, "unit": "gas", "target": TARGET, "better": "lower",
                 "anchor": "receipt gasUsed, 3 receivers", "n": 1}
            )  # fmt: skip
    table = Table(title="Emission.advance gas (receipt gasUsed)")
    for col in ("operation", "gas", "target"):
        table.add_column(col, justify="left" if col == "operation" else "right")
    for row in rows:
        table.add_row(row["metric"], f"{row['value']:,}", f"{row['target']:,}")
    Console().print(table)
    md = ["# Emission gas", "", "| operation | gas | target |", "|---|---|---|"]
    md += [f"| {r['metric']} | {r['value']:,} | {r['target']:,} |" for r in rows]
    md += ["", "Catch-ups cost O(log k): the closed form (1 - r)^k by squaring, one bit of k per step."]
    write_report("emission_gas", rows, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
