"""After deployment no EOA holds any role of any contract: every privilege sits with a contract.

The roles are enumerated from each contract's ABI (every `*_ROLE` constant plus DEFAULT_ADMIN_ROLE),
not from the plan's own table, so a role the plan forgets to hand over fails here. access_control
has no member enumeration, so the candidate holders are every account that appears in a
RoleGranted event during a fresh deployment (recorded by a logging backend), plus the deployer
and the named actors.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from clubchat.deploy.plan import deploy_protocol
from tests.utils.deployer import BoaBackend
from tests.utils.governance import ZERO


class RecordingBackend(BoaBackend):
    """The test backend, keeping every RoleGranted event seen after a deploy or a transaction."""

    def __init__(self, deployer: str) -> None:
        super().__init__(deployer)
        self.grants: set[tuple[str, bytes, str]] = set()

    def _record(self, contract: Any) -> None:
        for log in contract.get_logs(strict=False):
            if type(log).__name__ == "RoleGranted":
                self.grants.add((str(log.address), bytes(log.role), str(log.account)))

    def deploy(self, name: str, *args: Any) -> Any:
        handle = super().deploy(name, *args)
        self._record(handle)
        return handle

    def transact(self, contract: Any, fn: str, *args: Any) -> Any:
        out = super().transact(contract, fn, *args)
        self._record(contract)
        return out


def _role_names(contract: Any) -> list[str]:
    names = {
        item["name"]
        for item in contract.abi
        if item.get("type") == "function"
        and item["name"].endswith("_ROLE")
        and not item.get("inputs")
        and [o["type"] for o in item.get("outputs", [])] == ["bytes32"]
    }
    return sorted(names)


def _is_eoa(address: str) -> bool:
    return address != ZERO and len(boa.env.get_code(address)) == 0


@pytest.fixture(scope="module")
def recorded(params, deployer, team, investor, ecosystem):
    backend = RecordingBackend(deployer)
    dep = deploy_protocol(
        backend, params, beneficiaries={"team": team, "investors": investor, "ecosystem": ecosystem}
    )
    return dep, backend


def test_no_eoa_holds_any_role(recorded, deployer, team, investor, ecosystem, alice, bob, carol, non_admin):
    dep, backend = recorded
    candidates = {deployer, team, investor, ecosystem, alice, bob, carol, non_admin, ZERO}
    candidates |= {account for _, _, account in backend.grants}
    checked = 0
    offenders = []
    for name, contract in dep.contracts.items():
        if not any(item.get("name") == "hasRole" for item in contract.abi):
            continue
        for role_name in _role_names(contract):
            role = getattr(contract, role_name)()
            for account in candidates:
                checked += 1
                if contract.hasRole(role, account) and _is_eoa(account):
                    offenders.append(f"{name}.{role_name} held by EOA {account}")
    assert checked > 0
    assert offenders == []


def test_every_admin_role_is_the_timelocks(recorded):
    dep, _ = recorded
    timelock = str(dep["Timelock"].address)
    governed = [n for n, c in dep.contracts.items() if any(i.get("name") == "hasRole" for i in c.abi)]
    assert {"ClubToken", "Emission", "Vesting", "ClientReleases", "Timelock"} <= set(governed)
    for name in governed:
        contract = dep[name]
        assert contract.hasRole(contract.DEFAULT_ADMIN_ROLE(), timelock), name
        for role_name in _role_names(contract):
            if role_name in (
                "MINTER_ROLE",
                "PROPOSER_ROLE",
                "CANCELLER_ROLE",
                "EXECUTOR_ROLE",
                "DISPUTES_ROLE",
            ):
                continue
            assert contract.hasRole(getattr(contract, role_name)(), timelock), f"{name}.{role_name}"


def test_special_roles(recorded):
    """MINTER_ROLE only with Emission; the governor proposes and cancels; execution is open."""
    dep, backend = recorded
    token, timelock, governor = dep["ClubToken"], dep["Timelock"], dep["ClubGovernor"]
    minters = {a for c, r, a in backend.grants if c == str(token.address) and r == token.MINTER_ROLE()}
    assert {m for m in minters if token.hasRole(token.MINTER_ROLE(), m)} == {str(dep["Emission"].address)}
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), governor.address)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), governor.address)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), ZERO)
    proposers = {
        a for c, r, a in backend.grants if c == str(timelock.address) and r == timelock.PROPOSER_ROLE()
    }
    assert proposers == {str(governor.address)}


def test_treasury_is_the_timelock(recorded, params):
    dep, _ = recorded
    timelock = str(dep["Timelock"].address)
    assert dep.treasury == timelock
    assert dep["Vesting"].treasury() == timelock
    g = params.genesis
    assert dep["ClubToken"].balanceOf(timelock) == g.treasury_wei + g.liquidity_wei


def test_disputes_roles_on_the_registry(recorded):
    """Disputes slashes, jails and freezes without a vote; the Timelock keeps SLASHER_ROLE as a
    backstop but cannot freeze (DISPUTES_ROLE is the Disputes contract's alone)."""
    dep, backend = recorded
    registry, disputes, timelock = dep["NodeRegistry"], dep["Disputes"], dep["Timelock"]
    assert registry.hasRole(registry.SLASHER_ROLE(), disputes.address)
    assert registry.hasRole(registry.SLASHER_ROLE(), timelock.address)
    role = registry.DISPUTES_ROLE()
    holders = {a for c, r, a in backend.grants if c == str(registry.address) and r == role}
    assert {h for h in holders if registry.hasRole(role, h)} == {str(disputes.address)}
    assert not registry.hasRole(role, timelock.address)
