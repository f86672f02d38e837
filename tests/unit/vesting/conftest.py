"""Fixtures for the Vesting / VestingEscrow unit tests: the deployed protocol plus standalone instances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boa
import pytest

from tests.utils.deployer import deployer_for

DAY = 86_400
YEAR = 365 * DAY
CLUB = 10**18
MAX_UINT = 2**256 - 1
# boa recognises escrows as EIP-1167 proxies of VestingEscrow and warns that their
# runtime code differs from the implementation's; that is exactly what a proxy is.
PROXY_WARNING = "ignore:casted bytecode does not match compiled bytecode:UserWarning"


def events(contract: Any, name: str) -> list[Any]:
    """Decoded logs called `name` from the contract's last call (child calls included)."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def escrow_at(address: str) -> Any:
    """A VestingEscrow handle for an escrow proxy."""
    return deployer_for("VestingEscrow").at(address)


def now() -> int:
    return int(boa.env.evm.patch.timestamp)


def warp_to(t: int) -> None:
    """Move the chain clock to timestamp `t` (forward only)."""
    assert t >= now()
    boa.env.time_travel(seconds=t - now())


def governance_of(protocol: Any) -> str:
    """Who holds the admin roles in the deployed protocol: the Timelock (the plan hands them over)."""
    return str(protocol["Timelock"].address)


@pytest.fixture(scope="module")
def treasury() -> str:
    return str(boa.env.generate_address("treasury"))


@pytest.fixture
def vtoken(deployer: str) -> Any:
    """A fresh ClubToken; the deployer holds 500M CLUB to allocate."""
    with boa.env.prank(deployer):
        token = deployer_for("ClubToken").deploy("Club Token", "CLUB", 10**9 * CLUB, "Club Token", "1")
        token.mint(deployer, 500_000_000 * CLUB)
    return token


@pytest.fixture
def escrow_impl(deployer: str) -> Any:
    with boa.env.prank(deployer):
        return deployer_for("VestingEscrow").deploy()


@pytest.fixture
def solo_vesting(vtoken: Any, escrow_impl: Any, deployer: str, treasury: str) -> Any:
    """A standalone Vesting; the deployer (all roles) has approved it for everything."""
    with boa.env.prank(deployer):
        vesting = deployer_for("Vesting").deploy(vtoken.address, escrow_impl.address, treasury)
        vtoken.approve(vesting.address, MAX_UINT)
    return vesting


@pytest.fixture
def create(solo_vesting: Any, deployer: str, alice: str) -> Callable[..., Any]:
    """Create an allocation as the deployer (defaults: alice, 1,000 CLUB, starts now,
    1-year cliff, 4-year duration, revocable) and return its escrow handle."""

    def make(
        beneficiary: str = alice,
        amount: int = 1_000 * CLUB,
        start: int | None = None,
        cliff: int = YEAR,
        duration: int = 4 * YEAR,
        revocable: bool = True,
    ) -> Any:
        with boa.env.prank(deployer):
            address = solo_vesting.create_vesting(
                beneficiary, amount, now() if start is None else start, cliff, duration, revocable
            )
        return escrow_at(address)

    return make
