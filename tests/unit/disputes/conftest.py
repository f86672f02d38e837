"""Fixtures of the Disputes unit tests: the protocol as the deploy plan wires it (Disputes holds
SLASHER_ROLE and DISPUTES_ROLE on the registry, the Timelock holds PARAMETER_ROLE), and a
network of RELAY nodes whose keys can sign relay-log entries."""

from __future__ import annotations

import boa
import pytest

from tests.utils.disputes import Node, add_node

WAD = 10**18


@pytest.fixture(scope="session")
def registry(protocol):
    return protocol["NodeRegistry"]


@pytest.fixture(scope="session")
def disputes(protocol):
    return protocol["Disputes"]


@pytest.fixture(scope="session")
def governance(protocol) -> str:
    """The Timelock: treasury, PARAMETER_ROLE holder."""
    return str(protocol["Timelock"].address)


@pytest.fixture(scope="session")
def reporter() -> str:
    return str(boa.env.generate_address("reporter"))


@pytest.fixture(scope="session")
def flagger() -> str:
    return str(boa.env.generate_address("flagger"))


@pytest.fixture
def network(token, registry, governance, params) -> list[Node]:
    """Ten live RELAY nodes; node i self-stakes (i + 1) x 20,000 CLUB."""
    minimum = params.registry.min_self_stake_per_kind_wei
    return [add_node(token, registry, governance, f"n{i}", (i + 1) * 2 * minimum) for i in range(10)]


@pytest.fixture
def target(network) -> Node:
    """The node under suspicion."""
    return network[0]
