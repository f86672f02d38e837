"""Vesting.revoke and set_treasury: unvested part to the treasury, vesting frozen, access control."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.deployer import deployer_for
from tests.utils.emission_model import vested_at

from .conftest import CLUB, DAY, PROXY_WARNING, YEAR, escrow_at, events, governance_of, now, warp_to

pytestmark = pytest.mark.filterwarnings(PROXY_WARNING)

ZERO = "0x" + "00" * 20
MISSING_ROLE = "access_control: account is missing role"


def revoke_as(vesting: Any, who: str, escrow: Any) -> int:
    with boa.env.prank(who):
        return vesting.revoke(escrow.address)


def test_revoke_mid_vesting(
    create: Any, solo_vesting: Any, vtoken: Any, deployer: str, treasury: str, alice: str
) -> None:
    amount = 4_000 * CLUB + 1
    escrow = create(amount=amount)
    start = escrow.start()
    warp_to(start + 2 * YEAR + 5 * DAY)
    t_r = now()
    vested = vested_at(amount, start, YEAR, 4 * YEAR, t_r)
    assert revoke_as(solo_vesting, deployer, escrow) == amount - vested
    (revoked,) = events(solo_vesting, "VestingRevoked")
    assert (revoked.escrow, revoked.beneficiary, revoked.treasury) == (escrow.address, alice, treasury)
    assert revoked.unvested == amount - vested
    (inner,) = [e for e in solo_vesting.get_logs() if type(e).__name__ == "Revoked"]
    assert (inner.treasury, inner.unvested, inner.revoked_at) == (treasury, amount - vested, t_r)
    assert vtoken.balanceOf(treasury) == amount - vested
    assert vtoken.balanceOf(escrow.address) == vested
    assert escrow.revoked_at() == t_r
    assert escrow.unvested_revoked() == amount - vested
    assert solo_vesting.total_revoked() == amount - vested
    assert escrow.locked() == 0
    # Vesting is frozen at the revocation time; the vested part stays claimable.
    warp_to(start + 10 * YEAR)
    assert escrow.vested() == escrow.vested_at(start + 10 * YEAR) == vested
    with boa.env.prank(alice):
        assert escrow.claim() == vested
    assert vtoken.balanceOf(escrow.address) == 0
    assert vtoken.getVotes(alice) == 0


def test_revoke_before_cliff_takes_everything(
    create: Any, solo_vesting: Any, vtoken: Any, deployer: str, treasury: str, alice: str
) -> None:
    escrow = create(amount=500 * CLUB)
    warp_to(escrow.start() + YEAR - 1)
    assert revoke_as(solo_vesting, deployer, escrow) == 500 * CLUB
    assert vtoken.balanceOf(treasury) == 500 * CLUB
    # The cliff passing later changes nothing.
    warp_to(escrow.start() + 2 * YEAR)
    assert escrow.claimable() == 0
    with boa.env.prank(alice):
        assert escrow.claim() == 0


def test_revoke_after_end_returns_nothing(
    create: Any, solo_vesting: Any, vtoken: Any, deployer: str, treasury: str, alice: str
) -> None:
    escrow = create(amount=500 * CLUB)
    warp_to(escrow.start() + 4 * YEAR)
    assert revoke_as(solo_vesting, deployer, escrow) == 0
    assert vtoken.balanceOf(treasury) == 0
    with boa.env.prank(alice):
        assert escrow.claim() == 500 * CLUB


def test_revoke_rejects(create: Any, solo_vesting: Any, deployer: str, non_admin: str, alice: str) -> None:
    fixed = create(revocable=False)
    revocable = create()
    with boa.reverts("vesting: not revocable"):
        revoke_as(solo_vesting, deployer, fixed)
    with boa.reverts(MISSING_ROLE):
        revoke_as(solo_vesting, non_admin, revocable)
    with boa.reverts("vesting: unknown escrow"):
        revoke_as(solo_vesting, deployer, type("NotEscrow", (), {"address": alice})())
    revoke_as(solo_vesting, deployer, revocable)
    with boa.reverts("vesting: already revoked"):
        revoke_as(solo_vesting, deployer, revocable)


def test_foreign_escrow_is_unknown(
    solo_vesting: Any, escrow_impl: Any, vtoken: Any, deployer: str, treasury: str
) -> None:
    """An escrow made by another Vesting instance is not in this registry."""
    with boa.env.prank(deployer):
        other = deployer_for("Vesting").deploy(vtoken.address, escrow_impl.address, treasury)
        vtoken.approve(other.address, CLUB)
        foreign = other.create_vesting(deployer, CLUB, now(), 0, YEAR, True)
        with boa.reverts("vesting: unknown escrow"):
            solo_vesting.revoke(foreign)


def test_only_vesting_can_revoke_escrow(create: Any, deployer: str, alice: str, treasury: str) -> None:
    escrow = create()
    for who in (deployer, alice):
        with boa.env.prank(who), boa.reverts("vesting: caller is not the vesting contract"):
            escrow.revoke(who)
    assert escrow.revoked_at() == 0


def test_revoker_role_is_separate(create: Any, solo_vesting: Any, deployer: str, non_admin: str) -> None:
    escrow = create()
    role = solo_vesting.REVOKER_ROLE()
    with boa.env.prank(deployer):
        solo_vesting.grantRole(role, non_admin)
        solo_vesting.renounceRole(role, deployer)
    with boa.reverts(MISSING_ROLE):
        revoke_as(solo_vesting, deployer, escrow)
    revoke_as(solo_vesting, non_admin, escrow)
    assert escrow.revoked_at() == now()


def test_set_treasury(
    create: Any, solo_vesting: Any, vtoken: Any, deployer: str, treasury: str, bob: str
) -> None:
    with boa.env.prank(deployer):
        solo_vesting.set_treasury(bob)
    (log,) = events(solo_vesting, "TreasuryChanged")
    assert (log.old_treasury, log.new_treasury) == (treasury, bob)
    assert solo_vesting.treasury() == bob
    escrow = create(amount=50 * CLUB)
    revoke_as(solo_vesting, deployer, escrow)
    assert vtoken.balanceOf(bob) == 50 * CLUB
    assert vtoken.balanceOf(treasury) == 0


def test_set_treasury_rejects(solo_vesting: Any, deployer: str, non_admin: str) -> None:
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        solo_vesting.set_treasury(non_admin)
    with boa.env.prank(deployer), boa.reverts("vesting: zero treasury"):
        solo_vesting.set_treasury(ZERO)
    # REVOKER_ROLE / VESTING_CREATOR_ROLE are not enough: DEFAULT_ADMIN_ROLE is needed.
    with boa.env.prank(deployer):
        solo_vesting.grantRole(solo_vesting.REVOKER_ROLE(), non_admin)
        solo_vesting.grantRole(solo_vesting.VESTING_CREATOR_ROLE(), non_admin)
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        solo_vesting.set_treasury(non_admin)


def test_protocol_revoke_team_allocation(protocol: Any, params: Any, deployer: str, team: str) -> None:
    """Governance revokes the revocable team allocation half-way; the treasury gets the unvested part."""
    vesting, token = protocol["Vesting"], protocol["ClubToken"]
    names = [a.name for a in params.genesis.vesting]
    alloc = params.genesis.vesting[names.index("team")]
    escrow = escrow_at(vesting.escrow_of(team, 0))
    treasury_before = token.balanceOf(protocol.treasury)
    warp_to(escrow.start() + alloc.duration_seconds // 2)
    unvested = revoke_as(vesting, governance_of(protocol), escrow)
    assert unvested == alloc.amount_wei - alloc.amount_wei // 2
    assert token.balanceOf(protocol.treasury) == treasury_before + unvested
    with boa.env.prank(team):
        assert escrow.claim() == alloc.amount_wei // 2
    # Investors' allocation is not revocable.
    investors = escrow_at(vesting.escrows(names.index("investors")))
    with boa.reverts("vesting: not revocable"):
        revoke_as(vesting, governance_of(protocol), investors)
