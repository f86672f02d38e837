"""Shared fixtures: named actors, parameters, and the whole protocol deployed once per session.

titanoboa's pytest plugin anchors the chain state around every test (and every
hypothesis example), so session-scoped deployments are reused without leaking
state between tests.
"""

from __future__ import annotations

import contextlib
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


_titanoboa_anchor = boa.env._anchor


@contextlib.contextmanager
def _anchor_forgetting_contracts() -> Iterator[None]:
    """titanoboa anchors the chain state around every test and every hypothesis example, but keeps
    its address -> contract table and its storage-write trace (what a revert's storage dump decodes)
    across the anchor. A contract deployed inside an anchor stayed listed after the anchor gave its
    address back, so a later contract at that address (a CREATE in another test, or another
    example of a state machine) was rendered with the old one's storage layout and the revert
    rendering crashed ("IntegerT has no key_type"), depending on which tests ran before. Every
    anchor, the test's and each example's, now also restores both tables when it ends."""
    known = dict(boa.env._contracts)
    traced = set(boa.env.sstore_trace)
    try:
        with _titanoboa_anchor():
            yield
    finally:
        boa.env._contracts.clear()
        boa.env._contracts.update(known)
        for address in set(boa.env.sstore_trace) - traced:
            del boa.env.sstore_trace[address]


boa.env._anchor = _anchor_forgetting_contracts


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


@pytest.fixture(scope="session")
def directory(protocol):
    """NodeDirectory: the registry's read-only views (`nodes`, `pending_rewards`, `is_eligible`, ...)."""
    return protocol["NodeDirectory"]


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files of tests that start real processes run first: they are the longest (a whole demo, the
    README's quickstart, ape deployments), and xdist hands files out in collection order, so started
    last they left one worker finishing them alone. Order within a file is kept."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("integration") else 1)
