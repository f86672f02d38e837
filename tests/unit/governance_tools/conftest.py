"""Governance fixtures shared with tests/unit/governor (Timelock, ClubGovernor, ClientReleases, voters),
and a manifest of the deployed protocol for the package's builders."""

import pytest

from clubchat.chain.manifest import ContractRecord, Manifest
from tests.unit.governor.conftest import (  # noqa: F401 - re-exported fixtures
    governor,
    releases,
    timelock,
    voters,
)


@pytest.fixture(scope="module")
def manifest(protocol) -> Manifest:
    contracts = {
        name: ContractRecord(str(c.address), c.abi, 0)
        for name, c in protocol.contracts.items()
        if hasattr(c, "abi")
    }
    return Manifest("test", 1, 0, contracts, {}, str(protocol["ClubToken"].address), protocol.treasury, 0)
