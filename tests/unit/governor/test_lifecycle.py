"""ClubGovernor queue / execute / cancel, expiry, and the Timelock round trip."""

from __future__ import annotations

import boa

from tests.utils.governance import (
    ACTIVE,
    CANCELED,
    EXECUTED,
    EXPIRED,
    FOR,
    PENDING,
    QUEUED,
    SUCCEEDED,
    events,
    pass_and_queue,
    past_deadline,
    propose,
    set_tip_proposal,
    timelock_salt,
    to_active,
    vote,
)

NEW_TIP = 3 * 10**18


def test_full_lifecycle_changes_parameter(governor, timelock, emission, voters, params):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, FOR)
    past_deadline(governor, pid)
    assert governor.state(pid) == SUCCEEDED
    governor.queue(*p.args())
    (ev,) = events(governor, "ProposalQueued")
    eta = boa.env.evm.patch.timestamp + params.governance.timelock_delay_seconds
    assert (ev.proposalId, ev.etaSeconds) == (pid, eta)
    assert governor.proposalEta(pid) == eta
    assert governor.state(pid) == QUEUED
    tl_id = governor.proposalTimelockId(pid)
    assert tl_id == timelock.hash_operation_batch(
        p.targets,
        p.values,
        p.calldatas,
        b"\x00" * 32,
        timelock_salt(str(governor.address), p.description_hash),
    )
    assert timelock.get_timestamp(tl_id) == eta
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    governor.execute(*p.args())
    assert [e.proposalId for e in events(governor, "ProposalExecuted")] == [pid]
    assert emission.tip() == NEW_TIP
    assert governor.state(pid) == EXECUTED
    assert timelock.is_operation_done(tl_id)
    with boa.reverts("governor: proposal not queued"):
        governor.execute(*p.args())


def test_queue_before_success_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    with boa.reverts("governor: proposal not successful"):  # pending
        governor.queue(*p.args())
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, FOR)
    assert governor.state(pid) == ACTIVE
    with boa.reverts("governor: proposal not successful"):  # active
        governor.queue(*p.args())


def test_queue_defeated_or_twice_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    to_active(governor, pid)
    vote(governor, voters["bob"], pid, FOR)  # below quorum
    past_deadline(governor, pid)
    with boa.reverts("governor: proposal not successful"):
        governor.queue(*p.args())
    p2 = set_tip_proposal(emission, NEW_TIP, "again")
    pass_and_queue(governor, voters["bob"], [voters["alice"]], p2)
    with boa.reverts("governor: proposal not successful"):
        governor.queue(*p2.args())


def test_queue_unknown_proposal_reverts(governor, emission):
    with boa.reverts("governor: unknown proposal"):
        governor.queue(*set_tip_proposal(emission, 1, "never proposed").args())


def test_execute_before_delay_reverts(governor, emission, voters, params):
    p = set_tip_proposal(emission, NEW_TIP)
    pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    with boa.reverts("governor: proposal not ready"):
        governor.execute(*p.args())
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds - 1)
    with boa.reverts("governor: proposal not ready"):
        governor.execute(*p.args())
    boa.env.time_travel(seconds=1)
    governor.execute(*p.args())


def test_execute_unqueued_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, FOR)
    past_deadline(governor, pid)
    with boa.reverts("governor: proposal not queued"):
        governor.execute(*p.args())


def test_queued_proposal_expires(governor, timelock, emission, voters, params):
    gv = params.governance
    p = set_tip_proposal(emission, NEW_TIP)
    pid = pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=gv.timelock_delay_seconds + gv.grace_period_seconds)
    assert governor.state(pid) == QUEUED  # last executable second
    boa.env.time_travel(seconds=1)
    assert governor.state(pid) == EXPIRED
    assert timelock.is_operation_expired(governor.proposalTimelockId(pid))
    with boa.reverts("governor: proposal expired"):
        governor.execute(*p.args())
    # Nor directly on the Timelock (open executor role).
    salt = timelock_salt(str(governor.address), p.description_hash)
    with boa.reverts("timelock: operation expired"):
        timelock.execute_batch(p.targets, p.values, p.calldatas, b"\x00" * 32, salt)
    # An expired proposal no longer blocks its proposer.
    propose(governor, voters["carol"], set_tip_proposal(emission, 1, "retry"))


def test_unqueued_success_expires_after_grace(governor, emission, voters, params):
    """An unqueued Succeeded proposal expires GRACE_PERIOD after its deadline; it then stops blocking."""
    grace = params.governance.grace_period_seconds
    assert governor.GRACE_PERIOD() == grace
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    to_active(governor, pid)
    vote(governor, voters["alice"], pid, FOR)
    deadline = governor.proposalDeadline(pid)
    boa.env.time_travel(seconds=deadline + grace - boa.env.evm.patch.timestamp)
    assert governor.state(pid) == SUCCEEDED  # last second it can be queued
    with boa.reverts("governor: proposer has a live proposal"):
        propose(governor, voters["carol"], set_tip_proposal(emission, 1, "retry"))
    boa.env.time_travel(seconds=1)
    assert governor.state(pid) == EXPIRED
    with boa.reverts("governor: proposal not successful"):
        governor.queue(*p.args())
    propose(governor, voters["carol"], set_tip_proposal(emission, 1, "retry"))


def test_direct_timelock_execution_shows_executed(governor, timelock, emission, voters, params, non_admin):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    salt = timelock_salt(str(governor.address), p.description_hash)
    with boa.env.prank(non_admin):
        timelock.execute_batch(p.targets, p.values, p.calldatas, b"\x00" * 32, salt)
    assert emission.tip() == NEW_TIP
    assert governor.state(pid) == EXECUTED


def test_cancel_by_proposer_while_pending(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    with boa.env.prank(voters["carol"]):
        assert governor.cancel(*p.args()) == pid
    assert [e.proposalId for e in events(governor, "ProposalCanceled")] == [pid]
    assert governor.state(pid) == CANCELED
    to_active(governor, pid)
    assert governor.state(pid) == CANCELED
    with boa.reverts("governor: vote not currently active"):
        vote(governor, voters["alice"], pid, FOR)
    past_deadline(governor, pid)
    with boa.reverts("governor: proposal not successful"):
        governor.queue(*p.args())


def test_cancel_by_non_proposer_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    with boa.env.prank(voters["alice"]), boa.reverts("governor: only proposer"):
        governor.cancel(*p.args())
    assert governor.state(pid) == PENDING


def test_cancel_after_voting_starts_reverts(governor, emission, voters):
    p = set_tip_proposal(emission, NEW_TIP)
    pid = propose(governor, voters["carol"], p)
    to_active(governor, pid)
    with boa.env.prank(voters["carol"]), boa.reverts("governor: proposal not pending"):
        governor.cancel(*p.args())


def test_cancel_unknown_reverts(governor, emission, voters):
    with boa.env.prank(voters["carol"]), boa.reverts("governor: unknown proposal"):
        governor.cancel(*set_tip_proposal(emission, 1, "never").args())


def test_timelock_cancel_shows_canceled(governor, timelock, emission, voters):
    """If the governor (canceller) cancels the operation on the Timelock, the proposal reads Canceled."""
    p = set_tip_proposal(emission, NEW_TIP)
    pid = pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    with boa.env.prank(governor.address):
        timelock.cancel(governor.proposalTimelockId(pid))
    assert governor.state(pid) == CANCELED


def test_execute_forwards_value(governor, timelock, voters, params, non_admin):
    """A proposal can pay ETH from the treasury; ETH sent with execute is forwarded to the Timelock."""
    receiver = str(boa.env.generate_address("grantee"))
    from tests.utils.governance import Proposal

    p = Proposal([receiver], [10**18], [b""], "Pay a grant of 1 ETH")
    pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    boa.env.set_balance(non_admin, 10**18)
    with boa.env.prank(non_admin):
        governor.execute(*p.args(), value=10**18)
    assert boa.env.get_balance(receiver) == 10**18
