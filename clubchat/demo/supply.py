"""The supply chapter of `club demo`: cap, minted, what circulates, the gap Emission mints from."""

from __future__ import annotations

from clubchat.demo.context import DemoContext, club, percent, table
from clubchat.demo.vesting import escrow_row


def chapter_supply(ctx: DemoContext) -> None:
    """Supply: cap, minted, what circulates, the gap under the cap (Emission mints r of it per epoch)."""
    token = ctx.contract("ClubToken")
    emission = ctx.contract("Emission")
    cap = int(token.functions.cap().call())
    total = int(token.functions.totalSupply().call())
    locked = sum(escrow_row(ctx, n, a).locked_wei for n, a in ctx.manifest.escrows.items())
    treasury = int(token.functions.balanceOf(ctx.manifest.treasury).call())
    circulating = total - locked - treasury
    remaining = int(emission.functions.remaining().call())
    withheld = int(emission.functions.withheld().call())
    rows = [
        ("cap", cap),
        ("total supply (minted)", total),
        ("  locked in vesting escrows (not vested yet)", locked),
        (f"  held by the treasury ({ctx.label(ctx.manifest.treasury)})", treasury),
        ("  circulating (total - locked - treasury)", circulating),
        ("gap under the cap (cap - total; Emission mints a share per epoch, burns widen it)", remaining),
        ("  of which the bootstrap guard withheld from node rewards", withheld),
    ]
    out = table("Supply", "", "CLUB", "% of cap", right=(1, 2))
    for label, value in rows:
        out.add_row(label, club(value), percent(value, cap))
    ctx.console.print(out)
    ctx.report["supply"] = {
        "cap_wei": cap,
        "total_wei": total,
        "locked_wei": locked,
        "treasury_wei": treasury,
        "circulating_wei": circulating,
        "emission_remaining_wei": remaining,
        "emission_withheld_wei": withheld,
    }
