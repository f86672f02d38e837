"""Timelock: roles after deployment, scheduling rights, open execution, grace period, self-administration."""

from __future__ import annotations

import boa
import pytest

from tests.utils.governance import ZERO, events

ZERO32 = b"\x00" * 32


@pytest.fixture
def op(emission):
    """A single-call operation: Emission.set_tip(4 CLUB)."""
    return (str(emission.address), 0, emission.set_tip.prepare_calldata(4 * 10**18), ZERO32, b"\x01" * 32)


def test_roles_after_deployment(timelock, governor, deployer, params):
    admin, proposer, canceller, executor = (
        timelock.DEFAULT_ADMIN_ROLE(),
        timelock.PROPOSER_ROLE(),
        timelock.CANCELLER_ROLE(),
        timelock.EXECUTOR_ROLE(),
    )
    assert timelock.hasRole(admin, timelock.address)  # self-administered
    assert not timelock.hasRole(admin, deployer)
    assert timelock.hasRole(proposer, governor.address)
    assert timelock.hasRole(canceller, governor.address)
    assert timelock.hasRole(executor, ZERO)  # open
    for role in (proposer, canceller, executor):
        assert not timelock.hasRole(role, deployer)
    assert timelock.get_minimum_delay() == params.governance.timelock_delay_seconds
    assert timelock.GRACE_PERIOD() == params.governance.grace_period_seconds


def test_only_proposer_schedules(timelock, op, deployer, non_admin):
    for who in (deployer, non_admin):
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            timelock.schedule(*op, 2 * 86_400)
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            timelock.schedule_batch([op[0]], [0], [op[2]], ZERO32, op[4], 2 * 86_400)


def test_only_canceller_cancels(timelock, governor, op, non_admin):
    with boa.env.prank(governor.address):
        timelock.schedule(*op, 2 * 86_400)
    op_id = timelock.hash_operation(*op)
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        timelock.cancel(op_id)
    with boa.env.prank(governor.address):
        timelock.cancel(op_id)
    assert not timelock.is_operation(op_id)


def test_delay_below_minimum_reverts(timelock, governor, op):
    with boa.env.prank(governor.address), boa.reverts("timelock_controller: insufficient delay"):
        timelock.schedule(*op, 86_400)


def test_anyone_executes_ready_operation_within_grace(timelock, governor, emission, op, non_admin, params):
    delay = params.governance.timelock_delay_seconds
    with boa.env.prank(governor.address):
        timelock.schedule(*op, delay)
    with boa.env.prank(non_admin), boa.reverts("timelock_controller: operation is not ready"):
        timelock.execute(*op)
    boa.env.time_travel(seconds=delay)
    with boa.env.prank(non_admin):
        timelock.execute(*op)
    (ev,) = events(timelock, "CallExecuted")
    assert ev.target == emission.address
    assert emission.tip() == 4 * 10**18
    assert timelock.is_operation_done(timelock.hash_operation(*op))


def test_expired_operation_cannot_execute(timelock, governor, op, non_admin, params):
    gv = params.governance
    with boa.env.prank(governor.address):
        timelock.schedule(*op, gv.timelock_delay_seconds)
    op_id = timelock.hash_operation(*op)
    boa.env.time_travel(seconds=gv.timelock_delay_seconds + gv.grace_period_seconds + 1)
    assert timelock.is_operation_expired(op_id)
    with boa.env.prank(non_admin), boa.reverts("timelock: operation expired"):
        timelock.execute(*op)
    # It can still be cancelled, which clears it.
    with boa.env.prank(governor.address):
        timelock.cancel(op_id)
    assert not timelock.is_operation_expired(op_id)


def test_batch_length_mismatch_reverts(timelock, governor, op):
    with boa.env.prank(governor.address), boa.reverts("timelock: length mismatch"):
        timelock.schedule_batch([op[0]], [0, 0], [op[2]], ZERO32, op[4], 2 * 86_400)
    with boa.reverts("timelock: length mismatch"):
        timelock.execute_batch([op[0]], [0], [op[2], op[2]], ZERO32, op[4])


def test_update_delay_only_by_itself(timelock, governor, non_admin, params):
    with boa.env.prank(non_admin), boa.reverts("timelock_controller: caller must be timelock"):
        timelock.update_delay(1)
    payload = timelock.update_delay.prepare_calldata(3 * 86_400)
    delay = params.governance.timelock_delay_seconds
    with boa.env.prank(governor.address):
        timelock.schedule(timelock.address, 0, payload, ZERO32, ZERO32, delay)
    boa.env.time_travel(seconds=delay)
    timelock.execute(timelock.address, 0, payload, ZERO32, ZERO32)
    assert timelock.get_minimum_delay() == 3 * 86_400


def test_receives_eth(timelock, non_admin):
    boa.env.set_balance(non_admin, 10**18)
    with boa.env.prank(non_admin):
        boa.env.raw_call(timelock.address, value=10**18)
    assert boa.env.get_balance(timelock.address) >= 10**18


def test_zero_grace_period_rejected(deployer):
    from tests.utils.deployer import deployer_for

    with boa.env.prank(deployer), boa.reverts("timelock: zero grace period"):
        deployer_for("Timelock").deploy(1, 0, [], [], deployer)


def test_schedule_batch_returns_the_operation_id(timelock, governor, op):
    # The governor stores this id instead of hashing the batch a second time.
    args = ([op[0]], [0], [op[2]], ZERO32, op[4])
    with boa.env.prank(governor.address):
        op_id = timelock.schedule_batch(*args, 2 * 86_400)
    assert op_id == timelock.hash_operation_batch(*args)
    assert timelock.is_operation_pending(op_id)
