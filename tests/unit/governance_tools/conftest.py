"""Governance fixtures shared with tests/unit/governor (Timelock, ClubGovernor, ClientReleases, voters)."""

from tests.unit.governor.conftest import (  # noqa: F401 - re-exported fixtures
    governor,
    releases,
    timelock,
    voters,
)
