"""Vesting deployment and create_vesting: the plan's genesis escrows, registry, events, checks."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_utils import keccak

from tests.utils.deployer import deployer_for

from .conftest import CLUB, DAY, PROXY_WARNING, YEAR, escrow_at, events, governance_of, now

pytestmark = pytest.mark.filterwarnings(PROXY_WARNING)

ZERO = "0x" + "00" * 20
DEFAULT_ADMIN_ROLE = b"\x00" * 32
VESTING_CREATOR_ROLE = keccak(text="VESTING_CREATOR_ROLE")
REVOKER_ROLE = keccak(text="REVOKER_ROLE")
MISSING_ROLE = "access_control: account is missing role"


def test_protocol_genesis_escrows(protocol: Any, params: Any, deployer: str) -> None:
    """The plan creates one escrow per genesis allocation, funded and delegated to its beneficiary."""
    vesting, token = protocol["Vesting"], protocol["ClubToken"]
    allocations = params.genesis.vesting
    assert vesting.token() == token.address
    assert vesting.escrow_implementation() == protocol["VestingEscrow"].address
    assert vesting.treasury() == protocol.treasury
    assert vesting.escrow_count() == len(allocations)
    assert vesting.total_allocated() == params.genesis.vesting_total_wei
    for i, alloc in enumerate(allocations):
        escrow = escrow_at(vesting.escrows(i))
        beneficiary = protocol.beneficiaries[alloc.name]
        assert vesting.is_escrow(escrow.address)
        assert vesting.escrow_count_of(beneficiary) == 1
        assert vesting.escrow_of(beneficiary, 0) == escrow.address
        assert escrow.vesting() == vesting.address
        assert escrow.token() == token.address
        assert escrow.beneficiary() == beneficiary
        assert escrow.total() == alloc.amount_wei == token.balanceOf(escrow.address)
        assert escrow.start() == protocol.genesis_time
        assert escrow.cliff() == alloc.cliff_seconds
        assert escrow.duration() == alloc.duration_seconds
        assert escrow.revocable() == alloc.revocable
        assert escrow.revoked_at() == 0
        assert escrow.claimed() == 0
        # Locked tokens vote: the escrow delegates to its beneficiary from the start.
        assert token.delegates(escrow.address) == beneficiary
        assert token.getVotes(beneficiary) == alloc.amount_wei
    gov = governance_of(protocol)
    for role in (DEFAULT_ADMIN_ROLE, VESTING_CREATOR_ROLE, REVOKER_ROLE):
        assert vesting.hasRole(role, gov)


def test_constructor(solo_vesting: Any, vtoken: Any, escrow_impl: Any, treasury: str, deployer: str) -> None:
    assert solo_vesting.VESTING_CREATOR_ROLE() == VESTING_CREATOR_ROLE
    assert solo_vesting.REVOKER_ROLE() == REVOKER_ROLE
    for role in (DEFAULT_ADMIN_ROLE, VESTING_CREATOR_ROLE, REVOKER_ROLE):
        assert solo_vesting.hasRole(role, deployer)
    assert solo_vesting.token() == vtoken.address
    assert solo_vesting.escrow_implementation() == escrow_impl.address
    assert solo_vesting.treasury() == treasury
    assert solo_vesting.escrow_count() == 0
    assert solo_vesting.total_allocated() == 0
    assert solo_vesting.total_revoked() == 0


@pytest.mark.parametrize(
    ("which", "reason"),
    [
        ("token", "vesting: zero token"),
        ("impl", "vesting: implementation has no code"),
        ("treasury", "vesting: zero treasury"),
    ],
)
def test_constructor_rejects(
    which: str, reason: str, vtoken: Any, escrow_impl: Any, treasury: str, deployer: str, alice: str
) -> None:
    args = {"token": vtoken.address, "impl": escrow_impl.address, "treasury": treasury}
    args[which] = alice if which == "impl" else ZERO  # alice is an account without code
    with boa.env.prank(deployer), boa.reverts(reason):
        deployer_for("Vesting").deploy(args["token"], args["impl"], args["treasury"])


def test_create_vesting(solo_vesting: Any, vtoken: Any, deployer: str, alice: str) -> None:
    start = now() + 10 * DAY
    amount = 1_234 * CLUB
    supply_before = vtoken.balanceOf(deployer)
    with boa.env.prank(deployer):
        address = solo_vesting.create_vesting(alice, amount, start, YEAR, 3 * YEAR, False)
    (created,) = events(solo_vesting, "VestingCreated")
    assert created.escrow == address
    assert (created.beneficiary, created.creator) == (alice, deployer)
    assert (created.amount, created.start, created.cliff, created.duration) == (amount, start, YEAR, 3 * YEAR)
    assert created.revocable is False
    (delegated,) = [e for e in solo_vesting.get_logs() if type(e).__name__ == "DelegateChanged"]
    assert (delegated.delegator, delegated.toDelegate) == (address, alice)

    escrow = escrow_at(address)
    assert escrow.beneficiary() == alice
    assert (escrow.total(), escrow.start(), escrow.cliff(), escrow.duration()) == (
        amount,
        start,
        YEAR,
        3 * YEAR,
    )
    assert escrow.revocable() is False
    assert escrow.vesting() == solo_vesting.address
    assert vtoken.balanceOf(address) == amount
    assert vtoken.balanceOf(deployer) == supply_before - amount
    assert vtoken.getVotes(alice) == amount
    assert solo_vesting.escrow_count() == 1
    assert solo_vesting.escrows(0) == address
    assert solo_vesting.is_escrow(address)
    assert solo_vesting.escrow_count_of(alice) == 1
    assert solo_vesting.escrow_of(alice, 0) == address
    assert solo_vesting.total_allocated() == amount


def test_several_escrows_per_beneficiary(
    create: Any, solo_vesting: Any, vtoken: Any, alice: str, bob: str
) -> None:
    first, other, second = create(alice), create(bob), create(alice, amount=5 * CLUB)
    assert len({first.address, other.address, second.address}) == 3
    assert solo_vesting.escrow_count() == 3
    assert [solo_vesting.escrows(i) for i in range(3)] == [first.address, other.address, second.address]
    assert solo_vesting.escrow_count_of(alice) == 2
    assert solo_vesting.escrow_of(alice, 1) == second.address
    assert solo_vesting.escrow_of(bob, 0) == other.address
    assert vtoken.getVotes(alice) == 1_005 * CLUB
    assert solo_vesting.total_allocated() == 2_005 * CLUB


def test_cliff_equal_to_duration_and_zero_cliff(create: Any) -> None:
    """The bounds cliff == duration and cliff == 0 are valid."""
    assert create(cliff=YEAR, duration=YEAR).cliff() == YEAR
    assert create(cliff=0, duration=YEAR).cliff() == 0


def test_create_needs_creator_role(solo_vesting: Any, deployer: str, non_admin: str, vtoken: Any) -> None:
    with boa.env.prank(deployer):
        vtoken.transfer(non_admin, 10 * CLUB)
    with boa.env.prank(non_admin):
        vtoken.approve(solo_vesting.address, 10 * CLUB)
        with boa.reverts(MISSING_ROLE):
            solo_vesting.create_vesting(non_admin, 10 * CLUB, now(), 0, YEAR, False)


def test_admin_can_grant_creator_role(solo_vesting: Any, deployer: str, non_admin: str, vtoken: Any) -> None:
    with boa.env.prank(deployer):
        vtoken.transfer(non_admin, 10 * CLUB)
        solo_vesting.grantRole(VESTING_CREATOR_ROLE, non_admin)
    with boa.env.prank(non_admin):
        vtoken.approve(solo_vesting.address, 10 * CLUB)
        escrow = solo_vesting.create_vesting(non_admin, 10 * CLUB, now(), 0, YEAR, False)
    assert vtoken.balanceOf(escrow) == 10 * CLUB


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"beneficiary": ZERO}, "vesting: zero beneficiary"),
        ({"amount": 0}, "vesting: zero amount"),
        ({"duration": 0, "cliff": 0}, "vesting: zero duration"),
        ({"cliff": 4 * YEAR + 1}, "vesting: cliff exceeds duration"),
    ],
)
def test_create_rejects_bad_input(
    create: Any, solo_vesting: Any, override: dict[str, Any], reason: str
) -> None:
    with boa.reverts(reason):
        create(**override)
    assert solo_vesting.escrow_count() == 0


def test_create_needs_allowance_and_balance(
    solo_vesting: Any, vtoken: Any, deployer: str, alice: str
) -> None:
    with boa.env.prank(deployer):
        vtoken.approve(solo_vesting.address, CLUB - 1)
        with boa.reverts("erc20: insufficient allowance"):
            solo_vesting.create_vesting(alice, CLUB, now(), 0, YEAR, True)
        vtoken.approve(solo_vesting.address, 2**256 - 1)
        with boa.reverts("erc20: transfer amount exceeds balance"):
            solo_vesting.create_vesting(alice, vtoken.balanceOf(deployer) + 1, now(), 0, YEAR, True)


def test_escrow_cannot_be_initialised_twice(create: Any, vtoken: Any, alice: str, bob: str) -> None:
    escrow = create()
    with boa.env.prank(bob), boa.reverts("vesting: escrow already initialised"):
        escrow.initialise(vtoken.address, bob, 1, now(), 0, 1, True)
    assert escrow.beneficiary() == alice


def test_implementation_cannot_be_initialised(escrow_impl: Any, vtoken: Any, bob: str) -> None:
    with boa.env.prank(bob), boa.reverts("vesting: escrow already initialised"):
        escrow_impl.initialise(vtoken.address, bob, 1, now(), 0, 1, True)
