"""Fixtures of the Communities unit tests: the contracts as the deploy plan wires them, funded actors.

The plan hands PARAMETER_ROLE to the Timelock, so `governance` (the Timelock's address,
pranked) sets the creation fee. Actors hold CLUB from the treasury with Communities approved.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.communities import OPEN, WAD, fund
from tests.utils.signing import named_signer


@pytest.fixture(scope="session")
def communities(protocol) -> Any:
    return protocol["Communities"]


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
def owner() -> str:
    return str(boa.env.generate_address("owner"))


@pytest.fixture(scope="session")
def admin_signer():
    """An admin with a private key (signs invite vouchers)."""
    return named_signer("community-admin")


@pytest.fixture(scope="session")
def moderator() -> str:
    return str(boa.env.generate_address("moderator"))


@pytest.fixture(scope="session")
def member() -> str:
    return str(boa.env.generate_address("member"))


@pytest.fixture(scope="session")
def outsider() -> str:
    return str(boa.env.generate_address("outsider"))


@pytest.fixture
def funded_owner(token, communities, governance, owner) -> str:
    fund(token, governance, owner, 10_000 * WAD, communities)
    return owner


def create(
    communities: Any, creator: str, owner: str | None = None, policy: int = OPEN, seconds: int = 0
) -> int:
    with boa.env.prank(creator):
        return int(communities.create(owner or creator, policy, seconds, False))


@pytest.fixture
def community(communities, funded_owner, admin_signer, moderator) -> int:
    """An OPEN community of `owner` with `admin_signer` as admin and `moderator` as moderator."""
    cid = create(communities, funded_owner)
    with boa.env.prank(funded_owner):
        communities.set_admin(cid, admin_signer.address, True)
        communities.set_moderator(cid, moderator, True)
    return cid


def set_policy(
    communities: Any, owner: str, cid: int, policy: int, seconds: int = 0, fail_open: bool = False
) -> None:
    with boa.env.prank(owner):
        communities.set_policy(cid, policy, seconds, fail_open)
