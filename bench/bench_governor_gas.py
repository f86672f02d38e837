"""Gas of ClubGovernor + Timelock against OpenZeppelin 5 Governor + TimelockController (issue 3's benchmark).

Run: `.venv/bin/python bench/bench_governor_gas.py` (or `make bench`). Prints a table and writes
bench/results/governor_gas.json and bench/results/governor_gas.md. Both governors use the settings of
deployments/parameters.yaml (governance section) and vote with their own token: OZ Governor with the
OZ ERC20Votes baseline of bench_token_gas.py, ClubGovernor with ClubToken, as each would be deployed.
Not a test: nothing asserts gas; it fails only when the lifecycle cannot run or the two end differently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _harness import (
    EVM_VERSION,
    REPO_ROOT,
    Artifact,
    BenchError,
    Chain,
    Comparison,
    Report,
    anvil,
    compile_solidity,
    compile_vyper,
    environment,
    paragraph,
)
from eth_utils import keccak
from web3.contract import Contract

from clubchat.params import BPS, WAD, load

GOVERNANCE_DIR = REPO_ROOT / "contracts" / "governance"
CLUB_TOKEN = REPO_ROOT / "contracts" / "token" / "ClubToken.vy"
SOLIDITY_SOURCES = [
    "bench/solidity/OZVotesToken.sol",
    "bench/solidity/OZGovernor.sol",
    "bench/solidity/BenchTarget.sol",
]
ZERO = "0x" + "00" * 20
GOVERNOR_NAME = "ClubGovernor"

OZ = "OZ Governor 5"
OURS = "ClubGovernor"

ACTORS = ["deployer", "proposer", "voter_first", "voter_quorum", "voter_late", "holder", "keeper"]

# Supply minted at set-up: 100M CLUB. Quorum (4 %) is 4M; the threshold (0.1 %) is 100k.
HOLDINGS = {
    "proposer": 1_000_000 * WAD,  # 1 %: above the proposal threshold
    "voter_first": 1_000_000 * WAD,  # 1 %: the first vote, below quorum
    "voter_quorum": 4_000_000 * WAD,  # 4 %: with the first vote, reaches quorum (late-quorum extension)
    "voter_late": 1_000_000 * WAD,  # 1 %: a vote after quorum is reached
    "holder": 93_000_000 * WAD,  # never delegates
}
ACTION_VALUE = 42  # the proposal calls BenchTarget.setValue(42)
DESCRIPTION = "Set the benchmark target's value to 42"

# Figures the issue author measured for OpenZeppelin (issue 3, "Benchmark").
ISSUE_OZ = {"propose": 67_164, "cast_vote_first": 85_583, "queue": 146_687, "execute": 88_471}
# Targets as multiples of the OZ figure measured here.
TARGET_RATIO = {"propose": 1.0, "cast_vote_first": 0.85, "queue": 0.9, "execute": 1.0}


@dataclass(frozen=True)
class Implementation:
    """How to deploy one governance stack; `deploy` returns (token, timelock, governor)."""

    label: str
    artifacts: tuple[Artifact, ...]
    deploy: Callable[[Chain], tuple[Contract, Contract, Contract]]


def build_implementations() -> tuple[Implementation, Implementation | None, Artifact]:
    params = load()
    t, gv = params.token, params.governance
    oz = compile_solidity(SOLIDITY_SOURCES)
    target = oz["BenchTarget"]
    supply = sum(HOLDINGS.values())
    # OZ's GovernorSettings takes an absolute threshold; ClubGovernor takes bps of the live supply.
    # With the supply fixed during the benchmark both mean the same number of votes.
    oz_threshold = supply * gv.proposal_threshold_bps // BPS
    if gv.quorum_denominator != 100:
        raise BenchError(
            "OZ GovernorVotesQuorumFraction has denominator 100; governance.quorum_denominator differs"
        )

    def deploy_oz(chain: Chain) -> tuple[Contract, Contract, Contract]:
        token = chain.deploy(oz["OZVotesToken"], t.name, t.symbol, t.name, sender="deployer")
        timelock = chain.deploy(
            oz["TimelockController"], gv.timelock_delay_seconds, [], [ZERO], chain.address("deployer"),
            sender="deployer",
        )  # fmt: skip
        governor = chain.deploy(
            oz["OZGovernor"], token.address, timelock.address, gv.voting_delay_seconds,
            gv.voting_period_seconds, oz_threshold, gv.quorum_numerator, gv.late_quorum_extension_seconds,
            sender="deployer",
        )  # fmt: skip
        return token, timelock, governor

    oz_impl = Implementation(
        OZ, (oz["OZVotesToken"], oz["OZGovernor"], oz["TimelockController"], target), deploy_oz
    )
    ours_paths = [CLUB_TOKEN, GOVERNANCE_DIR / "Timelock.vy", GOVERNANCE_DIR / "ClubGovernor.vy"]
    if not all(p.exists() for p in ours_paths):
        return oz_impl, None, target
    club_token, club_timelock, club_governor = (compile_vyper(p) for p in ours_paths)

    def deploy_ours(chain: Chain) -> tuple[Contract, Contract, Contract]:
        # The same constructor arguments as clubchat/deploy/plan.py (deploy_timelock, deploy_governance).
        token = chain.deploy(
            club_token, t.name, t.symbol, t.cap_wei, t.name, t.eip712_version, sender="deployer"
        )
        timelock = chain.deploy(
            club_timelock, gv.timelock_delay_seconds, gv.grace_period_seconds, [], [ZERO],
            chain.address("deployer"), sender="deployer",
        )  # fmt: skip
        governor = chain.deploy(
            club_governor, token.address, timelock.address, GOVERNOR_NAME, gv.voting_delay_seconds,
            gv.voting_period_seconds, gv.proposal_threshold_bps, gv.quorum_numerator, gv.quorum_denominator,
            gv.late_quorum_extension_seconds, sender="deployer",
        )  # fmt: skip
        return token, timelock, governor

    ours_impl = Implementation(OURS, (club_token, club_governor, club_timelock), deploy_ours)
    return oz_impl, ours_impl, target


Gas = dict[str, dict[str, int]]  # operation -> implementation -> receipt gas


def lifecycle(chain: Chain, impl: Implementation, target_artifact: Artifact, gas: Gas) -> dict[str, Any]:
    """Deploy and wire the stack, then propose, vote, queue and execute one action; returns the end state."""
    gv = load().governance
    with chain.isolated():
        token, timelock, governor = impl.deploy(chain)
        target = chain.deploy(target_artifact, sender="deployer")
        for role in ("PROPOSER_ROLE", "CANCELLER_ROLE"):
            role_id = getattr(timelock.functions, role)().call()
            chain.transact(timelock.functions.grantRole(role_id, governor.address), "deployer")
        admin = timelock.functions.DEFAULT_ADMIN_ROLE().call()
        chain.transact(timelock.functions.renounceRole(admin, chain.address("deployer")), "deployer")
        for actor, amount in HOLDINGS.items():
            chain.transact(token.functions.mint(chain.address(actor), amount), "deployer")
        for actor in ("proposer", "voter_first", "voter_quorum", "voter_late"):
            chain.transact(token.functions.delegate(chain.address(actor)), actor)

        g = governor.functions
        targets, values = [target.address], [0]
        calldatas = [bytes.fromhex(target.functions.setValue(ACTION_VALUE)._encode_transaction_data()[2:])]
        description_hash = keccak(text=DESCRIPTION)
        proposal_id = g.hashProposal(targets, values, calldatas, description_hash).call()

        def measure(op: str, call: Any, sender: str) -> None:
            gas.setdefault(op, {})[impl.label] = chain.gas(call, sender)

        measure("propose", g.propose(targets, values, calldatas, DESCRIPTION), "proposer")
        chain.travel(gv.voting_delay_seconds + 1)
        measure("cast_vote_first", g.castVote(proposal_id, 1), "voter_first")
        measure("cast_vote_quorum", g.castVote(proposal_id, 1), "voter_quorum")
        measure("cast_vote_late", g.castVote(proposal_id, 0), "voter_late")
        # Past the deadline, which the quorum-reaching vote may have extended.
        deadline = g.proposalDeadline(proposal_id).call()
        chain.travel(deadline - chain.latest_timestamp() + 1)
        measure("queue", g.queue(targets, values, calldatas, description_hash), "keeper")
        chain.travel(gv.timelock_delay_seconds + 1)
        measure("execute", g.execute(targets, values, calldatas, description_hash), "keeper")
        return {
            "governor": governor.address,
            "target": target.address,
            "state": g.state(proposal_id).call(),
            "votes": g.proposalVotes(proposal_id).call(),
            "value": target.functions.value().call(),
            "extended_deadline": deadline - g.proposalSnapshot(proposal_id).call(),
        }


OPERATIONS = {
    "propose": "propose (one action)",
    "cast_vote_first": "castVote, first vote (below quorum)",
    "cast_vote_quorum": "castVote reaching quorum (late-quorum check)",
    "cast_vote_late": "castVote after quorum (Against)",
    "queue": "queue (schedule in the timelock)",
    "execute": "execute (timelock runs BenchTarget.setValue)",
}


def main() -> int:
    oz_impl, ours_impl, target = build_implementations()
    impls = [oz_impl, *([ours_impl] if ours_impl else [])]
    gas: Gas = {}
    ends: dict[str, dict[str, Any]] = {}
    with anvil(EVM_VERSION) as url:
        chain = Chain(url, ACTORS)
        for impl in impls:
            ends[impl.label] = lifecycle(chain, impl, target, gas)
    (ref_label, ref), *others = ends.items()
    if ref["state"] != 7 or ref["value"] != ACTION_VALUE:
        raise BenchError(f"{ref_label}: the proposal did not execute: {ref}")
    for label, end in others:
        for key in ("target", "state", "votes", "value"):
            if end[key] != ref[key]:
                raise BenchError(f"{label} ends with {key}={end[key]}, {ref_label} with {ref[key]}")

    comparisons = []
    for op, title in OPERATIONS.items():
        base = gas[op][OZ]
        ours = gas[op].get(OURS)
        ratio = TARGET_RATIO.get(op)
        comparisons.append(
            Comparison(
                title,
                OZ,
                [base],
                None if ours is None else [ours],
                None if ratio is None else ratio * base,
                "" if ratio is None else f"<= {ratio:.2f}x OZ",
                ISSUE_OZ.get(op),
            )
        )
    notes = list(NOTES)
    if ours_impl is None:
        notes.append("contracts/governance/ClubGovernor.vy or Timelock.vy does not exist yet: OZ only.")
    report = Report(
        name="governor_gas",
        script="bench/bench_governor_gas.py",
        title="ClubGovernor + Timelock vs OpenZeppelin Governor 5 + TimelockController: receipt gas",
        ours_label=OURS,
        comparisons=comparisons,
        environment=environment(EVM_VERSION, [a for i in impls for a in i.artifacts]),
        notes=notes,
    )
    report.publish()
    return 0


NOTES = [
    paragraph(
        """
        Settings from deployments/parameters.yaml: voting delay 1 day, period 5 days, quorum 4 %, proposal
        threshold 0.1 % of supply, late-quorum extension 1 day, timelock delay 2 days; executor role open.
        """
    ),
    paragraph(
        """
        Set-up (identical for both): deploy token, timelock, governor and BenchTarget; the timelock grants
        the governor PROPOSER_ROLE and CANCELLER_ROLE and the deployer renounces its admin role; mint 100M
        CLUB (proposer 1 %, three voters 1 %, 4 % and 1 %, a non-delegating holder 93 %); the four delegate
        to themselves.
        """
    ),
    paragraph(
        """
        One proposal runs its whole lifecycle: propose; after the voting delay three votes (1 % For, then 4
        % For, which reaches quorum and sets the late-quorum deadline, then 1 % Against); queue after the
        deadline; execute after the timelock delay. queue and execute are sent by a keeper (anyone may).
        """
    ),
    paragraph(
        """
        Each governor votes with its own token (OZ ERC20Votes with a timestamp clock, resp. ClubToken), so
        the castVote and propose figures include the token's checkpoint look-ups.
        """
    ),
    paragraph(
        """
        Targets given as a ratio are applied to the OZ figure measured here, on the same EVM.
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main())
