"""The parameters loader refuses impossible values and names the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from clubchat.params import DEFAULT_PATH, ParameterError, load

BASE: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text())


def write(tmp_path: Path, change: dict[str, Any]) -> Path:
    raw = copy.deepcopy(BASE)
    for dotted, value in change.items():
        node: Any = raw
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"genesis.vesting.0.cliff_days": -5},
            "genesis.vesting.team.cliff_days is -5; it cannot be negative",
        ),
        ({"registry.unbonding_seconds": -1}, "registry.unbonding_seconds is -1; it cannot be negative"),
        ({"emission.tip": 2.5}, "emission.tip is 2.5; use a whole number"),
        ({"registry.heartbeat_seconds": 0}, "registry.heartbeat_seconds must be above 0"),
        ({"emission.epoch_seconds": 0}, "emission.epoch_seconds must be above 0"),
        ({"governance.quorum_numerator": 101}, "governance.quorum_numerator (101) must not exceed"),
        ({"registry.commission_max_bps": 12000}, "registry.commission_max_bps is 12000; at most 10000 bps"),
        (
            {"registry.kind_reward_bps.TURN": 6000},
            "registry.kind_reward_bps: shares sum to 9000 bps, not 10000",
        ),
        (
            {"registry.kind_reward_bps.NOTIFY": -1},
            "registry.kind_reward_bps.NOTIFY is -1; it cannot be negative",
        ),
        (
            {"governance.voting_period_seconds": "5 days"},
            "governance.voting_period_seconds is '5 days'; use a number",
        ),
    ],
)
def test_impossible_values_refused_naming_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ParameterError) as err:
        load(write(tmp_path, change))
    assert message in str(err.value)


def test_missing_key_named(tmp_path: Path) -> None:
    raw = copy.deepcopy(BASE)
    del raw["registry"]["heartbeat_seconds"]
    path = tmp_path / "missing.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParameterError, match=r"registry\.heartbeat_seconds is missing"):
        load(path)


def test_the_shipped_file_loads() -> None:
    assert load().registry.heartbeat_seconds == BASE["registry"]["heartbeat_seconds"]
