"""Helpers for governance tests: proposal tuples, OZ-compatible hashing in Python, lifecycle steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

# OZ IGovernor.ProposalState numbering.
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)
STATE_NAMES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
AGAINST, FOR, ABSTAIN = 0, 1, 2
ZERO = "0x0000000000000000000000000000000000000000"
WAD = 10**18


@dataclass(frozen=True)
class Proposal:
    """The four things OZ's queue/execute/cancel take, plus the description itself."""

    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    @property
    def id(self) -> int:
        return proposal_id(self.targets, self.values, self.calldatas, self.description_hash)

    def args(self) -> tuple[list[str], list[int], list[bytes], bytes]:
        return self.targets, self.values, self.calldatas, self.description_hash


def proposal_id(
    targets: list[str], values: list[int], calldatas: list[bytes], description_hash: bytes
) -> int:
    """OZ's hashProposal computed independently: keccak256(abi.encode(targets, values, calldatas, hash))."""
    encoded = encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [[to_checksum_address(t) for t in targets], values, calldatas, description_hash],
    )
    return int.from_bytes(keccak(encoded), "big")


def timelock_salt(governor: str, description_hash: bytes) -> bytes:
    """OZ GovernorTimelockControl's salt: bytes20(governor) ^ descriptionHash."""
    gov = int(governor, 16) << 96
    return (gov ^ int.from_bytes(description_hash, "big")).to_bytes(32, "big")


def set_tip_proposal(emission: Any, new_tip: int, description: str = "Set the keeper tip") -> Proposal:
    return Proposal([str(emission.address)], [0], [emission.set_tip.prepare_calldata(new_tip)], description)


def events(contract: Any, name: str) -> list[Any]:
    """Decoded logs called `name` from the contract's last call (child calls included)."""
    return [e for e in contract.get_logs(strict=False) if type(e).__name__ == name]


def fund_and_delegate(token: Any, treasury: str, holders: dict[str, int]) -> None:
    """Send CLUB from the treasury (the Timelock) and self-delegate; then let a second pass."""
    for who, amount in holders.items():
        with boa.env.prank(treasury):
            token.transfer(who, amount)
        with boa.env.prank(who):
            token.delegate(who)
    boa.env.time_travel(seconds=1)


def propose(governor: Any, proposer: str, p: Proposal) -> int:
    with boa.env.prank(proposer):
        return governor.propose(*p.args()[:3], p.description)


def to_active(governor: Any, pid: int) -> None:
    """Travel to the first second of voting."""
    boa.env.time_travel(seconds=governor.proposalSnapshot(pid) - boa.env.evm.patch.timestamp + 1)


def past_deadline(governor: Any, pid: int) -> None:
    boa.env.time_travel(seconds=governor.proposalDeadline(pid) - boa.env.evm.patch.timestamp + 1)


def vote(governor: Any, voter: str, pid: int, support: int) -> int:
    with boa.env.prank(voter):
        return governor.castVote(pid, support)


def pass_and_queue(governor: Any, proposer: str, voters: list[str], p: Proposal) -> int:
    """Propose, vote For with every voter, wait for the deadline, queue. Returns the id."""
    pid = propose(governor, proposer, p)
    to_active(governor, pid)
    for v in voters:
        vote(governor, v, pid, FOR)
    past_deadline(governor, pid)
    governor.queue(*p.args())
    return pid
