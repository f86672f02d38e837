"""Fixtures of the Premium unit tests: the contract as the deploy plan wires it (tiers from
parameters.yaml, PARAMETER_ROLE with the Timelock), payers funded with CLUB and Premium approved."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.communities import WAD, fund


@pytest.fixture(scope="session")
def premium(protocol) -> Any:
    return protocol["Premium"]


@pytest.fixture(scope="session")
def registry(protocol) -> Any:
    return protocol["NodeRegistry"]


@pytest.fixture(scope="session")
def governance(protocol) -> str:
    return str(protocol["Timelock"].address)


@pytest.fixture(scope="session")
def payer() -> str:
    return str(boa.env.generate_address("payer"))


@pytest.fixture(scope="session")
def friend() -> str:
    return str(boa.env.generate_address("friend"))


@pytest.fixture
def funded(token, premium, governance, payer, friend) -> None:
    for who in (payer, friend):
        fund(token, governance, who, 100_000 * WAD, premium)
