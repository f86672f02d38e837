"""ClubGovernor voting: weights at the snapshot, tallies, windows, duplicates, signatures, late quorum."""

from __future__ import annotations

from pathlib import Path

import boa
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from tests.unit.governor.conftest import ALICE_VOTES, BOB_VOTES, CAROL_VOTES
from tests.utils.governance import (
    ABSTAIN,
    ACTIVE,
    AGAINST,
    DEFEATED,
    FOR,
    SUCCEEDED,
    WAD,
    ZERO,
    events,
    fund_and_delegate,
    past_deadline,
    propose,
    set_tip_proposal,
    to_active,
    vote,
)

WALLET_SOURCE = Path(__file__).parents[2] / "utils" / "contracts" / "MockERC1271Wallet.vy"


@pytest.fixture
def pid(governor, emission, voters):
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    return pid


def test_tallies_by_support(governor, voters, pid):
    assert vote(governor, voters["bob"], pid, AGAINST) == BOB_VOTES
    (ev,) = events(governor, "VoteCast")
    assert (ev.voter, ev.proposalId, ev.support, ev.weight, ev.reason) == (
        voters["bob"],
        pid,
        0,
        BOB_VOTES,
        "",
    )
    assert vote(governor, voters["carol"], pid, ABSTAIN) == CAROL_VOTES
    assert vote(governor, voters["alice"], pid, FOR) == ALICE_VOTES
    assert governor.proposalVotes(pid) == (BOB_VOTES, ALICE_VOTES, CAROL_VOTES)
    assert governor.hasVoted(pid, voters["bob"])
    assert not governor.hasVoted(pid, boa.env.generate_address("nobody"))


def test_vote_with_reason_and_params(governor, voters, pid):
    with boa.env.prank(voters["bob"]):
        governor.castVoteWithReason(pid, FOR, "tips are too high")
    (ev,) = events(governor, "VoteCast")
    assert ev.reason == "tips are too high"
    with boa.env.prank(voters["carol"]):
        governor.castVoteWithReasonAndParams(pid, AGAINST, "why", b"\x01\x02")
    (ev,) = events(governor, "VoteCastWithParams")
    assert (ev.reason, ev.params, ev.weight) == ("why", b"\x01\x02", CAROL_VOTES)


def test_duplicate_vote_reverts(governor, voters, pid):
    vote(governor, voters["bob"], pid, FOR)
    with boa.reverts("governor: vote already cast"):
        vote(governor, voters["bob"], pid, AGAINST)


def test_invalid_support_reverts(governor, voters, pid):
    with boa.reverts("governor: invalid vote type"):
        vote(governor, voters["bob"], pid, 3)


def test_unknown_proposal_reverts(governor, voters):
    with boa.reverts("governor: unknown proposal"):
        vote(governor, voters["bob"], 12345, FOR)
    with boa.reverts("governor: unknown proposal"):
        governor.state(12345)


def test_vote_outside_window_reverts(governor, emission, voters, params):
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    with boa.reverts("governor: vote not currently active"):  # pending
        vote(governor, voters["bob"], pid, FOR)
    # The snapshot second itself is still Pending (OZ: snapshot >= now).
    boa.env.time_travel(seconds=governor.proposalSnapshot(pid) - boa.env.evm.patch.timestamp)
    with boa.reverts("governor: vote not currently active"):
        vote(governor, voters["bob"], pid, FOR)
    boa.env.time_travel(seconds=1)
    assert governor.state(pid) == ACTIVE
    # The deadline second is the last one with votes.
    boa.env.time_travel(seconds=governor.proposalDeadline(pid) - boa.env.evm.patch.timestamp)
    vote(governor, voters["carol"], pid, AGAINST)
    boa.env.time_travel(seconds=1)
    with boa.reverts("governor: vote not currently active"):
        vote(governor, voters["bob"], pid, FOR)


def test_flash_votes_carry_no_weight(governor, token, timelock, voters, pid):
    """Tokens bought or delegated after the snapshot count zero; moving them away later keeps the weight."""
    flash = str(boa.env.generate_address("flash"))
    with boa.env.prank(timelock.address):
        token.transfer(flash, 100_000_000 * 10**18)
    with boa.env.prank(flash):
        token.delegate(flash)
    assert token.getVotes(flash) == 100_000_000 * 10**18
    assert vote(governor, flash, pid, FOR) == 0
    # carol delegates her votes to alice after the snapshot: alice still counts only her own.
    with boa.env.prank(voters["carol"]):
        token.delegate(voters["alice"])
    assert vote(governor, voters["alice"], pid, FOR) == ALICE_VOTES
    assert vote(governor, voters["carol"], pid, FOR) == CAROL_VOTES
    # bob sends his tokens away after the snapshot and still votes with his snapshot weight.
    with boa.env.prank(voters["bob"]):
        token.transfer(flash, BOB_VOTES)
    assert vote(governor, voters["bob"], pid, AGAINST) == BOB_VOTES
    assert governor.proposalVotes(pid) == (BOB_VOTES, ALICE_VOTES + CAROL_VOTES, 0)


def test_quorum_and_majority_decide(governor, emission, voters, token):
    # For 10 M + Abstain 1 M < quorum 24 M: defeated even though For wins.
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    snapshot = governor.proposalSnapshot(pid)
    assert governor.quorum(snapshot) == token.getPastTotalSupply(snapshot) * 4 // 100
    vote(governor, voters["bob"], pid, FOR)
    vote(governor, voters["carol"], pid, ABSTAIN)
    past_deadline(governor, pid)
    assert governor.state(pid) == DEFEATED


def test_for_must_beat_against(governor, emission, voters):
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, AGAINST)
    vote(governor, voters["bob"], pid, FOR)
    vote(governor, voters["carol"], pid, ABSTAIN)
    past_deadline(governor, pid)
    assert governor.state(pid) == DEFEATED


def test_abstain_counts_toward_quorum(governor, emission, voters):
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, ABSTAIN)  # 30 M abstain reaches quorum
    vote(governor, voters["carol"], pid, FOR)
    past_deadline(governor, pid)
    assert governor.state(pid) == SUCCEEDED


def test_late_quorum_extends_deadline(governor, emission, voters, params):
    ext = params.governance.late_quorum_extension_seconds
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    deadline = governor.proposalDeadline(pid)
    # Below quorum: no extension.
    vote(governor, voters["bob"], pid, FOR)
    assert events(governor, "ProposalExtended") == []
    # One hour before the deadline alice's vote makes it pass: the deadline moves to now + extension.
    boa.env.time_travel(seconds=deadline - boa.env.evm.patch.timestamp - 3600)
    vote(governor, voters["alice"], pid, FOR)
    (ev,) = events(governor, "ProposalExtended")
    now = boa.env.evm.patch.timestamp
    assert ev.proposalId == pid and ev.extendedDeadline == now + ext
    assert governor.proposalDeadline(pid) == now + ext
    # A later vote that keeps it passing does not extend again, even inside the window.
    boa.env.time_travel(seconds=ext - 10)
    vote(governor, voters["carol"], pid, FOR)
    assert events(governor, "ProposalExtended") == []
    assert governor.proposalDeadline(pid) == now + ext


def test_early_quorum_does_not_shorten_deadline(governor, emission, voters):
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    deadline = governor.proposalDeadline(pid)
    vote(governor, voters["alice"], pid, FOR)
    assert governor.proposalDeadline(pid) == deadline
    assert events(governor, "ProposalExtended") == []


def test_passing_swing_after_losing_quorum_extends(governor, emission, voters, params):
    """Quorum reached by an Abstain+For that is losing does not extend; the vote that flips it does."""
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    vote(governor, voters["bob"], pid, AGAINST)  # 10 M against
    vote(governor, voters["carol"], pid, FOR)  # 1 M for
    deadline = governor.proposalDeadline(pid)
    boa.env.time_travel(seconds=deadline - boa.env.evm.patch.timestamp - 60)
    vote(governor, voters["alice"], pid, FOR)  # 31 M for > 10 M against, quorum reached
    assert (
        governor.proposalDeadline(pid)
        == boa.env.evm.patch.timestamp + params.governance.late_quorum_extension_seconds
    )


def _last_seconds(governor, pid: int, seconds_left: int) -> None:
    boa.env.time_travel(seconds=governor.proposalDeadline(pid) - boa.env.evm.patch.timestamp - seconds_left)


def test_late_flip_after_early_pass_extends(governor, emission, token, timelock, voters, params):
    """Finding 4: an early passing vote used up the extension; a last-second flip then won unanswered."""
    ext = params.governance.late_quorum_extension_seconds
    opposition, ally = boa.env.generate_address("opposition"), boa.env.generate_address("ally")
    fund_and_delegate(token, str(timelock.address), {opposition: 40_000_000 * WAD, ally: 20_000_000 * WAD})
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    deadline = governor.proposalDeadline(pid)
    vote(governor, voters["alice"], pid, FOR)  # 30 M For: passing on day one, the deadline is far away
    assert governor.proposalDeadline(pid) == deadline
    vote(governor, opposition, pid, AGAINST)  # 40 M Against: losing
    _last_seconds(governor, pid, 0)
    vote(governor, ally, pid, FOR)  # 50 M For in the last second: passing again
    now = boa.env.evm.patch.timestamp
    (ev,) = events(governor, "ProposalExtended")
    assert (ev.proposalId, ev.extendedDeadline) == (pid, now + ext)
    assert governor.proposalDeadline(pid) == now + ext
    boa.env.time_travel(seconds=1)
    assert governor.state(pid) == ACTIVE
    # The other side can still answer.
    vote(governor, voters["bob"], pid, AGAINST)
    assert governor.proposalVotes(pid) == (50_000_000 * WAD, 50_000_000 * WAD, 0)


def test_late_flip_to_failing_extends(governor, emission, token, timelock, voters, params):
    """A flip the other way (a passing proposal made to fail late) also leaves the extension to answer."""
    ext = params.governance.late_quorum_extension_seconds
    opposition = boa.env.generate_address("opposition")
    fund_and_delegate(token, str(timelock.address), {opposition: 40_000_000 * WAD})
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, FOR)  # passing early
    _last_seconds(governor, pid, 5)
    vote(governor, opposition, pid, AGAINST)  # 40 M vs 30 M five seconds before the end: failing
    now = boa.env.evm.patch.timestamp
    (ev,) = events(governor, "ProposalExtended")
    assert (ev.proposalId, ev.extendedDeadline) == (pid, now + ext)
    assert governor.proposalDeadline(pid) == now + ext


def test_late_vote_that_keeps_the_outcome_does_not_extend(governor, emission, voters, params):
    """Inside the window, votes that do not turn the outcome leave the deadline alone."""
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    deadline = governor.proposalDeadline(pid)
    vote(governor, voters["bob"], pid, FOR)  # 10 M For, below quorum: failing
    _last_seconds(governor, pid, 10)
    vote(governor, voters["carol"], pid, ABSTAIN)  # 11 M of 24 M: still failing
    assert events(governor, "ProposalExtended") == []
    vote(governor, voters["alice"], pid, AGAINST)  # still failing
    assert events(governor, "ProposalExtended") == []
    assert governor.proposalDeadline(pid) == deadline
    past_deadline(governor, pid)
    assert governor.state(pid) == DEFEATED


def _sign_ballot(governor, key, pid: int, support: int, nonce: int) -> bytes:
    _, name, version, chain_id, verifying, _, _ = governor.eip712Domain()
    domain = {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying}
    types = {
        "Ballot": [
            {"name": "proposalId", "type": "uint256"},
            {"name": "support", "type": "uint8"},
            {"name": "voter", "type": "address"},
            {"name": "nonce", "type": "uint256"},
        ]
    }
    voter = Account.from_key(key).address
    msg = {"proposalId": pid, "support": support, "voter": voter, "nonce": nonce}
    return bytes(Account.sign_typed_data(key, domain, types, msg).signature)


def test_cast_vote_by_sig(governor, emission, token, timelock, voters, params):
    key = "0x" + "42" * 32
    signer = Account.from_key(key).address
    with boa.env.prank(timelock.address):
        token.transfer(signer, 5 * 10**24)
    with boa.env.prank(signer):
        token.delegate(signer)
    boa.env.time_travel(seconds=1)
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    sig = _sign_ballot(governor, key, pid, FOR, 0)
    # A relayer (bob) submits; the vote is the signer's.
    with boa.env.prank(voters["bob"]):
        assert governor.castVoteBySig(pid, FOR, signer, sig) == 5 * 10**24
    (ev,) = events(governor, "VoteCast")
    assert ev.voter == signer
    assert governor.nonces(signer) == 1
    assert governor.hasVoted(pid, signer)
    assert not governor.hasVoted(pid, voters["bob"])
    # Replaying the same signature fails (nonce used).
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(pid, FOR, signer, sig)


def test_cast_vote_by_sig_wrong_signer_or_support(governor, emission, voters):
    key = "0x" + "43" * 32
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    sig = _sign_ballot(governor, key, pid, FOR, 0)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(pid, FOR, voters["alice"], sig)
    with boa.reverts("governor: invalid signature"):
        governor.castVoteBySig(pid, AGAINST, Account.from_key(key).address, sig)


def _ballot_digest(governor, pid: int, support: int, voter: str, nonce: int) -> bytes:
    _, name, version, chain_id, verifying, _, _ = governor.eip712Domain()
    domain_type = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    separator = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_type, keccak(text=name), keccak(text=version), chain_id, verifying],
        )
    )
    struct = keccak(
        encode(
            ["bytes32", "uint256", "uint8", "address", "uint256"],
            [governor.BALLOT_TYPEHASH(), pid, support, voter, nonce],
        )
    )
    return keccak(b"\x19\x01" + separator + struct)


def test_cast_vote_by_sig_eip1271_wallet(governor, emission, token, timelock, voters):
    """A smart-contract wallet votes by approving the ballot digest (EIP-1271)."""
    wallet = boa.load(str(WALLET_SOURCE))
    with boa.env.prank(timelock.address):
        token.transfer(wallet.address, 2 * 10**24)
    with boa.env.prank(wallet.address):
        token.delegate(wallet.address)
    boa.env.time_travel(seconds=1)
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    signature = b"\x11" * 65
    with boa.reverts("governor: invalid signature"):  # not approved yet
        governor.castVoteBySig(pid, AGAINST, wallet.address, signature)
    wallet.set_approved(_ballot_digest(governor, pid, AGAINST, str(wallet.address), 0), True)
    assert governor.castVoteBySig(pid, AGAINST, wallet.address, signature) == 2 * 10**24
    assert governor.proposalVotes(pid) == (2 * 10**24, 0, 0)
    assert governor.nonces(wallet.address) == 1


def test_cast_vote_by_sig_refuses_the_zero_voter(governor, emission, voters):
    """Finding 11: voter 0 with an empty signature was counted (weight 0) and burnt nonce 0."""
    pid = propose(governor, voters["carol"], set_tip_proposal(emission, 1))
    to_active(governor, pid)
    with boa.reverts("governor: zero voter"):
        governor.castVoteBySig(pid, FOR, ZERO, b"")
    with boa.reverts("governor: zero voter"):
        governor.castVoteWithReasonAndParamsBySig(pid, FOR, ZERO, "r", b"", b"")
    assert governor.nonces(ZERO) == 0
    assert not governor.hasVoted(pid, ZERO)
    assert governor.proposalVotes(pid) == (0, 0, 0)
