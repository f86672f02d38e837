"""ClubGovernor guardian veto: who may cancel a proposal that won its vote, and until when."""

from __future__ import annotations

import boa
import pytest

from tests.utils import governance as steps
from tests.utils.governance import CANCELED, FOR, QUEUED, SUCCEEDED, ZERO, events

DAY = 86_400


@pytest.fixture
def guardian(governor, timelock):
    """An elected multisig appointed by governance for 30 days."""
    multisig = boa.env.generate_address("guardian_multisig")
    term_end = boa.env.evm.patch.timestamp + 30 * DAY
    with boa.env.prank(timelock.address):
        governor.setGuardian(multisig, term_end)
    (ev,) = events(governor, "GuardianSet")
    assert (ev.oldGuardian, ev.newGuardian, ev.termEnd) == (ZERO, multisig, term_end)
    return multisig


def test_no_guardian_by_default_so_nobody_can_cancel_a_queued_proposal(governor, emission, voters, non_admin):
    assert governor.guardian() == ZERO and governor.guardianTermEnd() == 0
    p = steps.set_tip_proposal(emission, 7)
    pid = steps.pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    for who in (voters["carol"], non_admin):
        with boa.env.prank(who), boa.reverts("governor: only guardian"):
            governor.veto(pid)
    with boa.env.prank(voters["carol"]), boa.reverts("governor: proposal not pending"):
        governor.cancel(*p.args())
    assert governor.state(pid) == QUEUED


def test_guardian_vetoes_a_queued_proposal(governor, timelock, emission, voters, params, guardian):
    p = steps.set_tip_proposal(emission, 7)
    pid = steps.pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    op = governor.proposalTimelockId(pid)
    assert timelock.is_operation_pending(op)
    with boa.env.prank(guardian):
        assert governor.veto(pid) == pid
    (canceled,) = events(governor, "ProposalCanceled")
    (vetoed,) = events(governor, "ProposalVetoed")
    assert canceled.proposalId == pid and (vetoed.proposalId, vetoed.guardian) == (pid, guardian)
    assert governor.state(pid) == CANCELED
    assert not timelock.is_operation(op)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    with boa.reverts("governor: proposal not queued"):
        governor.execute(*p.args())
    # Nor directly on the Timelock, whose executor role is open.
    salt = steps.timelock_salt(str(governor.address), p.description_hash)
    with boa.reverts("timelock_controller: operation is not ready"):
        timelock.execute_batch(p.targets, p.values, p.calldatas, b"\x00" * 32, salt)
    assert emission.tip() != 7
    # The vetoed proposal no longer blocks its proposer.
    steps.propose(governor, voters["carol"], steps.set_tip_proposal(emission, 8, "next"))


def test_guardian_vetoes_a_succeeded_proposal_before_queue(governor, emission, voters, guardian):
    p = steps.set_tip_proposal(emission, 7)
    pid = steps.propose(governor, voters["carol"], p)
    steps.to_active(governor, pid)
    steps.vote(governor, voters["alice"], pid, FOR)
    steps.past_deadline(governor, pid)
    assert governor.state(pid) == SUCCEEDED
    with boa.env.prank(guardian):
        governor.veto(pid)
    assert governor.state(pid) == CANCELED
    with boa.reverts("governor: proposal not successful"):
        governor.queue(*p.args())


def test_guardian_cannot_touch_proposals_being_voted_on(governor, emission, voters, guardian):
    pid = steps.propose(governor, voters["carol"], steps.set_tip_proposal(emission, 7))
    with boa.env.prank(guardian), boa.reverts("governor: proposal not vetoable"):
        governor.veto(pid)  # Pending
    steps.to_active(governor, pid)
    with boa.env.prank(guardian), boa.reverts("governor: proposal not vetoable"):
        governor.veto(pid)  # Active
    steps.past_deadline(governor, pid)  # nobody voted: Defeated
    with boa.env.prank(guardian), boa.reverts("governor: proposal not vetoable"):
        governor.veto(pid)
    with boa.env.prank(guardian), boa.reverts("governor: unknown proposal"):
        governor.veto(12345)


def test_guardian_power_ends_with_its_term(governor, emission, voters, guardian):
    term_end = governor.guardianTermEnd()
    pid = steps.pass_and_queue(
        governor, voters["carol"], [voters["alice"]], steps.set_tip_proposal(emission, 7)
    )
    boa.env.time_travel(seconds=term_end - boa.env.evm.patch.timestamp + 1)
    assert governor.guardian() == ZERO
    with boa.env.prank(guardian), boa.reverts("governor: only guardian"):
        governor.veto(pid)


def test_set_guardian_is_timelock_only_with_a_bounded_term(governor, timelock, voters, guardian):
    now = boa.env.evm.patch.timestamp
    with boa.env.prank(voters["alice"]), boa.reverts("governor: only timelock"):
        governor.setGuardian(voters["alice"], now + DAY)
    with boa.env.prank(timelock.address):
        for who, end in (
            (voters["bob"], now),  # ends at once
            (voters["bob"], now + governor.MAX_GUARDIAN_TERM() + 1),  # longer than a year
            (ZERO, now + DAY),  # removal takes term 0
        ):
            with boa.reverts("governor: bad guardian term"):
                governor.setGuardian(who, end)
        governor.setGuardian(voters["bob"], now + governor.MAX_GUARDIAN_TERM())
        assert governor.guardian() == voters["bob"]
        governor.setGuardian(ZERO, 0)
    (ev,) = events(governor, "GuardianSet")
    assert (ev.oldGuardian, ev.newGuardian, ev.termEnd) == (voters["bob"], ZERO, 0)
    assert governor.guardian() == ZERO
