"""Fixtures for governance unit tests: the deployed Timelock/ClubGovernor/ClientReleases and funded voters.

Total supply at genesis is 600 M CLUB, so the quorum (4 %) is 24 M and the proposal
threshold (0.1 %) 600 k. `alice` alone can reach quorum; `bob` and `carol` cannot.
"""

from __future__ import annotations

import pytest

from tests.utils.governance import WAD, fund_and_delegate

ALICE_VOTES = 30_000_000 * WAD
BOB_VOTES = 10_000_000 * WAD
CAROL_VOTES = 1_000_000 * WAD


@pytest.fixture(scope="session")
def governor(protocol):
    return protocol["ClubGovernor"]


@pytest.fixture(scope="session")
def timelock(protocol):
    return protocol["Timelock"]


@pytest.fixture(scope="session")
def releases(protocol):
    return protocol["ClientReleases"]


@pytest.fixture
def voters(token, timelock, alice, bob, carol):
    """alice 30 M, bob 10 M, carol 1 M CLUB from the treasury, each self-delegated one second ago."""
    fund_and_delegate(token, str(timelock.address), {alice: ALICE_VOTES, bob: BOB_VOTES, carol: CAROL_VOTES})
    return {"alice": alice, "bob": bob, "carol": carol}
