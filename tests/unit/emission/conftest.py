"""Fixtures for the Emission unit tests: the deployed protocol's Emission plus standalone instances."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boa
import pytest

from tests.utils.deployer import deployer_for
from tests.utils.emission_model import EmissionModel

ZERO = "0x" + "00" * 20
MOCK_REGISTRY = Path(__file__).parents[2] / "utils" / "contracts" / "MockStakeRegistry.vy"

WEEK = 7 * 86_400
CAP = 1_000_000_000 * 10**18
# The standalone token gets a 600M CLUB "genesis" before Emission is deployed, so the gap
# cap - totalSupply starts at 400M CLUB, as in parameters.yaml.
GENESIS = 600_000_000 * 10**18
GAP = CAP - GENESIS
RATE = 25 * 10**14  # 0.25 % per epoch
TIP = 10 * 10**18
WEIGHTS = [6_000, 1_500, 2_500]


def events(contract: Any, name: str) -> list[Any]:
    """Decoded logs called `name` from the contract's last call (child calls included)."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def governance_of(protocol: Any) -> str:
    """Who holds the admin roles in the deployed protocol: the Timelock (the plan hands them over)."""
    return str(protocol["Timelock"].address)


def model_of(emission: Any, stake: int = 0) -> EmissionModel:
    """A Python model starting from the emission's current state (`stake`: the registry's total_weight)."""
    return EmissionModel.from_contract(emission, stake=stake)


@pytest.fixture(scope="module")
def receivers(alice: str, bob: str, carol: str) -> list[str]:
    return [alice, bob, carol]


@pytest.fixture(scope="module")
def keeper() -> str:
    return str(boa.env.generate_address("keeper"))


@pytest.fixture(scope="module")
def holder() -> str:
    """Holds the standalone token's genesis supply (and burns from it)."""
    return str(boa.env.generate_address("holder"))


@pytest.fixture(scope="module")
def make_token(deployer: str, holder: str) -> Callable[..., Any]:
    """A fresh ClubToken (deployer: admin and minter) with `genesis` wei minted to `holder`."""

    def make(cap: int = CAP, genesis: int = GENESIS) -> Any:
        with boa.env.prank(deployer):
            token = deployer_for("ClubToken").deploy("Club Token", "CLUB", cap, "Club Token", "1")
            if genesis:
                token.mint(holder, genesis)
        return token

    return make


@pytest.fixture(scope="module")
def make_registry() -> Callable[..., Any]:
    """A stand-in for NodeRegistry reporting `total_weight` (whole CLUB of node stake)."""

    def make(stake: int = 0) -> Any:
        registry = boa.load_partial(str(MOCK_REGISTRY)).deploy()
        registry.set_total_weight(stake)
        return registry

    return make


@pytest.fixture(scope="module")
def make_emission(deployer: str, receivers: list[str], make_token: Callable[..., Any]) -> Callable[..., Any]:
    """A fresh token + Emission (holding MINTER_ROLE); keyword arguments override the defaults."""

    def make(token: Any = None, **kw: Any) -> Any:
        token = token if token is not None else make_token()
        args = {
            "rate": RATE,
            "epoch_seconds": WEEK,
            "tip": TIP,
            "first_epoch_time": boa.env.evm.patch.timestamp + WEEK,
            "receivers": receivers,
            "weights": WEIGHTS,
            "registry": ZERO,
            "bootstrap_multiple": 0,
            "bootstrap_epochs": 0,
        }
        args.update(kw)
        with boa.env.prank(deployer):
            emission = deployer_for("Emission").deploy(
                token.address,
                args["rate"],
                args["epoch_seconds"],
                args["tip"],
                args["first_epoch_time"],
                args["receivers"],
                args["weights"],
                args["registry"],
                args["bootstrap_multiple"],
                args["bootstrap_epochs"],
            )
            token.grantRole(token.MINTER_ROLE(), emission.address)
        return emission

    return make


@pytest.fixture
def solo_token(make_token: Callable[..., Any]) -> Any:
    return make_token()


@pytest.fixture
def solo_emission(solo_token: Any, make_emission: Callable[..., Any]) -> Any:
    """Standalone Emission (gap 400M CLUB, 0.25 %/week, tip 10 CLUB, no bootstrap) paying alice/bob/carol."""
    return make_emission(solo_token)


def warp_to(t: int) -> None:
    """Move the chain clock to timestamp `t` (forward only)."""
    now = boa.env.evm.patch.timestamp
    assert t >= now
    boa.env.time_travel(seconds=t - now)
