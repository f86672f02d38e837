"""The vesting chapter of `club demo`: who gets what, how much has vested and can be claimed now."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from web3 import Web3

from clubchat.demo.context import DemoContext, club, date, table


@dataclass(frozen=True)
class EscrowRow:
    """One vesting escrow now (amounts in wei, times as timestamps)."""

    allocation: str
    escrow: str
    beneficiary: str
    total_wei: int
    vested_wei: int
    claimable_wei: int
    locked_wei: int
    cliff_end: int
    end: int
    revocable: bool
    votes_delegated_to: str


def escrow_row(ctx: DemoContext, allocation: str, address: str) -> EscrowRow:
    escrow = ctx.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=ctx.manifest.contracts["VestingEscrow"].abi
    )
    f = escrow.functions
    start = int(f.start().call())
    return EscrowRow(
        allocation=allocation,
        escrow=address,
        beneficiary=str(f.beneficiary().call()),
        total_wei=int(f.total().call()),
        vested_wei=int(f.vested().call()),
        claimable_wei=int(f.claimable().call()),
        locked_wei=int(f.locked().call()),
        cliff_end=start + int(f.cliff().call()),
        end=start + int(f.duration().call()),
        revocable=bool(f.revocable().call()),
        votes_delegated_to=str(ctx.contract("ClubToken").functions.delegates(address).call()),
    )


def chapter_vesting(ctx: DemoContext) -> None:
    """Vesting: who gets what, how much has vested and can be claimed now."""
    rows = [escrow_row(ctx, name, address) for name, address in ctx.manifest.escrows.items()]
    out = table(
        f"Vesting escrows (chain time {date(ctx.now())})",
        "allocation",
        "beneficiary",
        "total",
        "vested",
        "claimable",
        "locked",
        "cliff ends",
        "fully vested",
        "revocable",
        "votes go to",
        right=(2, 3, 4, 5),
    )
    for row in rows:
        out.add_row(
            row.allocation,
            ctx.label(row.beneficiary),
            club(row.total_wei, 0),
            club(row.vested_wei),
            club(row.claimable_wei),
            club(row.locked_wei, 0),
            date(row.cliff_end),
            date(row.end),
            "yes" if row.revocable else "no",
            ctx.label(row.votes_delegated_to),
        )
    ctx.console.print(out)
    ctx.report["vesting"] = [asdict(r) for r in rows]
