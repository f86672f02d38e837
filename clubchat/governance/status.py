"""The proposals table: state, votes, quorum progress and time to the next step, read from the chain."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from web3 import Web3

from clubchat.chain.manifest import Manifest
from clubchat.governance.proposals import (
    ACTIVE,
    PENDING,
    QUEUED,
    STATE_NAMES,
    SUCCEEDED,
    governor,
    proposals,
)
from clubchat.params import WAD


@dataclass(frozen=True)
class ProposalStatus:
    """One row of the table (votes in wei of CLUB, times in seconds)."""

    proposal_id: int
    proposer: str
    state: str
    for_votes: int
    against_votes: int
    abstain_votes: int
    quorum: int
    next_step: str
    seconds_left: int
    title: str

    @property
    def quorum_progress(self) -> float:
        """(For + Abstain) / quorum, as a fraction (1.0 = reached)."""
        return (self.for_votes + self.abstain_votes) / self.quorum if self.quorum else 0.0


def proposal_statuses(w3: Web3, manifest: Manifest) -> list[ProposalStatus]:
    """Every proposal of the deployment, newest first."""
    gov = governor(w3, manifest)
    now = int(w3.eth.get_block("latest")["timestamp"])
    grace = int(gov.functions.GRACE_PERIOD().call())
    rows = []
    for record in reversed(proposals(w3, manifest)):
        pid = record.spec.id
        st = int(gov.functions.state(pid).call())
        against, for_, abstain = (int(x) for x in gov.functions.proposalVotes(pid).call())
        snapshot = int(gov.functions.proposalSnapshot(pid).call())
        # The quorum is fixed at the snapshot; before it, show today's value.
        quorum = int(gov.functions.quorum(min(snapshot, now - 1)).call())
        next_step, left = "", 0
        if st == PENDING:
            next_step, left = "voting opens", snapshot + 1 - now
        elif st == ACTIVE:
            next_step, left = "voting ends", int(gov.functions.proposalDeadline(pid).call()) + 1 - now
        elif st == SUCCEEDED:
            # Not queued within the grace period after the vote, it expires.
            deadline = int(gov.functions.proposalDeadline(pid).call())
            next_step, left = "queue before it expires", deadline + grace + 1 - now
        elif st == QUEUED:
            eta = int(gov.functions.proposalEta(pid).call())
            if now < eta:
                next_step, left = "executable", eta - now
            else:
                next_step, left = "expires", eta + grace + 1 - now
        title = (
            record.spec.description.strip().splitlines()[0].lstrip("# ") if record.spec.description else ""
        )
        rows.append(
            ProposalStatus(
                pid, record.proposer, STATE_NAMES[st], for_, against, abstain, quorum, next_step, left, title
            )
        )
    return rows


def _duration(seconds: int) -> str:
    if seconds <= 0:
        return "now"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"


def status_table(rows: list[ProposalStatus]) -> Table:
    """A rich table of the rows."""
    table = Table(title="ClubGovernor proposals", show_lines=False)
    for column in (
        "id",
        "title",
        "proposer",
        "state",
        "for",
        "against",
        "abstain",
        "for+abstain / quorum",
        "next",
    ):
        table.add_column(column, justify="right" if column in ("for", "against", "abstain") else "left")
    for r in rows:
        pid = f"{r.proposal_id:#066x}"
        table.add_row(
            f"{pid[:8]}…{pid[-4:]}",
            r.title[:40],
            f"{r.proposer[:6]}…{r.proposer[-4:]}",
            r.state,
            f"{r.for_votes / WAD:,.0f}",
            f"{r.against_votes / WAD:,.0f}",
            f"{r.abstain_votes / WAD:,.0f}",
            f"{(r.for_votes + r.abstain_votes) / WAD:,.0f} / {r.quorum / WAD:,.0f}"
            + (" reached" if r.quorum_progress >= 1 else f" ({r.quorum_progress:.0%})"),
            f"{r.next_step} in {_duration(r.seconds_left)}" if r.next_step else "",
        )
    return table
