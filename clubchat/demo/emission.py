"""The emission chapter of `club demo`: epochs triggered by a keeper, with a catch-up of two at the end.

Each epoch mints r x (cap - totalSupply); the bootstrap guard may keep part of the node share unminted."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import click
from web3.contract import Contract
from web3.logs import DISCARD

from clubchat.demo.context import DemoContext, club, date, days, table
from clubchat.params import WAD


@dataclass(frozen=True)
class EpochRow:
    """One `Emission.advance()` call as the demo saw it (amounts in wei)."""

    first_epoch: int
    epochs: int
    settled_at: int
    minted_wei: int
    tip_wei: int
    keeper_received_wei: int
    per_receiver_wei: list[int]
    withheld_wei: int
    remaining_wei: int
    gas: int


def _advance_once(
    ctx: DemoContext, emission: Contract, token: Contract, keeper: str, receivers: list[str]
) -> EpochRow:
    before = int(token.functions.balanceOf(keeper).call())
    receipt = ctx.transact(emission.functions.advance(), keeper)
    emitted = emission.events.Emitted().process_receipt(receipt, errors=DISCARD)
    if not emitted:
        raise click.ClickException("Emission.advance() settled no epoch although one was due")
    # One Emitted per segment (two when the call crosses the end of the bootstrap).
    first, last = emitted[0]["args"], emitted[-1]["args"]
    withheld = emission.events.NodeRewardsWithheld().process_receipt(receipt, errors=DISCARD)
    # Distributed events come in receiver order (zero shares skipped), so they are matched
    # by position: two shares held by one address (e.g. the treasury) stay apart.
    events = [
        (str(d["args"]["receiver"]), int(d["args"]["amount"]))
        for d in emission.events.Distributed().process_receipt(receipt, errors=DISCARD)
    ]
    paid = [0] * len(receivers)
    for i, receiver in enumerate(receivers):
        if events and events[0][0] == receiver:
            paid[i] = events.pop(0)[1]
    return EpochRow(
        first_epoch=int(first["first_epoch"]),
        epochs=int(last["first_epoch"]) + int(last["epochs"]) - int(first["first_epoch"]),
        settled_at=ctx.now(),
        minted_wei=sum(int(e["args"]["amount"]) for e in emitted),
        tip_wei=sum(int(e["args"]["tip"]) for e in emitted),
        keeper_received_wei=int(token.functions.balanceOf(keeper).call()) - before,
        per_receiver_wei=paid,
        withheld_wei=sum(int(w["args"]["amount"]) for w in withheld),
        remaining_wei=int(emission.functions.remaining().call()),
        gas=int(receipt["gasUsed"]),
    )


def chapter_emission(ctx: DemoContext) -> None:
    """Emission: epochs triggered by a keeper (the last step lets two fall due to show the catch-up)."""
    emission = ctx.contract("Emission")
    token = ctx.contract("ClubToken")
    keeper = ctx.accounts["keeper"]
    receivers = [str(a) for a in emission.functions.receivers().call()]
    weights = [int(w) for w in emission.functions.weights().call()]
    # Parameter names in order; governance may since have replaced the receivers.
    names = [r["name"] for r in ctx.manifest.parameters["emission"]["receivers"]]
    labels = [names[i] if i < len(names) else f"receiver {i}" for i in range(len(receivers))]
    epoch_seconds = int(emission.functions.epoch_seconds().call())
    shares = ", ".join(
        f"{label} {w / 100:g} % (held by {ctx.label(a)})"
        for label, a, w in zip(labels, receivers, weights, strict=True)
    )
    ctx.console.print(
        f"Each {days(epoch_seconds)} epoch mints "
        f"{int(emission.functions.rate_per_epoch().call()) / WAD:.2%} of the gap cap - totalSupply "
        f"(burns widen it, so usage refills rewards); "
        f"the keeper who triggers it earns {club(emission.functions.tip().call(), 0)} CLUB per epoch; "
        f"the rest goes to {shares}."
    )
    end = int(emission.functions.bootstrap_end_epoch().call())
    if end > int(emission.functions.epochs_minted().call()):
        ctx.console.print(
            f"Bootstrap guard until epoch {end}: the node share per epoch is at most "
            f"{club(emission.functions.bootstrap_multiple().call(), 0)} CLUB x sqrt(CLUB staked) "
            f"(now {club(emission.functions.node_cap_per_epoch().call())} CLUB); the excess stays unminted."
        )

    rows: list[EpochRow] = []
    for step in range(ctx.epochs):
        # Every step waits for the next epoch; the last waits one more so two are settled at once.
        extra = epoch_seconds if step == ctx.epochs - 1 and ctx.epochs > 1 else 0
        ctx.travel_to(int(emission.functions.next_epoch_time().call()) + extra)
        rows.append(_advance_once(ctx, emission, token, keeper, receivers))

    out = table(
        "Emission epochs",
        "epoch",
        "settled at",
        "minted",
        *labels,
        "tip → keeper",
        "withheld",
        "gap left",
        "gas",
        right=tuple(range(2, 7 + len(labels))),
    )
    for row in rows:
        last = row.first_epoch + row.epochs - 1
        epoch_label = str(row.first_epoch) if row.epochs == 1 else f"{row.first_epoch}-{last} (catch-up)"
        paid = [club(wei) for wei in row.per_receiver_wei]
        out.add_row(
            epoch_label,
            date(row.settled_at),
            club(row.minted_wei),
            *paid,
            club(row.keeper_received_wei),
            club(row.withheld_wei),
            club(row.remaining_wei, 0),
            f"{row.gas:,}",
        )
    ctx.console.print(out)
    ctx.report["emission"] = {
        "receivers": [
            {"name": label, "address": a, "weight_bps": w}
            for label, a, w in zip(labels, receivers, weights, strict=True)
        ],
        "steps": [asdict(r) for r in rows],
        "emitted_wei": int(emission.functions.emitted().call()),
        "withheld_wei": int(emission.functions.withheld().call()),
        "epochs_minted": int(emission.functions.epochs_minted().call()),
    }
