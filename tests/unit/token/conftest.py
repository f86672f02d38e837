"""Fixtures for the ClubToken unit tests: a fresh token (deployer = admin + minter) and funded holders."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.unit.token.helpers import CLUB, deploy_token

ALICE_FUNDS = 1_000 * CLUB
BOB_FUNDS = 500 * CLUB


@pytest.fixture(scope="session")
def fresh_token(deployer: str) -> Any:
    """A standalone ClubToken with no supply; the deployer may mint."""
    return deploy_token(deployer)


@pytest.fixture
def funded(fresh_token: Any, deployer: str, alice: str, bob: str) -> Any:
    """The standalone token with 1,000 CLUB for alice and 500 CLUB for bob; nobody delegates.

    Function-scoped on purpose: a session fixture that mints would leak its
    balances into every later test that asks for `fresh_token`.
    """
    with boa.env.prank(deployer):
        fresh_token.mint(alice, ALICE_FUNDS)
        fresh_token.mint(bob, BOB_FUNDS)
    return fresh_token


@pytest.fixture(scope="session")
def spender() -> str:
    return str(boa.env.generate_address("spender"))


@pytest.fixture(scope="session")
def minter() -> str:
    """An account the admin grants MINTER_ROLE in some tests (the Emission contract's place)."""
    return str(boa.env.generate_address("minter"))
