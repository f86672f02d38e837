"""MINTER_ROLE management on ClubToken through snekmate's access_control: grant, revoke, renounce."""

from __future__ import annotations

from typing import Any

import boa

from tests.unit.token.helpers import DEFAULT_ADMIN_ROLE, MINTER_ROLE, MISSING_ROLE, events


def test_admin_grants_minter(fresh_token: Any, deployer: str, minter: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.grantRole(MINTER_ROLE, minter)
    (log,) = events(fresh_token, "RoleGranted")
    assert (log.role, log.account, log.sender) == (MINTER_ROLE, minter, deployer)
    assert fresh_token.hasRole(MINTER_ROLE, minter)


def test_grant_twice_logs_once(fresh_token: Any, deployer: str, minter: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.grantRole(MINTER_ROLE, minter)
        fresh_token.grantRole(MINTER_ROLE, minter)
    assert events(fresh_token, "RoleGranted") == []
    assert fresh_token.hasRole(MINTER_ROLE, minter)


def test_non_admin_cannot_grant(fresh_token: Any, non_admin: str, minter: str, deployer: str) -> None:
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        fresh_token.grantRole(MINTER_ROLE, non_admin)
    # A minter is not an admin either.
    with boa.env.prank(deployer):
        fresh_token.grantRole(MINTER_ROLE, minter)
    with boa.env.prank(minter), boa.reverts(MISSING_ROLE):
        fresh_token.grantRole(MINTER_ROLE, non_admin)
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        fresh_token.grantRole(DEFAULT_ADMIN_ROLE, non_admin)
    assert not fresh_token.hasRole(MINTER_ROLE, non_admin)


def test_admin_revokes_minter(fresh_token: Any, deployer: str, minter: str, alice: str) -> None:
    with boa.env.prank(deployer):
        fresh_token.grantRole(MINTER_ROLE, minter)
        fresh_token.revokeRole(MINTER_ROLE, minter)
    (log,) = events(fresh_token, "RoleRevoked")
    assert (log.role, log.account, log.sender) == (MINTER_ROLE, minter, deployer)
    assert not fresh_token.hasRole(MINTER_ROLE, minter)
    with boa.env.prank(minter), boa.reverts(MISSING_ROLE):
        fresh_token.mint(alice, 1)


def test_non_admin_cannot_revoke(fresh_token: Any, deployer: str, non_admin: str) -> None:
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        fresh_token.revokeRole(MINTER_ROLE, deployer)
    assert fresh_token.hasRole(MINTER_ROLE, deployer)


def test_minter_renounces(fresh_token: Any, deployer: str, alice: str) -> None:
    """The genesis path: the deployer mints, then gives the role up for good."""
    with boa.env.prank(deployer):
        fresh_token.mint(alice, 1)
        fresh_token.renounceRole(MINTER_ROLE, deployer)
    (log,) = events(fresh_token, "RoleRevoked")
    assert (log.role, log.account, log.sender) == (MINTER_ROLE, deployer, deployer)
    assert not fresh_token.hasRole(MINTER_ROLE, deployer)
    assert fresh_token.hasRole(DEFAULT_ADMIN_ROLE, deployer)
    with boa.env.prank(deployer), boa.reverts(MISSING_ROLE):
        fresh_token.mint(alice, 1)


def test_renounce_only_for_itself(fresh_token: Any, deployer: str, non_admin: str) -> None:
    with boa.env.prank(non_admin), boa.reverts("access_control: can only renounce roles for itself"):
        fresh_token.renounceRole(MINTER_ROLE, deployer)
    # Not even the admin may renounce for another account.
    with boa.env.prank(deployer), boa.reverts("access_control: can only renounce roles for itself"):
        fresh_token.renounceRole(MINTER_ROLE, non_admin)
    assert fresh_token.hasRole(MINTER_ROLE, deployer)


def test_role_hierarchy_is_fixed(fresh_token: Any) -> None:
    """`set_role_admin` is not exported: DEFAULT_ADMIN_ROLE administers MINTER_ROLE forever."""
    assert not hasattr(fresh_token, "set_role_admin")
    assert fresh_token.getRoleAdmin(MINTER_ROLE) == DEFAULT_ADMIN_ROLE
    assert fresh_token.getRoleAdmin(DEFAULT_ADMIN_ROLE) == DEFAULT_ADMIN_ROLE
