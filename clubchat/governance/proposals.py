"""Proposals: OZ-compatible ids, recovering a proposal's actions from its log, and the lifecycle steps.

The steps check the proposal's state first and explain what to do when it is not the
right time (e.g. "voting ends in 3 h"), then send through a `Sender`. Nothing here needs
ape; `scripts/governance.py` passes an ape-backed sender on live networks.

`propose` restricts every proposal to its sender by default: the description ends in
`#proposer=0x<address>` (OZ 5's convention, enforced by ClubGovernor), so nobody can copy a
proposal seen in the mempool, create it first and cancel it to block the original.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Sender
from clubchat.governance.actions import Action

# OZ 5's front-running guard: a description ending in this marker + "0x" + 40 hex digits can
# only be proposed by that address (ClubGovernor reads the last 52 bytes).
PROPOSER_MARKER = "#proposer="
_SUFFIX_LENGTH = len(PROPOSER_MARKER) + 42

STATE_NAMES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)


class GovernanceError(RuntimeError):
    """A governance step cannot be taken now; the message says why and what to do."""


class Support(enum.IntEnum):
    """GovernorCountingSimple's vote types."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2

    @classmethod
    def parse(cls, text: str) -> Support:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise GovernanceError(f"{text!r} is not a vote; use for, against or abstain") from None


def proposal_id(
    targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes], desc_hash: bytes
) -> int:
    """OZ's `hashProposal`: keccak256(abi.encode(targets, values, calldatas, descriptionHash))."""
    encoded = encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [[to_checksum_address(t) for t in targets], list(values), list(calldatas), desc_hash],
    )
    return int.from_bytes(keccak(encoded), "big")


@dataclass(frozen=True)
class ProposalSpec:
    """What is proposed: the actions and the description (whose hash is part of the id)."""

    actions: tuple[Action, ...]
    description: str

    @property
    def targets(self) -> list[str]:
        return [a.target for a in self.actions]

    @property
    def values(self) -> list[int]:
        return [a.value for a in self.actions]

    @property
    def calldatas(self) -> list[bytes]:
        return [a.calldata for a in self.actions]

    @property
    def description_hash(self) -> bytes:
        return keccak(text=self.description)

    @property
    def id(self) -> int:
        return proposal_id(self.targets, self.values, self.calldatas, self.description_hash)

    @property
    def restricted_to(self) -> str | None:
        """The only address the governor lets propose this spec (its `#proposer=` suffix), if any."""
        return proposer_in_suffix(self.description)

    def for_proposer(self, proposer: str) -> ProposalSpec:
        """This spec restricted to `proposer`: its description gets the `#proposer=0x...` suffix.

        A spec that already carries the suffix for `proposer` is returned as it is; one restricted
        to another address cannot be proposed by `proposer` and raises.
        """
        return ProposalSpec(self.actions, with_proposer_suffix(self.description, proposer))


def proposer_in_suffix(description: str) -> str | None:
    """The checksummed address of a trailing `#proposer=0x<40 hex>`, as ClubGovernor parses it; else None."""
    tail = description.encode()[-_SUFFIX_LENGTH:]
    marker = (PROPOSER_MARKER + "0x").encode()
    if len(tail) < _SUFFIX_LENGTH or not tail.startswith(marker):
        return None
    digits = tail[len(marker) :]
    if any(chr(c) not in "0123456789abcdefABCDEF" for c in digits):
        return None  # the governor treats a non-hex suffix as plain text
    return to_checksum_address("0x" + digits.decode())


def with_proposer_suffix(description: str, proposer: str) -> str:
    """`description` followed by a blank line and `#proposer=0x<proposer>` (lower-case hex).

    Raises GovernanceError if the description already names another proposer.
    """
    proposer = to_checksum_address(proposer)
    named = proposer_in_suffix(description)
    if named == proposer:
        return description
    if named is not None:
        raise GovernanceError(
            f"the description is restricted to {named} (its #proposer= suffix); "
            f"{proposer} cannot propose it; remove the suffix or propose from {named}"
        )
    return f"{description}\n\n{PROPOSER_MARKER}{proposer.lower()}"


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal as its ProposalCreated log tells it."""

    spec: ProposalSpec
    proposer: str
    vote_start: int
    vote_end: int
    block: int


def governor(w3: Web3, manifest: Manifest) -> Contract:
    return manifest.contract(w3, "ClubGovernor")


def proposals(w3: Web3, manifest: Manifest) -> list[ProposalRecord]:
    """Every proposal ever created, oldest first, from the governor's ProposalCreated logs."""
    gov = governor(w3, manifest)
    start = manifest.contracts["ClubGovernor"].block
    records = []
    for log in gov.events.ProposalCreated().get_logs(from_block=start):
        a = log["args"]
        actions = tuple(
            Action(to_checksum_address(t), int(v), bytes(c), "")
            for t, v, c in zip(a["targets"], a["values"], a["calldatas"], strict=True)
        )
        records.append(
            ProposalRecord(
                ProposalSpec(actions, a["description"]),
                to_checksum_address(a["proposer"]),
                int(a["voteStart"]),
                int(a["voteEnd"]),
                int(log["blockNumber"]),
            )
        )
    return records


def find_proposal(w3: Web3, manifest: Manifest, pid: int) -> ProposalRecord:
    """The proposal with id `pid` (decimal or its 0x form), from its ProposalCreated log."""
    for record in proposals(w3, manifest):
        if record.spec.id == pid:
            return record
    raise GovernanceError(f"no proposal {pid} on this chain; `status` lists the proposals")


def parse_id(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise GovernanceError(f"{text!r} is not a proposal id (a decimal or 0x number)") from None


def _chain_now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def _in(seconds: int) -> str:
    if seconds <= 0:
        return "now"
    if seconds < 3600:
        return f"in {seconds // 60} min {seconds % 60} s"
    if seconds < 86_400:
        return f"in {seconds / 3600:.1f} h"
    return f"in {seconds / 86_400:.1f} days"


def state(w3: Web3, manifest: Manifest, pid: int) -> int:
    return int(governor(w3, manifest).functions.state(pid).call())


# LIFECYCLE #


def delegate(w3: Web3, manifest: Manifest, sender: Sender, delegatee: str | None = None) -> str:
    """Delegate the sender's CLUB votes (to itself by default). Returns the tx hash."""
    token = manifest.contract(w3, "ClubToken")
    to = to_checksum_address(delegatee or sender.address)
    data = bytes.fromhex(token.encode_abi("delegate", args=[to])[2:])
    return sender.send(token.address, data)


def propose(w3: Web3, manifest: Manifest, sender: Sender, spec: ProposalSpec, restrict: bool = True) -> int:
    """Create the proposal; returns its id. Checks the threshold first for a clear message.

    With `restrict` (the default) the description gets the sender's `#proposer=` suffix
    (`ProposalSpec.for_proposer`), so the id is that of `spec.for_proposer(sender.address)`;
    `restrict=False` proposes `spec` as it is, which anyone above the threshold could copy first.
    """
    if restrict:
        spec = spec.for_proposer(sender.address)
    gov = governor(w3, manifest)
    now = _chain_now(w3)
    threshold = int(gov.functions.proposalThreshold().call())
    votes = int(gov.functions.getVotes(sender.address, now - 1).call())
    if votes < threshold:
        raise GovernanceError(
            f"{sender.address} has {votes / 1e18:,.0f} votes, {threshold / 1e18:,.0f} are needed to propose; "
            "delegate more CLUB to it (`delegate`) and wait one block"
        )
    data = bytes.fromhex(
        gov.encode_abi("propose", args=[spec.targets, spec.values, spec.calldatas, spec.description])[2:]
    )
    sender.send(gov.address, data)
    return spec.id


def vote(w3: Web3, manifest: Manifest, sender: Sender, pid: int, support: Support, reason: str = "") -> int:
    """Cast the sender's vote; returns the weight counted (its votes at the snapshot)."""
    gov = governor(w3, manifest)
    st = state(w3, manifest, pid)
    if st != ACTIVE:
        hint = ""
        if st == PENDING:
            snapshot = int(gov.functions.proposalSnapshot(pid).call())
            hint = f"; voting opens {_in(snapshot + 1 - _chain_now(w3))}"
        raise GovernanceError(f"proposal is {STATE_NAMES[st]}, votes are only accepted while Active{hint}")
    if gov.functions.hasVoted(pid, sender.address).call():
        raise GovernanceError(f"{sender.address} has already voted on this proposal")
    weight = int(gov.functions.getVotes(sender.address, gov.functions.proposalSnapshot(pid).call()).call())
    if reason:
        data = gov.encode_abi("castVoteWithReason", args=[pid, int(support), reason])
    else:
        data = gov.encode_abi("castVote", args=[pid, int(support)])
    sender.send(gov.address, bytes.fromhex(data[2:]))
    return weight


def queue(w3: Web3, manifest: Manifest, sender: Sender, pid: int) -> int:
    """Schedule a succeeded proposal in the Timelock; returns its eta (timestamp)."""
    gov = governor(w3, manifest)
    st = state(w3, manifest, pid)
    if st != SUCCEEDED:
        hint = ""
        if st == ACTIVE:
            hint = (
                f"; voting ends {_in(int(gov.functions.proposalDeadline(pid).call()) + 1 - _chain_now(w3))}"
            )
        raise GovernanceError(f"proposal is {STATE_NAMES[st]}, only a Succeeded proposal can be queued{hint}")
    spec = find_proposal(w3, manifest, pid).spec
    data = gov.encode_abi("queue", args=[spec.targets, spec.values, spec.calldatas, spec.description_hash])
    sender.send(gov.address, bytes.fromhex(data[2:]))
    return int(gov.functions.proposalEta(pid).call())


def execute(w3: Web3, manifest: Manifest, sender: Sender, pid: int, value: int = 0) -> str:
    """Execute a queued proposal whose eta has come; returns the tx hash."""
    gov = governor(w3, manifest)
    st = state(w3, manifest, pid)
    if st != QUEUED:
        raise GovernanceError(f"proposal is {STATE_NAMES[st]}, only a Queued proposal can be executed")
    eta = int(gov.functions.proposalEta(pid).call())
    if _chain_now(w3) < eta:
        raise GovernanceError(f"the Timelock delay has not passed; execute {_in(eta - _chain_now(w3))}")
    spec = find_proposal(w3, manifest, pid).spec
    data = gov.encode_abi("execute", args=[spec.targets, spec.values, spec.calldatas, spec.description_hash])
    return sender.send(gov.address, bytes.fromhex(data[2:]), value=value)


def travel(w3: Web3, seconds: int) -> None:
    """Move a development chain's clock forward and mine a block (anvil/hardhat RPC)."""
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
