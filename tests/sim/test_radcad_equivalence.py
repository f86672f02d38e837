"""radCAD and the vectorised engine run the same blocks and must give the same numbers."""

from __future__ import annotations

import numpy as np

from clubchat.sim import engine, radcad_model


def test_radcad_and_vectorised_paths_are_identical(sim_params):
    days, runs = 21, 2
    rad = radcad_model.run(sim_params, runs=runs, days=days, seed=4, scenario="adversarial")
    vec = engine.to_frame(
        engine.simulate(sim_params, runs=runs, days=days, seed=4, scenario="adversarial", record_every=1),
        scenario="adversarial",
    )
    merged = vec.merge(rad, on=["run", "day"], suffixes=("_v", "_r"))
    assert len(merged) == runs * (days + 1)
    for col in (
        "price_usd",
        "users",
        "staked",
        "circulating",
        "nodes_turn",
        "coverage_relay",
        "gov_attack_usd",
    ):
        np.testing.assert_allclose(merged[f"{col}_v"], merged[f"{col}_r"], rtol=1e-12, err_msg=col)
    assert merged["price_usd_v"].nunique() > days  # the runs are random, not constant
