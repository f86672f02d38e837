"""Shared fixtures: named actors, parameters, and the whole protocol deployed once per session.

titanoboa's pytest plugin anchors the chain state around every test (and every
hypothesis example), so session-scoped deployments are reused without leaking
state between tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import boa
import pytest
from hypothesis import HealthCheck, settings

from clubchat import params as params_mod
from tests.utils.deployer import deploy_all

settings.register_profile(
    "ci",
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _forget_contracts_of_earlier_tests() -> Iterator[None]:
    """titanoboa anchors the chain state around every test but keeps its address -> contract table
    (it renders reverts from it). A contract a test deployed stayed listed after the anchor gave its
    address back, so a contract created there later by CREATE in another test (not registered) was
    rendered with the old one's storage layout and the revert rendering crashed ("IntegerT has no
    key_type"), depending on which files ran before in the worker. Each test starts from the table
    its session fixtures left, and forgets the storage writes traced at addresses it created."""
    known = dict(boa.env._contracts)
    # Its storage-write trace (what a revert's storage dump decodes) is kept per address too: a
    # later contract at a reused address would be decoded with the earlier one's keys.
    traced = set(boa.env.sstore_trace)
    yield
    boa.env._contracts.clear()
    boa.env._contracts.update(known)
    for address in set(boa.env.sstore_trace) - traced:
        del boa.env.sstore_trace[address]


@pytest.fixture(scope="session")
def params() -> params_mod.Parameters:
    return params_mod.load()


def _actor(name: str) -> str:
    addr = boa.env.generate_address(name)
    return str(addr)


@pytest.fixture(scope="session")
def deployer() -> str:
    return _actor("deployer")


@pytest.fixture(scope="session")
def team() -> str:
    return _actor("team")


@pytest.fixture(scope="session")
def investor() -> str:
    return _actor("investor")


@pytest.fixture(scope="session")
def ecosystem() -> str:
    return _actor("ecosystem")


@pytest.fixture(scope="session")
def non_admin() -> str:
    return _actor("non_admin")


@pytest.fixture(scope="session")
def alice() -> str:
    return _actor("alice")


@pytest.fixture(scope="session")
def bob() -> str:
    return _actor("bob")


@pytest.fixture(scope="session")
def carol() -> str:
    return _actor("carol")


@pytest.fixture(scope="session")
def protocol(params, deployer, team, investor, ecosystem):
    """The whole protocol, deployed by the same plan as `ape run deploy`."""
    return deploy_all(
        params, deployer, beneficiaries={"team": team, "investors": investor, "ecosystem": ecosystem}
    )


@pytest.fixture(scope="session")
def token(protocol):
    return protocol["ClubToken"]


@pytest.fixture(scope="session")
def emission(protocol):
    return protocol["Emission"]


@pytest.fixture(scope="session")
def vesting(protocol):
    return protocol["Vesting"]


@pytest.fixture
def fast_ice() -> Iterator[None]:
    """aioice resends a connectivity check after 50 ms instead of 500 ms for one test (see
    clubchat.client.call.use_fast_ice_retransmit); the module default comes back afterwards."""
    import aioice.stun

    from clubchat.client.call import use_fast_ice_retransmit

    old = aioice.stun.RETRY_RTO
    use_fast_ice_retransmit()
    yield
    aioice.stun.RETRY_RTO = old
