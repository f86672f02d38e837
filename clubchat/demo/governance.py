"""The governance chapter of `club demo`: delegate, propose a parameter change, vote, queue, execute.

The vesting beneficiaries (anvil's unlocked test accounts) hold the votes of their escrows;
`team` proposes lowering Emission's keeper tip, the three vote, the demo travels through the
voting period and the Timelock delay, a keeper queues and executes, and the table shows the
parameter before and after. `ctx.report["governance"]` records the proposal and every step's gas.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rich.table import Table

from clubchat.demo.context import DemoContext
from clubchat.governance import actions as act
from clubchat.governance import proposals as gp
from clubchat.params import WAD

NEW_TIP = "5CLUB"


@dataclass(frozen=True)
class StepRow:
    step: str
    who: str
    detail: str
    gas: int


def chapter_governance(ctx: DemoContext) -> None:
    """Governance: a vote lowers Emission's keeper tip through ClubGovernor and the Timelock."""
    w3, manifest = ctx.w3, ctx.manifest
    gov = manifest.contract(w3, "ClubGovernor")
    emission = manifest.contract(w3, "Emission")
    token = manifest.contract(w3, "ClubToken")
    senders = {name: ctx.sender(ctx.accounts[name]) for name in ("team", "investors", "ecosystem", "keeper")}
    rows: list[StepRow] = []

    def gas(tx_hash: str) -> int:
        return int(w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])  # type: ignore[arg-type]

    tx = gp.delegate(w3, manifest, senders["team"])
    rows.append(StepRow("delegate", "team", "to itself (its escrow already delegates to it)", gas(tx)))

    tip_before = int(emission.functions.tip().call())
    action = act.call(manifest, "Emission", "set_tip", NEW_TIP)
    spec = gp.ProposalSpec((action,), "# Lower the keeper tip\nEmission pays 5 CLUB instead of 10 per epoch.")
    pid = gp.propose(w3, manifest, senders["team"], spec)
    rows.append(StepRow("propose", "team", action.summary, gas(senders["team"].last_tx)))

    ctx.travel_to(int(gov.functions.proposalSnapshot(pid).call()) + 1)
    ballots = [
        ("team", gp.Support.FOR, "cheaper keepers"),
        ("investors", gp.Support.AGAINST, ""),
        ("ecosystem", gp.Support.FOR, ""),
    ]
    for name, support, reason in ballots:
        weight = gp.vote(w3, manifest, senders[name], pid, support, reason)
        detail = f"{support.name.lower()} with {weight // WAD:,} votes"
        rows.append(StepRow("vote", name, detail, gas(senders[name].last_tx)))

    ctx.travel_to(int(gov.functions.proposalDeadline(pid).call()) + 1)
    eta = gp.queue(w3, manifest, senders["keeper"], pid)
    rows.append(StepRow("queue", "keeper", f"Timelock eta {eta}", gas(senders["keeper"].last_tx)))
    ctx.travel_to(eta)
    tx = gp.execute(w3, manifest, senders["keeper"], pid)
    rows.append(StepRow("execute", "keeper", "Timelock calls Emission.set_tip", gas(tx)))

    tip_after = int(emission.functions.tip().call())
    against, for_, abstain = (int(x) for x in gov.functions.proposalVotes(pid).call())
    state = gp.STATE_NAMES[int(gov.functions.state(pid).call())]
    quorum = int(gov.functions.quorum(int(gov.functions.proposalSnapshot(pid).call())).call())

    table = Table(
        title="Governance round", title_style="bold", header_style="bold cyan", title_justify="left"
    )
    for column in ("step", "who", "what", "gas"):
        table.add_column(column, justify="right" if column == "gas" else "left")
    for r in rows:
        table.add_row(r.step, r.who, r.detail, f"{r.gas:,}")
    ctx.console.print(table)
    treasury = int(token.functions.balanceOf(manifest.treasury).call())
    ctx.console.print(
        f"proposal {pid:#x}: {state}; For {for_ // WAD:,} / Against {against // WAD:,} / "
        f"Abstain {abstain // WAD:,} (quorum {quorum // WAD:,}); "
        f"Emission.tip {tip_before // WAD} -> {tip_after // WAD} CLUB; "
        f"the treasury (Timelock) holds {treasury // WAD:,} CLUB"
    )
    ctx.report["governance"] = {
        "proposal_id": f"{pid:#x}",
        "state": state,
        "votes": {"for": for_, "against": against, "abstain": abstain, "quorum": quorum},
        "tip_before_wei": tip_before,
        "tip_after_wei": tip_after,
        "steps": [asdict(r) for r in rows],
    }
