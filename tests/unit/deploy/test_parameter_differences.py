"""A re-deploy names every parameter that differs from the deployed ones."""

from __future__ import annotations

import copy

from clubchat.deploy.manifest import parameter_differences
from clubchat.params import Parameters


def test_same_parameters_do_not_differ(params: Parameters) -> None:
    assert parameter_differences(params.raw, copy.deepcopy(params.raw)) == []


def test_each_difference_is_named_with_both_values(params: Parameters) -> None:
    other = copy.deepcopy(params.raw)
    other["registry"]["heartbeat_seconds"] = 1800
    other["genesis"]["vesting"][0]["cliff_days"] = 90
    del other["emission"]["tip"]
    assert parameter_differences(params.raw, other) == [
        "emission.tip: 10 -> absent",
        "genesis.vesting.team.cliff_days: 365 -> 90",
        "registry.heartbeat_seconds: 3600 -> 1800",
    ]
