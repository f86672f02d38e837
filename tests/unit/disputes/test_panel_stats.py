"""The panel draw against stake weights (chi-square): the first reviewer seated is drawn in
proportion to its stake among the nodes that may review (the flagged node excluded), for panels
seeded by different block hashes after the flag."""

from __future__ import annotations

import boa
from scipy.stats import chisquare

from tests.utils.disputes import add_node, draw, mine_blocks, open_flag, set_params

TRIALS = 360


def test_first_reviewer_follows_stake(disputes, registry, token, governance, params, flagger):
    minimum = params.registry.min_self_stake_per_kind_wei
    reviewers = [add_node(token, registry, governance, f"w{i}", (i + 1) * minimum) for i in range(6)]
    target = add_node(token, registry, governance, "suspect", 4 * minimum)
    set_params(disputes, governance, panel_size=1)
    counts = dict.fromkeys((r.operator for r in reviewers), 0)
    for trial in range(TRIALS):
        with boa.env.anchor():
            # A different number of blocks before the flag: a different seed block (hash and id).
            mine_blocks(trial + 1, block_delta=1)
            dispute_id = open_flag(token, disputes, governance, flagger, target.operator)
            [first] = draw(disputes, dispute_id)
            counts[first] += 1
    weights = [i + 1 for i in range(6)]
    expected = [TRIALS * w / sum(weights) for w in weights]
    observed = [counts[r.operator] for r in reviewers]
    assert sum(observed) == TRIALS
    assert chisquare(observed, expected).pvalue > 0.001, (observed, expected)
    # And not uniform: the heaviest node is drawn clearly more often than the lightest.
    assert observed[5] > 2 * observed[0]
