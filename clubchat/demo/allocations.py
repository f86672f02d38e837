"""The genesis chapter of `club demo`: what was minted at deployment, from the parameters it used."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from clubchat.demo.context import DemoContext, club, percent, table
from clubchat.params import WAD


@dataclass(frozen=True)
class AllocationRow:
    allocation: str
    holder: str
    amount_wei: int


def chapter_allocations(ctx: DemoContext) -> None:
    """Genesis allocations: what was minted at deployment, from the parameters it used."""
    token = ctx.contract("ClubToken")
    emission = ctx.contract("Emission")
    cap = int(token.functions.cap().call())
    genesis = ctx.manifest.parameters["genesis"]
    treasury_wei = (int(genesis["treasury"]) + int(genesis["liquidity"])) * WAD
    rows = [AllocationRow("treasury + liquidity", ctx.manifest.treasury, treasury_wei)]
    for alloc in genesis["vesting"]:
        holder = ctx.manifest.escrows.get(alloc["name"], "")
        rows.append(AllocationRow(f"{alloc['name']} (vesting)", holder, int(alloc["amount"]) * WAD))
    # What genesis leaves unminted under the cap: the gap Emission mints r of per epoch.
    gap = cap - sum(r.amount_wei for r in rows)
    rows.append(AllocationRow("unminted under the cap (Emission's gap)", str(emission.address), gap))

    out = table("Genesis allocations", "allocation", "held by", "CLUB", "% of cap", right=(2, 3))
    for row in rows:
        holder = ctx.label(row.holder) if row.holder else "-"
        out.add_row(row.allocation, holder, club(row.amount_wei, 0), percent(row.amount_wei, cap))
    total = sum(r.amount_wei for r in rows)
    out.add_section()
    out.add_row("total", "", club(total, 0), percent(total, cap), style="bold")
    ctx.console.print(out)
    ctx.report["allocations"] = [asdict(r) for r in rows]
