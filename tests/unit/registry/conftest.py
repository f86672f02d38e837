"""Fixtures of the NodeRegistry unit tests: the registry as the deploy plan wires it, funded actors.

The plan hands DEFAULT_ADMIN_ROLE, PARAMETER_ROLE and SLASHER_ROLE to the Timelock, so the
`governance` fixture (the Timelock's address, pranked) is who jails, slashes and sets parameters.
"""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import Actors, fund, register_node, set_parameters

WAD = 10**18


@pytest.fixture(scope="session")
def registry(protocol):
    return protocol["NodeRegistry"]


@pytest.fixture(scope="session")
def governance(protocol) -> str:
    return str(protocol["Timelock"].address)


@pytest.fixture(scope="session")
def minimum(params) -> int:
    return params.registry.min_self_stake_per_kind_wei


@pytest.fixture(scope="session")
def operator() -> str:
    return str(boa.env.generate_address("operator"))


@pytest.fixture(scope="session")
def node_key() -> str:
    return str(boa.env.generate_address("node_key"))


@pytest.fixture(scope="session")
def delegator() -> str:
    return str(boa.env.generate_address("delegator"))


# Function scope on purpose: the funding moves treasury CLUB, and a wider scope would leak
# that transfer into every later test that shares the session's `protocol`.
@pytest.fixture
def actors(token, registry, governance, operator, node_key, delegator, alice, bob, carol) -> Actors:
    """Operators and delegators holding 10M CLUB each, with the registry approved."""
    for who in (operator, delegator, alice, bob, carol):
        fund(token, registry, governance, who, 10_000_000 * WAD)
    return Actors(operator=operator, node_key=node_key, delegator=delegator)


@pytest.fixture
def relay_node(registry, actors, minimum) -> str:
    """`operator` registered as a live RELAY node with 2x the minimum self-stake and 10 % commission."""
    register_node(
        registry, actors.operator, actors.node_key, kinds=1, amount=2 * minimum, commission_bps=1000
    )
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
    return actors.operator


@pytest.fixture
def one_day_stream(registry, governance) -> None:
    """Stream each finalisation over one reward epoch instead of the deployed week (Emission's
    epoch), so that tests of the reward arithmetic see a whole stream paid out within an epoch."""
    set_parameters(registry, governance, stream_seconds=registry.EPOCH_SECONDS())
