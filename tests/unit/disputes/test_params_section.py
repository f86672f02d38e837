"""The `disputes:` section of parameters.yaml: converted to the contract's units, impossible values
refused naming the key (before anything is deployed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clubchat.params import WAD, ParameterError, load
from tests.unit.test_params_validation import write


def test_units_match_the_contract(params):
    d = params.disputes
    raw = params.raw["disputes"]
    assert d.equivocation_fraction_wad == raw["equivocation_slash_bps"] * WAD // 10_000
    assert d.kick_fraction_wad == raw["kick_slash_bps"] * WAD // 10_000
    assert d.flag_bond_wei == raw["flag_bond"] * WAD
    assert len(d.as_tuple()) == 17


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"disputes.quorum_bps": 10_001}, "disputes.quorum_bps is 10001; at most 10000 bps"),
        ({"disputes.kick_slash_bps": 0}, "disputes.kick_slash_bps is 0; it must be above 0"),
        ({"disputes.non_voter_slash_bps": 10_000}, "disputes.non_voter_slash_bps is 10000"),
        ({"disputes.panel_size": 15}, "disputes.panel_size is 15; use 1 to 14"),
        ({"disputes.majority_bps": 4000}, "disputes.majority_bps must be at least 5000"),
        ({"disputes.jail_max_seconds": 1}, "disputes.jail_max_seconds must not be below"),
        ({"disputes.evidence_window_seconds": 1_209_600}, "must be below registry.unbonding_seconds"),
        ({"disputes.reviewer_cap": 1_198_373}, "disputes.reviewer_cap is above 1198372 CLUB"),
        ({"disputes.vote_reveal_seconds": 2**24}, "disputes.vote_reveal_seconds must be below 2**24"),
    ],
)
def test_bad_disputes_values(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError) as err:
        load(write(tmp_path, change))
    assert message in str(err.value)
