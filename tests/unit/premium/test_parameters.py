"""The `communities:` and `premium:` sections of parameters.yaml: loaded in wei, impossible values refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clubchat.params import WAD, ParameterError, load
from tests.unit.test_params_validation import BASE, write


def test_sections_load_in_wei() -> None:
    p = load()
    assert p.communities.creation_fee_wei == BASE["communities"]["creation_fee"] * WAD
    free, *paid = p.premium.tiers
    assert free.name == "free" and free.price_wei == free.lock_wei == 0 and free.max_call_seconds <= 300
    for tier, raw in zip(paid, BASE["premium"]["tiers"][1:], strict=True):
        assert (tier.price_wei, tier.lock_wei) == (raw["price"] * WAD, raw["lock"] * WAD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"premium.burn_bps": 10_001}, "premium.burn_bps is 10001; at most 10000 bps"),
        ({"premium.period_seconds": 60}, "premium.period_seconds must be between 3600"),
        ({"premium.unlock_delay_seconds": 400 * 86400}, "premium.unlock_delay_seconds must be at most"),
        ({"premium.tiers.0.price": 1}, "the first tier is the free tier"),
        ({"premium.tiers.0.max_call_seconds": 301}, "free calls last at most 300 s"),
        ({"premium.tiers.1.price": 0, "premium.tiers.1.lock": 0}, "premium.tiers.plus: a paid tier needs"),
        ({"communities.creation_fee": -1}, "communities.creation_fee is -1; it cannot be negative"),
    ],
)
def test_impossible_values_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError) as err:
        load(write(tmp_path, change))
    assert message in str(err.value)
