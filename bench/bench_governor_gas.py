"""Gas of ClubGovernor + Timelock against OpenZeppelin 5 Governor + TimelockController.

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

from clubchat.deploy.plan import token_constructor_args
from clubchat.params import BPS, WAD, load

GOVERNANCE_DIR = REPO_ROOT / "contracts" / "governance"
CLUB_TOKEN = REPO_ROOT / "contracts" / "token" / "ClubToken.vy"
SOLIDITY_SOURCES = [
    "bench/solidity/OZVotesToken.sol",
    "bench/solidity/OZGovernor.sol",
    "bench/solidity/BenchTarget.sol",
]
# Everything the measured bytecode is built from, for the report's source revision.
SOURCES = (
    "contracts/token/ClubToken.vy",
    "contracts/governance",
    "contracts/modules",
    "interfaces",
    "bench/solidity",
)
ZERO = "0x" + "00" * 20
GOVERNOR_NAME = "ClubGovernor"

OZ = "OZ Governor 5"
OZ_ONE_LIVE = "OZ Governor 5 + one live proposal per proposer"
OZ_ON_CLUB = "OZ Governor 5 on ClubToken"
OURS = "ClubGovernor"

ACTORS = [
    "deployer", "proposer", "repeat_proposer", "voter_first", "voter_quorum", "voter_late", "holder", "keeper"
]  # fmt: skip

# Supply minted at set-up: 100M CLUB. Quorum (4 %) is 4M; the threshold (0.1 %) is 100k.
HOLDINGS = {
    "proposer": 1_000_000 * WAD,  # 1 %: above the proposal threshold
    "repeat_proposer": 1_000_000 * WAD,  # 1 %: proposes once (then cancels), and is measured proposing again
    "voter_first": 1_000_000 * WAD,  # 1 %: the first vote, below quorum
    "voter_quorum": 4_000_000 * WAD,  # 4 %: with the first vote, reaches quorum (late-quorum extension)
    "voter_late": 1_000_000 * WAD,  # 1 %: a vote after quorum is reached
    "holder": 92_000_000 * WAD,  # never delegates
}
ACTION_VALUE = 42  # the proposal calls BenchTarget.setValue(42)
DESCRIPTION = "Set the benchmark target's value to 42"
# The repeat proposer's two proposals: the same action, descriptions of the same length.
EARLIER_DESCRIPTION = "Set the benchmark target's value to 43"
REPEAT_DESCRIPTION = "Set the benchmark target's value to 44"
PROPOSER_DELEGATES = ("proposer", "repeat_proposer", "voter_first", "voter_quorum", "voter_late")

# Reference figures for OpenZeppelin that the governor's specification gave (measured by its author;
# the reports call them "issue's OZ").
ISSUE_OZ = {"propose": 67_164, "cast_vote_first": 85_583, "queue": 146_687, "execute": 88_471}
# Targets as multiples of the OZ figure measured here (the issue's propose target applies to both
# kinds of proposer).
TARGET_RATIO = {
    "propose": 1.0, "propose_repeat": 1.0, "cast_vote_first": 0.85, "queue": 0.9, "execute": 1.0
}  # fmt: skip


@dataclass(frozen=True)
class Implementation:
    """How to deploy one governance stack; `deploy` returns (token, timelock, governor)."""

    label: str
    artifacts: tuple[Artifact, ...]
    deploy: Callable[[Chain], tuple[Contract, ...]]


def build_implementations() -> tuple[list[Implementation], Artifact]:
    """OZ Governor on OZ ERC20Votes (always); when our contracts exist, ClubGovernor + Timelock on
    ClubToken and, to separate the governor's share from the token's, OZ Governor on ClubToken."""
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

    def deploy_oz_token(chain: Chain) -> Contract:
        return chain.deploy(oz["OZVotesToken"], t.name, t.symbol, t.name, sender="deployer")

    def oz_governance(
        deploy_token: Callable[[Chain], Contract], governor_artifact: Artifact = oz["OZGovernor"]
    ) -> Callable[[Chain], tuple[Contract, ...]]:
        def deploy(chain: Chain) -> tuple[Contract, ...]:
            token = deploy_token(chain)
            timelock = chain.deploy(
                oz["TimelockController"], gv.timelock_delay_seconds, [], [ZERO], chain.address("deployer"),
                sender="deployer",
            )  # fmt: skip
            governor = chain.deploy(
                governor_artifact, token.address, timelock.address, gv.voting_delay_seconds,
                gv.voting_period_seconds, oz_threshold, gv.quorum_numerator, gv.late_quorum_extension_seconds,
                sender="deployer",
            )  # fmt: skip
            return token, timelock, governor

        return deploy

    oz_stack = (oz["OZGovernor"], oz["TimelockController"], target)
    impls = [
        Implementation(OZ, (oz["OZVotesToken"], *oz_stack), oz_governance(deploy_oz_token)),
        Implementation(
            OZ_ONE_LIVE,
            (oz["OZVotesToken"], oz["OZGovernorOneLive"], *oz_stack[1:]),
            oz_governance(deploy_oz_token, oz["OZGovernorOneLive"]),
        ),
    ]
    ours_paths = [CLUB_TOKEN, GOVERNANCE_DIR / "Timelock.vy", GOVERNANCE_DIR / "ClubGovernor.vy"]
    if not all(p.exists() for p in ours_paths):
        return impls, target
    club_token, club_timelock, club_governor = (compile_vyper(p) for p in ours_paths)

    def deploy_club_token(chain: Chain) -> Contract:
        return chain.deploy(club_token, *token_constructor_args(params), sender="deployer")

    def deploy_ours(chain: Chain) -> tuple[Contract, ...]:
        # The same constructor arguments as clubchat/deploy/plan.py (deploy_timelock, deploy_governance).
        token = deploy_club_token(chain)
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

    impls.append(Implementation(OZ_ON_CLUB, (club_token, *oz_stack), oz_governance(deploy_club_token)))
    impls.append(Implementation(OURS, (club_token, club_governor, club_timelock), deploy_ours))
    return impls, target


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
        for actor in PROPOSER_DELEGATES:
            chain.transact(token.functions.delegate(chain.address(actor)), actor)

        g = governor.functions
        targets, values = [target.address], [0]
        calldatas = [bytes.fromhex(target.functions.setValue(ACTION_VALUE)._encode_transaction_data()[2:])]
        description_hash = keccak(text=DESCRIPTION)
        proposal_id = g.hashProposal(targets, values, calldatas, description_hash).call()

        def measure(op: str, call: Any, sender: str) -> None:
            gas.setdefault(op, {})[impl.label] = chain.gas(call, sender)

        measure("propose", g.propose(targets, values, calldatas, DESCRIPTION), "proposer")
        # A repeat proposer: its earlier proposal was cancelled, so a one-live-proposal rule reads
        # that proposal's state and overwrites a non-zero slot instead of creating one.
        chain.transact(g.propose(targets, values, calldatas, EARLIER_DESCRIPTION), "repeat_proposer")
        earlier_hash = keccak(text=EARLIER_DESCRIPTION)
        chain.transact(g.cancel(targets, values, calldatas, earlier_hash), "repeat_proposer")
        measure(
            "propose_repeat", g.propose(targets, values, calldatas, REPEAT_DESCRIPTION), "repeat_proposer"
        )
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
    "propose": "propose (one action), first-time proposer",
    "propose_repeat": "propose (one action), repeat proposer",
    "cast_vote_first": "castVote, first vote (below quorum)",
    "cast_vote_quorum": "castVote reaching quorum (late-quorum check)",
    "cast_vote_late": "castVote after quorum (Against)",
    "queue": "queue (schedule in the timelock)",
    "execute": "execute (timelock runs BenchTarget.setValue)",
}


def main() -> int:
    impls, target = build_implementations()
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

    have_ours = any(i.label == OURS for i in impls)
    comparisons = []
    for op, title in OPERATIONS.items():
        ours = [gas[op][OURS]] if have_ours else None
        base = gas[op][OZ]
        ratio = TARGET_RATIO.get(op)
        target_gas = None if ratio is None else ratio * base
        target_text = "" if ratio is None else f"<= {ratio:.2f}x OZ"
        comparisons.append(Comparison(title, OZ, [base], ours, target_gas, target_text, ISSUE_OZ.get(op)))
    if have_ours:
        comparisons += [
            Comparison(title, OZ_ONE_LIVE, [gas[op][OZ_ONE_LIVE]], [gas[op][OURS]])
            for op, title in OPERATIONS.items()
            if op.startswith("propose")
        ]
        comparisons += [
            Comparison(title, OZ_ON_CLUB, [gas[op][OZ_ON_CLUB]], [gas[op][OURS]])
            for op, title in OPERATIONS.items()
        ]
    notes = list(NOTES)
    if not have_ours:
        notes.append("contracts/governance/ClubGovernor.vy or Timelock.vy does not exist yet: OZ only.")
    report = Report(
        name="governor_gas",
        script="bench/bench_governor_gas.py",
        title="ClubGovernor + Timelock vs OpenZeppelin Governor 5 + TimelockController: receipt gas",
        ours_label=OURS,
        comparisons=comparisons,
        environment=environment(
            EVM_VERSION, list({a.name: a for i in impls for a in i.artifacts}.values()), SOURCES
        ),
        notes=notes,
    )
    report.publish()
    return 0


NOTES = [
    paragraph(
        """
        Settings from deployments/parameters.yaml: voting delay 1 day, period 5 days, quorum 4 %, proposal
        threshold 0.1 % of supply (OZ: the same number of votes as an absolute threshold), late-quorum
        extension 1 day, timelock delay 2 days; the timelock's executor role is open.
        """
    ),
    paragraph(
        """
        Set-up (identical for every stack): deploy token, timelock, governor and BenchTarget; the timelock
        grants the governor PROPOSER_ROLE and CANCELLER_ROLE and the deployer renounces its admin role;
        mint 100M CLUB (proposer 1 %, repeat proposer 1 %, three voters 1 %, 4 % and 1 %, a non-delegating
        holder 92 %); the five delegate to themselves.
        """
    ),
    paragraph(
        """
        One proposal runs its whole lifecycle: propose (one action: BenchTarget.setValue(42) on a value that
        is already 1, i.e. a parameter change) by a first-time proposer; then a repeat proposer, whose
        earlier proposal of the same action (a description of the same length) it cancelled while Pending,
        proposes it again and that propose is measured; after the voting delay three votes (1 % For, then
        4 % For, which reaches quorum, then 1 % Against; all on the first day of voting, outside the
        late-quorum window, so no deadline moves); queue after the deadline;
        execute after the timelock delay. queue and execute are sent by a keeper (anyone may).
        """
    ),
    paragraph(
        """
        Each governor votes with its own token (OZ ERC20Votes with a timestamp clock, resp. ClubToken), so
        propose and castVote include the token's checkpoint look-ups. The rows 'OZ Governor 5 on ClubToken'
        run the OZ governor and TimelockController on ClubToken, which separates what ClubGovernor saves
        from what ClubToken saves.
        """
    ),
    paragraph(
        """
        Why our OZ figures differ from the issue's (same OZ 5.1.0 and solc settings, cancun): propose: the
        issue's 67,164 fits a governor without proposal threshold; with threshold 0 OZ skips the proposer's
        vote look-up and our OZ propose costs 68,362 (about 67.1k with an empty description, which costs
        1,273 here), against 75,555 with the 0.1 % threshold. First castVote: the issue's 85,583 matches our
        OZ vote cast after quorum (85,707): the same two fresh writes without GovernorPreventLateQuorum's
        quorum check, which OZ runs on every vote until quorum is reached (quorum-numerator history and the
        token's getPastTotalSupply, about 16k here); we measure with that check, as the settings require.
        execute: our action costs about 8.6k inside execute (cold call 2,600, SSTORE 5,000, event), close
        to the 8,810 gap, so the issue's action was evidently almost free; queue (+2,454) also depends on
        the action's calldata, which is hashed and logged. The 'vs issue's' column divides by the issue's
        figures anyway.
        """
    ),
    paragraph(
        """
        Targets given as a ratio are applied to the OZ figure measured here, on the same EVM.
        """
    ),
    paragraph(
        """
        Conflicting targets, propose <= 1.0x OZ versus the one-live-proposal rule: plain OZ Governor 5 has no
        such rule, so it stores nothing per proposer. ClubGovernor must remember each proposer's latest
        proposal: a first-time proposer pays a fresh storage slot (22,100 gas of writing plus the cold read),
        a repeat proposer a cold read of that slot, the earlier proposal's state (two cold reads here, as it
        was cancelled) and a non-zero rewrite (2,900). Both rows therefore stay above plain OZ; the target
        cannot be met without dropping the rule. With the same rule ('OZ Governor 5 + one live proposal per
        proposer', bench/solidity/OZGovernor.sol: OZGovernorOneLive, Compound Bravo's check on OZ 5)
        ClubGovernor's propose is below OZ for both kinds of proposer.
        """
    ),
    paragraph(
        """
        castVote: every vote reads the settings slot for the late-quorum extension, and only a vote inside
        the last extension window also reads the quorum (it may turn the outcome, in either direction, and
        then moves the deadline); before the fix of the late-quorum bypass the first For votes read the
        quorum until one made the proposal pass and Against votes read neither, so votes outside the window
        got about 5k cheaper and an Against vote about 2.5k dearer. The packed words are read through named
        internal accessors, which vyper's legacy code generator does not inline: 67 gas per call (measured
        on a one-function contract). Two changes paid most of that back: flags are tested and set with
        named in-place bit constants (no call), and the Timelock's `schedule_batch` returns the operation
        id it hashes, so `queue` no longer hashes the batch a second time; `propose` and `execute` decode in
        place with the layout's named constants (propose's four accessor calls cost 265 gas; one helper
        returning a tuple saved only 3). Against the figures before the accessors
        (93,149 / 114,633 / 67,508): see the propose, queue and execute rows. Venom
        (`pragma experimental-codegen`), which inlines them, made propose, queue and execute 4.4k to 11k
        dearer in a trial run, so the governor stays on the legacy generator.
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main())
