"""The bootstrap guard: the registry's share per epoch <= multiple x sqrt(total node stake) until the
bootstrap ends; the excess stays unminted (in the gap); governance may only shorten it."""

from __future__ import annotations

import math
from typing import Any

import boa
import pytest

from tests.utils.emission_model import WAD, gap_after, split

from .conftest import CAP, GAP, RATE, TIP, WEEK, WEIGHTS, events, model_of, warp_to

MULTIPLE = 100 * WAD  # 100 CLUB per sqrt(CLUB) per epoch
STAKE = 1_000_000  # whole CLUB: sqrt = 1,000 -> the registry may get 100,000 CLUB per epoch
EPOCHS = 4


@pytest.fixture
def guarded(make_emission: Any, make_token: Any, make_registry: Any, receivers: list[str]) -> Any:
    """Emission whose first receiver (60 %) is a stand-in registry with 1M CLUB staked, 4 guarded epochs."""
    registry = make_registry(STAKE)
    token = make_token()
    emission = make_emission(
        token,
        receivers=[registry.address, *receivers[1:]],
        registry=registry.address,
        bootstrap_multiple=MULTIPLE,
        bootstrap_epochs=EPOCHS,
    )
    return emission, token, registry


def test_guard_caps_the_registry_share(guarded: Any, keeper: str, receivers: list[str]) -> None:
    emission, token, registry = guarded
    warp_to(emission.next_epoch_time())
    limit = MULTIPLE * math.isqrt(STAKE)
    assert emission.node_cap_per_epoch() == limit
    uncapped = GAP * RATE // WAD
    shares = split(uncapped - TIP, WEIGHTS)
    assert shares[0] > limit  # 600k CLUB wanted, 100k allowed
    assert emission.preview_due() == uncapped - (shares[0] - limit)
    with boa.env.prank(keeper):
        minted = emission.advance()
    assert minted == uncapped - (shares[0] - limit)
    assert token.balanceOf(registry.address) == limit
    assert [token.balanceOf(r) for r in receivers[1:]] == shares[1:]  # the others are not touched
    (held,) = events(emission, "NodeRewardsWithheld")
    assert (held.first_epoch, held.epochs, held.amount) == (0, 1, shares[0] - limit)
    (log,) = events(emission, "Emitted")
    assert log.amount == minted
    assert emission.withheld() == shares[0] - limit
    # the excess is not minted: it stays in the gap, and the closed form restarts from there
    assert emission.remaining() == GAP - minted == emission.anchor_gap() == emission.last_gap()
    assert emission.anchor_epoch() == 1


def test_guard_follows_the_stake(guarded: Any, keeper: str) -> None:
    """sqrt(stake): four times the stake doubles the limit; isqrt rounds against the node share."""
    emission, token, registry = guarded
    registry.set_total_weight(4 * STAKE + 3)
    assert emission.node_cap_per_epoch() == MULTIPLE * 2 * math.isqrt(STAKE)
    registry.set_total_weight(0)
    assert emission.node_cap_per_epoch() == 0
    warp_to(emission.next_epoch_time())
    with boa.env.prank(keeper):
        emission.advance()
    assert token.balanceOf(registry.address) == 0  # nothing staked: nothing to reward yet


def test_guard_does_not_bind_with_enough_stake(guarded: Any, keeper: str) -> None:
    emission, _, registry = guarded
    registry.set_total_weight(10**9)  # sqrt ~ 31,623 -> 3.16M CLUB allowed
    warp_to(emission.next_epoch_time())
    with boa.env.prank(keeper):
        minted = emission.advance()
    assert minted == GAP * RATE // WAD
    assert events(emission, "NodeRewardsWithheld") == []
    assert emission.withheld() == 0


def test_bootstrap_ends(guarded: Any, keeper: str) -> None:
    """A catch-up over the end settles the guarded epochs first, then the rest unguarded."""
    emission, token, registry = guarded
    model = model_of(emission, stake=STAKE)
    warp_to(emission.next_epoch_time() + (EPOCHS + 2) * WEEK)
    now = boa.env.evm.patch.timestamp
    expected, _ = model.advance(now, keeper)
    assert emission.preview_due() == expected
    with boa.env.prank(keeper):
        assert emission.advance() == expected
    logs = events(emission, "Emitted")
    assert [(e.first_epoch, e.epochs) for e in logs] == [(0, EPOCHS), (EPOCHS, 3)]
    (held,) = events(emission, "NodeRewardsWithheld")
    assert held.epochs == EPOCHS
    assert token.balanceOf(registry.address) == model.paid[registry.address]
    # each payee is minted once for both steps (the gas of crossing the end: one mint per payee)
    paid = events(emission, "Distributed")
    assert sorted(d.receiver for d in paid) == sorted(set(model.paid) - {keeper})
    assert all(d.amount == model.paid[d.receiver] for d in paid)
    mints = [t for t in events(emission, "Transfer") if int(t.sender, 16) == 0]
    assert len(mints) == len(paid) + 1  # the receivers and the keeper's tip, once each
    assert emission.node_cap_per_epoch() == 2**256 - 1
    # after the bootstrap the full share flows again
    warp_to(emission.next_epoch_time())
    gap = emission.remaining()
    with boa.env.prank(keeper):
        assert emission.advance() == gap - gap_after(gap, RATE, 1)
    assert events(emission, "NodeRewardsWithheld") == []


def test_guarded_catch_up_pays_the_same_node_share(
    make_emission: Any, make_token: Any, make_registry: Any, receivers: list[str], keeper: str
) -> None:
    """While the guard binds, k single calls and one catch-up both pay the registry k x the limit;
    the withheld excess re-enters the gap (documented: the others' shares then differ slightly)."""
    made = []
    for _ in range(2):
        registry = make_registry(STAKE)
        token = make_token()
        e = make_emission(
            token, receivers=[registry.address, *receivers[1:]], registry=registry.address,
            bootstrap_multiple=MULTIPLE, bootstrap_epochs=EPOCHS,
        )  # fmt: skip
        made.append((e, token, registry))
    (slow, token_a, reg_a), (fast, token_b, reg_b) = made
    t0 = slow.next_epoch_time()
    for i in range(3):
        warp_to(t0 + i * WEEK)
        with boa.env.prank(keeper):
            slow.advance()
    with boa.env.prank(keeper):
        fast.advance()
    limit = MULTIPLE * math.isqrt(STAKE)
    assert token_a.balanceOf(reg_a.address) == token_b.balanceOf(reg_b.address) == 3 * limit
    assert token_a.totalSupply() <= CAP and token_b.totalSupply() <= CAP


def test_set_bootstrap_shortens_and_settles_first(guarded: Any, deployer: str) -> None:
    emission, token, registry = guarded
    model = model_of(emission, stake=STAKE)
    warp_to(emission.next_epoch_time() + WEEK)
    now = boa.env.evm.patch.timestamp
    model.set_bootstrap(now, deployer, MULTIPLE // 2, 2)
    with boa.env.prank(deployer):
        emission.set_bootstrap(MULTIPLE // 2, 2)
    (changed,) = [e for e in emission.get_logs() if type(e).__name__ == "BootstrapChanged"]
    assert (changed.old_multiple, changed.new_multiple) == (MULTIPLE, MULTIPLE // 2)
    assert (changed.old_end_epoch, changed.new_end_epoch) == (EPOCHS, 2)
    assert emission.epochs_minted() == 2  # settled under the old guard first
    assert token.balanceOf(registry.address) == 2 * MULTIPLE * math.isqrt(STAKE)
    assert (emission.bootstrap_multiple(), emission.bootstrap_end_epoch()) == (MULTIPLE // 2, 2)
    assert emission.node_cap_per_epoch() == 2**256 - 1  # epoch 2 is past the new end
    with boa.env.prank(deployer), boa.reverts("emission: bootstrap can only be shortened"):
        emission.set_bootstrap(MULTIPLE, 3)
    with boa.env.prank(deployer):
        emission.set_bootstrap(0, 0)
    assert emission.bootstrap_end_epoch() == 0
