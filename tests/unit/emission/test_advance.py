"""Emission.advance: due epochs, amounts against the closed form, tip, split, catch-up, tail."""

from __future__ import annotations

from typing import Any

import boa
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.emission_model import WAD, remaining_after, split

from .conftest import RATE, RESERVE, TIP, WEEK, WEIGHTS, events, model_of, warp_to


def advance_as(emission: Any, who: str) -> int:
    with boa.env.prank(who):
        return emission.advance()


def test_nothing_due_returns_zero(solo_emission: Any, solo_token: Any, keeper: str) -> None:
    """Before next_epoch_time advance() mints nothing, logs nothing and does not revert."""
    warp_to(solo_emission.next_epoch_time() - 1)
    assert solo_emission.epochs_due() == 0
    assert solo_emission.preview_due() == 0
    assert advance_as(solo_emission, keeper) == 0
    assert solo_emission.get_logs() == []
    assert solo_token.totalSupply() == 0
    assert solo_emission.epochs_minted() == 0


def test_first_epoch(solo_emission: Any, solo_token: Any, keeper: str, receivers: list[str]) -> None:
    """At exactly next_epoch_time one epoch is due: reserve * rate, tip to the caller, rest by weight."""
    t0 = solo_emission.next_epoch_time()
    warp_to(t0)
    assert solo_emission.epochs_due() == 1
    expected = RESERVE - remaining_after(RESERVE, RATE, 1)
    # One epoch releases the fraction `rate` of the reserve (the closed form rounds down).
    assert expected == RESERVE * RATE // WAD
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
    assert solo_token.totalSupply() == expected
    assert solo_emission.emitted() == expected
    assert solo_emission.remaining() == RESERVE - expected
    assert solo_emission.epochs_minted() == 1
    assert solo_emission.next_epoch_time() == t0 + WEEK
    assert solo_emission.epochs_due() == 0
    # Calling again in the same epoch does nothing.
    assert advance_as(solo_emission, keeper) == 0
    assert solo_token.totalSupply() == expected


def test_each_epoch_releases_rate_of_remainder(solo_emission: Any, keeper: str) -> None:
    """Epoch by epoch the mint is `remaining * rate`, to within one wei of rounding."""
    for _ in range(5):
        warp_to(solo_emission.next_epoch_time())
        remaining = solo_emission.remaining()
        minted = advance_as(solo_emission, keeper)
        assert abs(minted - remaining * RATE // WAD) <= 1
        assert minted <= remaining * RATE // WAD + 1


def test_epochs_due_counts_whole_epochs(solo_emission: Any) -> None:
    t0 = solo_emission.next_epoch_time()
    for offset, due in [(0, 1), (WEEK - 1, 1), (WEEK, 2), (10 * WEEK + 5, 11)]:
        warp_to(t0 + offset)
        assert solo_emission.epochs_due() == due


def test_catch_up_equals_single_calls(make_emission: Any, make_token: Any, keeper: str) -> None:
    """One call after 12 missed epochs mints exactly what 12 weekly calls mint (same tips)."""
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
    assert (log.first_epoch, log.epochs, log.tip) == (0, n, n * TIP)
    assert token_a.balanceOf(keeper) == token_b.balanceOf(keeper) == n * TIP
    assert token_a.totalSupply() == token_b.totalSupply()
    assert fast.next_epoch_time() == slow.next_epoch_time() == t0 + n * WEEK
    assert fast.epochs_minted() == slow.epochs_minted() == n


@given(gaps=st.lists(st.integers(min_value=0, max_value=30 * WEEK), min_size=1, max_size=8))
def test_any_split_matches_closed_form(solo_emission: Any, keeper: str, gaps: list[int]) -> None:
    """Whatever the timing of the calls, emitted == E(epochs settled) exactly, as in the model."""
    model = model_of(solo_emission)
    for gap in gaps:
        boa.env.time_travel(seconds=gap)
        now = boa.env.evm.patch.timestamp
        expected, _ = model.advance(now, keeper)
        assert advance_as(solo_emission, keeper) == expected
    assert solo_emission.epochs_minted() == model.epochs_minted
    assert solo_emission.emitted() == model.emitted == model.scheduled_emitted(model.epochs_minted)
    assert solo_emission.scheduled_emitted(model.epochs_minted) == model.emitted


def test_dust_goes_to_last_receiver(make_emission: Any, make_token: Any, receivers: list[str]) -> None:
    """Shares round down; the last receiver gets the rest, so shares + tip == amount exactly."""
    token = make_token()
    emission = make_emission(token, reserve=10**6 + 7, rate=10**17, tip=0, weights=[3_333, 3_333, 3_334])
    warp_to(emission.next_epoch_time())
    amount = emission.advance()
    assert amount == (10**6 + 7) // 10
    shares = [amount * 3_333 // 10_000, amount * 3_333 // 10_000]
    shares.append(amount - sum(shares))
    assert [token.balanceOf(r) for r in receivers] == shares
    assert sum(shares) == amount == token.totalSupply()


def test_tip_capped_at_amount(make_emission: Any, make_token: Any, keeper: str, receivers: list[str]) -> None:
    """When an epoch mints less than the tip, the caller gets it all and receivers nothing."""
    token = make_token()
    emission = make_emission(token, reserve=1_000, rate=10**17, tip=10 * 10**18)
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


def test_burns_do_not_refill_reserve(solo_emission: Any, solo_token: Any, keeper: str) -> None:
    """Burning CLUB lowers the supply but neither `remaining` nor the schedule changes."""
    model = model_of(solo_emission)
    warp_to(solo_emission.next_epoch_time())
    model.advance(boa.env.evm.patch.timestamp, keeper)
    advance_as(solo_emission, keeper)
    remaining = solo_emission.remaining()
    with boa.env.prank(keeper):
        solo_token.burn(TIP)
    assert solo_token.totalSupply() == solo_emission.emitted() - TIP
    assert solo_emission.remaining() == remaining
    warp_to(solo_emission.next_epoch_time())
    expected, _ = model.advance(boa.env.evm.patch.timestamp, keeper)
    assert advance_as(solo_emission, keeper) == expected


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
    assert emission.emitted() == expected <= RESERVE
    # After a century at 0.25 %/week about 0.00022 % of the reserve is left: reserve * 0.9975**5200.
    assert abs(emission.remaining() / RESERVE - 0.9975**5_200) < 1e-12
    assert token.totalSupply() == expected


def test_reserve_tail_keeps_one_wei(make_emission: Any, make_token: Any, keeper: str) -> None:
    """Rounding favours the reserve: (1 - r)^k rounded up never reaches 0, one wei is never minted."""
    token = make_token()
    now = boa.env.evm.patch.timestamp
    emission = make_emission(token, rate=10**17, epoch_seconds=3_600, first_epoch_time=now + 3_600)
    boa.env.time_travel(seconds=3_600 * 2_001)
    advance_as(emission, keeper)
    assert emission.remaining() == 1
    assert emission.emitted() == RESERVE - 1
    boa.env.time_travel(seconds=3_600 * 5)
    assert emission.preview_due() == 0
    assert advance_as(emission, keeper) == 0
    (log,) = events(emission, "Emitted")
    assert (log.epochs, log.amount, log.tip) == (5, 0, 0)
    assert emission.epochs_minted() == 2_006
    assert token.totalSupply() == RESERVE - 1


def test_protocol_emission_mints_schedule(protocol: Any, params: Any, keeper: str) -> None:
    """On the deployed protocol: 10 weeks in one call mint E(10), the supply stays under the cap."""
    emission, token = protocol["Emission"], protocol["ClubToken"]
    supply = token.totalSupply()
    warp_to(emission.next_epoch_time() + 9 * params.emission.epoch_seconds)
    reserve = params.emission_reserve_wei
    expected = reserve - remaining_after(reserve, params.emission.rate_per_epoch_wad, 10)
    assert advance_as(emission, keeper) == expected
    assert token.totalSupply() == supply + expected <= token.cap()
    assert token.balanceOf(keeper) == 10 * params.emission.tip_wei
