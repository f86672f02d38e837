"""Fixtures of the AdMarket unit tests: the market as the deploy plan wires it, funded actors.

The plan hands AdMarket's DEFAULT_ADMIN_ROLE and PARAMETER_ROLE to the Timelock, so the
`governance` fixture (the Timelock's address, pranked) is who sets parameters. Communities and
Premium are test stand-ins whose state the tests set directly.
"""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_account.signers.local import LocalAccount

from tests.utils.ads import WAD, deploy_market, give, register_notify
from tests.utils.signing import named_signer

# Community ids used by the targeted campaigns of the tests.
CLUB_A, CLUB_B = 7, 8


@pytest.fixture(scope="session")
def ads(protocol, params, deployer):
    return deploy_market(protocol, params, deployer)


@pytest.fixture(scope="session")
def market(ads) -> Any:
    return ads["AdMarket"]


@pytest.fixture(scope="session")
def communities(ads) -> Any:
    return ads["Communities"]


@pytest.fixture(scope="session")
def premium(ads) -> Any:
    return ads["Premium"]


@pytest.fixture(scope="session")
def registry(ads) -> Any:
    return ads["NodeRegistry"]


@pytest.fixture(scope="session")
def governance(ads) -> str:
    return str(ads["Timelock"].address)


@pytest.fixture(scope="session")
def advertiser() -> str:
    return str(boa.env.generate_address("advertiser"))


@pytest.fixture(scope="session")
def operator() -> str:
    return str(boa.env.generate_address("notify_operator"))


@pytest.fixture(scope="session")
def node_key() -> str:
    return str(boa.env.generate_address("notify_key"))


@pytest.fixture(scope="session")
def other_operator() -> str:
    return str(boa.env.generate_address("other_notify_operator"))


@pytest.fixture(scope="session")
def community_owner() -> str:
    return str(boa.env.generate_address("community_owner"))


@pytest.fixture(scope="session")
def viewer() -> LocalAccount:
    """A user who signs receipts (boa's named actors cannot sign)."""
    return named_signer("ads-viewer")


@pytest.fixture(scope="session")
def viewer2() -> LocalAccount:
    return named_signer("ads-viewer-2")


# Function scope on purpose: funding moves treasury CLUB (see tests/unit/registry/conftest.py).
@pytest.fixture
def funded(token, market, governance, advertiser) -> str:
    """The advertiser holds 1M CLUB with the market approved."""
    give(token, governance, advertiser, 1_000_000 * WAD, market)
    return advertiser


@pytest.fixture
def node(token, registry, governance, operator, node_key, params) -> str:
    """`operator` registered as a NOTIFY node (hot key `node_key`)."""
    register_notify(
        token, registry, governance, operator, node_key, params.registry.min_self_stake_per_kind_wei
    )
    return operator


@pytest.fixture
def other_node(token, registry, governance, other_operator, params) -> str:
    key = str(boa.env.generate_address("other_notify_key"))
    register_notify(
        token, registry, governance, other_operator, key, params.registry.min_self_stake_per_kind_wei
    )
    return other_operator


@pytest.fixture
def members(communities, community_owner, viewer, viewer2) -> None:
    """Both viewers are members of CLUB_A, only `viewer` of CLUB_B; `community_owner` owns both."""
    with boa.env.prank(community_owner):
        for cid in (CLUB_A, CLUB_B):
            communities.set_owner(cid, community_owner)
        communities.set_member(CLUB_A, viewer.address, True)
        communities.set_member(CLUB_A, viewer2.address, True)
        communities.set_member(CLUB_B, viewer.address, True)
