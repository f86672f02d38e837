"""Emission.advance: r x (cap - totalSupply) per epoch, catch-up, burns refill, tip, split, tail."""

from __future__ import annotations

from typing import Any

import boa
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.emission_model import WAD, gap_after, split

from .conftest import CAP, GAP, RATE, TIP, WEEK, WEIGHTS, events, model_of, warp_to


def advance_as(emission: Any, who: str) -> int:
    with boa.env.prank(who):
        return emission.advance()


def burn(token: Any, holder: str, amount: int) -> None:
    with boa.env.prank(holder):
        token.burn(amount)


def test_nothing_due_returns_zero(solo_emission: Any, solo_token: Any, keeper: str) -> None:
    """Before next_epoch_time advance() mints nothing, logs nothing and does not revert."""
    warp_to(solo_emission.next_epoch_time() - 1)
    supply = solo_token.totalSupply()
    assert solo_emission.epochs_due() == 0
    assert solo_emission.preview_due() == 0
    assert advance_as(solo_emission, keeper) == 0
    assert solo_emission.get_logs() == []
    assert solo_token.totalSupply() == supply
    assert solo_emission.epochs_minted() == 0


def test_first_epoch(solo_emission: Any, solo_token: Any, keeper: str, receivers: list[str]) -> None:
    """At next_epoch_time one epoch is due: rate x (cap - supply), tip to the caller, rest by weight."""
    t0 = solo_emission.next_epoch_time()
    warp_to(t0)
    assert solo_emission.epochs_due() == 1
    assert solo_emission.remaining() == GAP == CAP - solo_token.totalSupply()
    expected = GAP - gap_after(GAP, RATE, 1)
    # One epoch mints the fraction `rate` of the gap (the closed form rounds down).
    assert expected == GAP * RATE // WAD
    assert solo_emission.preview_due() == expected

    assert advance_as(solo_emission, keeper) == expected

    (emitted_log,) = events(solo_emission, "Emitted")
    assert emitted_log.caller == keeper
    assert (emitted_log.first_epoch, emitted_log.epochs) == (0, 1)
    assert (emitted_log.amount, emitted_log.tip) == (expected, TIP)
    shares = split(expected - TIP, WEIGHTS)
    dist = events(solo_emission, "Distributed")
    assert [(d.receiver, d.amount) for d in dist] == list(zip(receivers, shares, strict=True))
    assert solo_token.balanceOf(keeper) == TIP
    assert [solo_token.balanceOf(r) for r in receivers] == shares
    assert solo_token.totalSupply() == CAP - GAP + expected
    assert solo_emission.emitted() == expected
    assert solo_emission.remaining() == GAP - expected == solo_emission.last_gap()
    assert solo_emission.epochs_minted() == 1
    assert solo_emission.next_epoch_time() == t0 + WEEK
    assert solo_emission.epochs_due() == 0
    # Calling again in the same epoch does nothing.
    assert advance_as(solo_emission, keeper) == 0


def test_each_epoch_mints_rate_of_gap(solo_emission: Any, keeper: str) -> None:
    """Epoch by epoch the mint is `(cap - supply) * rate`, to within one wei of rounding."""
    for _ in range(5):
        warp_to(solo_emission.next_epoch_time())
        gap = solo_emission.remaining()
        minted = advance_as(solo_emission, keeper)
        assert abs(minted - gap * RATE // WAD) <= 1
        assert minted <= gap * RATE // WAD + 1


def test_burns_refill_the_rewards(
    solo_emission: Any, solo_token: Any, keeper: str, holder: str, receivers: list[str]
) -> None:
    """A burn widens the gap and the next epoch mints rate x the wider gap (the old reserve rule
    minted the same amount whatever was burned: this test failed on it)."""
    warp_to(solo_emission.next_epoch_time())
    advance_as(solo_emission, keeper)
    gap = solo_emission.remaining()
    burned = 100_000_000 * WAD
    burn(solo_token, holder, burned)
    assert solo_emission.remaining() == gap + burned
    warp_to(solo_emission.next_epoch_time())
    assert solo_emission.preview_due() == (gap + burned) * RATE // WAD
    minted = advance_as(solo_emission, keeper)
    assert minted == (gap + burned) * RATE // WAD
    # the burn alone adds rate x burned to this epoch's reward
    assert minted - gap * RATE // WAD == burned * RATE // WAD
    # the closed form restarted at the wider gap
    assert solo_emission.anchor_epoch() == 1
    assert solo_emission.anchor_gap() == gap + burned


def test_epochs_due_counts_whole_epochs(solo_emission: Any) -> None:
    t0 = solo_emission.next_epoch_time()
    for offset, due in [(0, 1), (WEEK - 1, 1), (WEEK, 2), (10 * WEEK + 5, 11)]:
        warp_to(t0 + offset)
        assert solo_emission.epochs_due() == due


def test_catch_up_equals_single_calls(make_emission: Any, make_token: Any, keeper: str) -> None:
    """One call after 12 missed epochs mints exactly what 12 weekly calls mint (same tips), to the wei."""
    n = 12
    token_a, token_b = make_token(), make_token()
    slow, fast = make_emission(token_a), make_emission(token_b)
    t0 = slow.next_epoch_time()
    assert fast.next_epoch_time() == t0
    singles = []
    for i in range(n):
        warp_to(t0 + i * WEEK)
        singles.append(advance_as(slow, keeper))
    assert all(s > 0 for s in singles)
    caught_up = advance_as(fast, keeper)
    (log,) = events(fast, "Emitted")
    assert caught_up == sum(singles) == slow.emitted() == fast.emitted()
    assert caught_up == GAP - gap_after(GAP, RATE, n)  # the closed form (cap - S)(1 - (1 - r)^k)
    assert (log.first_epoch, log.epochs, log.tip) == (0, n, n * TIP)
    assert token_a.balanceOf(keeper) == token_b.balanceOf(keeper) == n * TIP
    assert token_a.totalSupply() == token_b.totalSupply()
    assert fast.next_epoch_time() == slow.next_epoch_time() == t0 + n * WEEK
    assert fast.epochs_minted() == slow.epochs_minted() == n


def test_burn_during_a_gap_counts_from_the_gap_start(
    make_emission: Any, make_token: Any, keeper: str, holder: str
) -> None:
    """The documented catch-up rule: a burn b made j epochs into a k-epoch gap is paid out as if made
    at the gap's start, b (1 - (1 - r)^k) instead of b (1 - (1 - r)^(k - j)); never above the cap."""
    k, j, b = 10, 6, 50_000_000 * WAD
    token_a, token_b = make_token(), make_token()
    slow, fast = make_emission(token_a), make_emission(token_b)
    t0 = slow.next_epoch_time()
    for i in range(k):
        warp_to(t0 + i * WEEK)
        if i == j:
            burn(token_a, holder, b)
            burn(token_b, holder, b)
        advance_as(slow, keeper)
    caught_up = advance_as(fast, keeper)
    assert caught_up == (GAP + b) - gap_after(GAP + b, RATE, k)
    extra = caught_up - slow.emitted()
    exact = b * ((1 - RATE / WAD) ** (k - j) - (1 - RATE / WAD) ** k)
    assert abs(extra - exact) < 1e-9 * b
    assert 0 < extra <= b * (1 - (1 - RATE / WAD) ** j)
    assert token_b.totalSupply() <= CAP


@given(gaps=st.lists(st.integers(min_value=0, max_value=30 * WEEK), min_size=1, max_size=8))
def test_any_split_matches_closed_form(solo_emission: Any, keeper: str, gaps: list[int]) -> None:
    """Whatever the timing of the calls, without burns the gap is the closed form exactly, as in the model."""
    model = model_of(solo_emission)
    for gap in gaps:
        boa.env.time_travel(seconds=gap)
        now = boa.env.evm.patch.timestamp
        expected, _ = model.advance(now, keeper)
        assert advance_as(solo_emission, keeper) == expected
    assert solo_emission.epochs_minted() == model.epochs_minted
    k = model.epochs_minted
    assert solo_emission.remaining() == model.gap == solo_emission.scheduled_gap(k) == gap_after(GAP, RATE, k)


def test_dust_goes_to_last_receiver(make_emission: Any, make_token: Any, receivers: list[str]) -> None:
    """Shares round down; the last receiver gets the rest, so shares + tip == amount exactly."""
    token = make_token(cap=10**6 + 7, genesis=0)
    emission = make_emission(token, rate=10**17, tip=0, weights=[3_333, 3_333, 3_334])
    warp_to(emission.next_epoch_time())
    amount = emission.advance()
    assert amount == (10**6 + 7) // 10
    shares = [amount * 3_333 // 10_000, amount * 3_333 // 10_000]
    shares.append(amount - sum(shares))
    assert [token.balanceOf(r) for r in receivers] == shares
    assert sum(shares) == amount == token.totalSupply()


def test_tip_capped_at_amount(make_emission: Any, make_token: Any, keeper: str, receivers: list[str]) -> None:
    """When an epoch mints less than the tip, the caller gets it all and receivers nothing."""
    token = make_token(cap=1_000, genesis=0)
    emission = make_emission(token, rate=10**17, tip=10 * 10**18)
    warp_to(emission.next_epoch_time())
    assert advance_as(emission, keeper) == 100
    (log,) = events(emission, "Emitted")
    assert log.tip == 100
    assert events(emission, "Distributed") == []
    assert token.balanceOf(keeper) == 100
    assert all(token.balanceOf(r) == 0 for r in receivers)


def test_zero_tip(make_emission: Any, make_token: Any, keeper: str, receivers: list[str]) -> None:
    token = make_token()
    emission = make_emission(token, tip=0)
    warp_to(emission.next_epoch_time())
    amount = advance_as(emission, keeper)
    assert token.balanceOf(keeper) == 0
    assert [token.balanceOf(r) for r in receivers] == split(amount, WEIGHTS)


def test_anyone_can_advance(solo_emission: Any, solo_token: Any, non_admin: str) -> None:
    warp_to(solo_emission.next_epoch_time())
    assert advance_as(solo_emission, non_admin) > 0
    assert solo_token.balanceOf(non_admin) == TIP


def test_first_epoch_in_the_past(make_emission: Any) -> None:
    """A first epoch time in the past is caught up by the first call."""
    now = boa.env.evm.patch.timestamp
    emission = make_emission(first_epoch_time=now - 3 * WEEK)
    assert emission.epochs_due() == 4
    model = model_of(emission)
    assert emission.advance() == model.advance(now, "x")[0]
    assert emission.epochs_minted() == 4
    assert emission.next_epoch_time() == now + WEEK


def test_genesis_after_deploy_reanchors(
    make_emission: Any, make_token: Any, holder: str, deployer: str
) -> None:
    """The plan deploys Emission before the genesis mint: the first advance measures the gap then."""
    token = make_token(genesis=0)
    emission = make_emission(token)
    assert emission.anchor_gap() == CAP
    with boa.env.prank(deployer):
        token.mint(holder, CAP - GAP)
    warp_to(emission.next_epoch_time())
    assert emission.preview_due() == GAP * RATE // WAD
    assert emission.advance() == GAP * RATE // WAD
    assert emission.anchor_gap() == GAP


def test_century_catch_up(make_emission: Any, make_token: Any, keeper: str) -> None:
    """5,200 missed weekly epochs settle in one call (O(log n) closed form) and match the model."""
    token = make_token()
    emission = make_emission(token)
    model = model_of(emission)
    boa.env.time_travel(seconds=5_200 * WEEK)
    now = boa.env.evm.patch.timestamp
    expected, tip = model.advance(now, keeper)
    assert advance_as(emission, keeper) == expected
    assert emission.epochs_minted() == 5_200
    assert tip == 5_200 * TIP
    # After a century at 0.25 %/week about 0.00022 % of the gap is left: gap * 0.9975**5200.
    assert abs(emission.remaining() / GAP - 0.9975**5_200) < 1e-12
    assert token.totalSupply() == CAP - GAP + expected <= CAP


def test_gap_tail_keeps_one_wei(make_emission: Any, make_token: Any, keeper: str) -> None:
    """Rounding favours the gap: (1 - r)^k rounded up never reaches 0, one wei is never minted."""
    token = make_token()
    now = boa.env.evm.patch.timestamp
    emission = make_emission(token, rate=10**17, epoch_seconds=3_600, first_epoch_time=now + 3_600)
    boa.env.time_travel(seconds=3_600 * 2_001)
    advance_as(emission, keeper)
    assert emission.remaining() == 1
    assert token.totalSupply() == CAP - 1
    boa.env.time_travel(seconds=3_600 * 5)
    assert emission.preview_due() == 0
    assert advance_as(emission, keeper) == 0
    (log,) = events(emission, "Emitted")
    assert (log.epochs, log.amount, log.tip) == (5, 0, 0)
    assert emission.epochs_minted() == 2_006
    assert token.totalSupply() == CAP - 1


def test_protocol_emission_mints_schedule(protocol: Any, params: Any, keeper: str) -> None:
    """On the deployed protocol: 10 weeks in one call mint (cap - S)(1 - (1 - r)^10), under the cap."""
    emission, token = protocol["Emission"], protocol["ClubToken"]
    supply = token.totalSupply()
    gap = token.cap() - supply
    assert gap == params.emission_reserve_wei
    warp_to(emission.next_epoch_time() + 9 * params.emission.epoch_seconds)
    minted = advance_as(emission, keeper)
    uncapped = gap - gap_after(gap, params.emission.rate_per_epoch_wad, 10)
    # the bootstrap guard keeps the registry's share within multiple x sqrt(stake) per epoch
    assert minted == uncapped - emission.withheld()
    assert token.totalSupply() == supply + minted <= token.cap()
    assert token.balanceOf(keeper) == 10 * params.emission.tip_wei
