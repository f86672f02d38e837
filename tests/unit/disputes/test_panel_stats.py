"""The panel draw against stake weights (chi-square): the first reviewer seated is drawn in
proportion to its stake among the nodes that may review (the flagged node excluded), for panels
seeded by different block hashes after the flag.

The seeds are fixed: the test pins the block number and the time (hence the epoch and its seed)
before it registers the nodes, so every run draws the same 360 panels. Before, the seeds followed
the session's start time (the epoch number enters the registry's epoch seed), so each run tested a
new random set of 360 seeds and a correct sampler failed the 0.001 threshold in 0.1 % of runs
(seen once: p = 0.0006). Now the outcome is a fixed fact about the contracts; with these seeds
p = 0.52 (observed 21, 38, 42, 69, 79, 111 against 17, 34, 51, 69, 86, 103). It still fails a
biased sampler: the expected counts of a uniform draw give chi-square 154.5 (p ~ 1e-31), of a draw
by stake squared 42.6 (p ~ 4e-8); the heavy/light ratio check catches a uniform draw too."""

from __future__ import annotations

import boa
from scipy.stats import chisquare

from tests.utils.disputes import add_node, draw, mine_blocks, open_flag, set_params

TRIALS = 360
# Where the test pins the chain: a block number above any the session reaches, and mid-way
# through the registry's first epoch (the protocol is deployed at the session's start).
PINNED_BLOCK = 5_000_000


def test_first_reviewer_follows_stake(disputes, registry, token, governance, params, flagger):
    patch = boa.env.evm.patch
    pinned_time = registry.EPOCH_START() + registry.EPOCH_SECONDS() // 2
    assert patch.timestamp <= pinned_time and patch.block_number < PINNED_BLOCK
    patch.timestamp = pinned_time
    patch.block_number = PINNED_BLOCK
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
    result = chisquare(observed, expected)
    assert result.pvalue > 0.001, (observed, expected)
    # And not uniform: the heaviest node is drawn clearly more often than the lightest.
    assert observed[5] > 2 * observed[0]
