"""SimParams is built from deployments/parameters.yaml: every protocol field mirrors the file."""

from __future__ import annotations

import dataclasses

import pytest

from clubchat.params import BPS, DAY, WAD
from clubchat.sim import parameters
from clubchat.sim.parameters import from_parameters


def test_protocol_fields_come_from_the_parameters_file(params):
    p = from_parameters(params)
    assert p.cap == params.token.cap_wei / WAD
    assert p.genesis_total == params.genesis.total_wei / WAD
    assert p.reserve == params.emission_reserve_wei / WAD
    assert p.rate_per_epoch == params.emission.rate_per_epoch_wad / WAD
    assert p.epoch_days == params.emission.epoch_seconds / DAY
    assert p.emission_tip == params.emission.tip_wei / WAD
    shares = {r.name: r.weight_bps / BPS for r in params.emission.receivers}
    assert (p.node_rewards_share, p.community_share, p.treasury_share) == (
        shares["node_rewards"],
        shares["community_incentives"],
        shares["treasury"],
    )
    assert p.vesting_amounts == tuple(a.amount_wei / WAD for a in params.genesis.vesting)
    assert p.vesting_cliff_days == tuple(a.cliff_seconds / DAY for a in params.genesis.vesting)
    assert p.min_self_stake == params.registry.min_self_stake_per_kind_wei / WAD
    assert p.unbonding_days == params.registry.unbonding_seconds // DAY
    assert p.saturation_multiple == params.registry.saturation_multiple
    gv = params.governance
    assert p.quorum_fraction == gv.quorum_numerator / gv.quorum_denominator


def test_a_changed_parameters_file_changes_the_model(params):
    raw = dict(params.raw)
    changed = dataclasses.replace(
        params, emission=dataclasses.replace(params.emission, rate_per_epoch_wad=5 * 10**15), raw=raw
    )
    assert from_parameters(changed).rate_per_epoch == 0.005


def test_every_field_is_documented_with_unit_and_source():
    rows = parameters.describe()
    assert {r["name"] for r in rows} == {f.name for f in dataclasses.fields(parameters.SimParams)}
    for r in rows:
        assert r["unit"] and r["doc"] and r["source"]
    sources = {r["source"] for r in rows}
    assert "assumption" in sources and "emission.rate_per_epoch_wad" in sources


def test_replace_rejects_unknown_names(sim_params):
    with pytest.raises(KeyError, match="unknown simulation parameter"):
        sim_params.replace(no_such_thing=1)
    assert sim_params.replace(price_vol=0.1).price_vol == 0.1


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [("rate_per_epoch", "0.001", 0.001), ("unbonding_days", "7", 7), ("nodes0", "1/2/3", (1.0, 2.0, 3.0))],
)
def test_coerce_parses_command_line_values(name, text, value):
    assert parameters.coerce(name, text) == value


def test_coerce_rejects_unknown_names():
    with pytest.raises(KeyError, match="club sim list --params"):
        parameters.coerce("bogus", "1")


def test_every_assumption_has_a_source_or_a_reason():
    """Defect 10: each assumption says where its value comes from (it had a unit and no source)."""
    from clubchat.sim.parameters import describe

    rows = [r for r in describe() if r["source"] == "assumption"]
    assert rows
    for r in rows:
        assert r["why"].startswith(("source: ", "assumption: ")) and len(r["why"]) > 25, r["name"]
