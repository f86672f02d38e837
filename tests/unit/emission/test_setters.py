"""Emission governance setters: settle-first semantics, events, access control, input checks."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.utils.emission_model import EmissionModel

from .conftest import RATE, TIP, WEEK, events, model_of, warp_to

ZERO = "0x" + "00" * 20
MISSING_ROLE = "access_control: account is missing role"


def settle_then(
    emission: Any, deployer: str, fn: str, *args: Any
) -> tuple[EmissionModel, int, list[Any], list[Any]]:
    """Let 3 epochs become due, call setter `fn` as the deployer; return model, logs of the call."""
    model = model_of(emission)
    warp_to(emission.next_epoch_time() + 2 * WEEK)
    now = boa.env.evm.patch.timestamp
    expected, _ = model.advance(now, deployer)
    with boa.env.prank(deployer):
        getattr(emission, fn)(*args)
    return model, expected, events(emission, "Emitted"), emission.get_logs()


def test_set_rate_settles_old_rate_and_reanchors(solo_emission: Any, deployer: str, keeper: str) -> None:
    new_rate = 10**16
    model, expected, emitted, logs = settle_then(solo_emission, deployer, "set_rate", new_rate)
    (log,) = emitted
    assert (log.caller, log.epochs, log.amount) == (deployer, 3, expected)
    (changed,) = [e for e in logs if type(e).__name__ == "RateChanged"]
    assert (changed.old_rate, changed.new_rate) == (RATE, new_rate)
    assert solo_emission.rate_per_epoch() == new_rate
    assert solo_emission.anchor_epoch() == 3
    assert solo_emission.anchor_gap() == solo_emission.remaining() == solo_emission.last_gap()
    assert expected == solo_emission.emitted()
    with boa.reverts("emission: epoch before the anchor"):
        solo_emission.scheduled_gap(2)
    # The next epoch mints 1 % of the gap.
    model.set_rate(boa.env.evm.patch.timestamp, deployer, new_rate)
    warp_to(solo_emission.next_epoch_time())
    remaining = solo_emission.remaining()
    nxt, _ = model.advance(boa.env.evm.patch.timestamp, keeper)
    with boa.env.prank(keeper):
        assert solo_emission.advance() == nxt
    assert abs(nxt - remaining // 100) <= 1


def test_set_rate_without_due_epochs(solo_emission: Any, deployer: str) -> None:
    with boa.env.prank(deployer):
        solo_emission.set_rate(10**17)
    assert events(solo_emission, "Emitted") == []
    assert solo_emission.rate_per_epoch() == 10**17
    assert solo_emission.anchor_epoch() == 0


def test_set_tip_settles_with_old_tip(solo_emission: Any, solo_token: Any, deployer: str) -> None:
    _, _, (log,), logs = settle_then(solo_emission, deployer, "set_tip", 0)
    assert log.tip == 3 * TIP
    (changed,) = [e for e in logs if type(e).__name__ == "TipChanged"]
    assert (changed.old_tip, changed.new_tip) == (TIP, 0)
    assert solo_emission.tip() == 0
    assert solo_token.balanceOf(deployer) == 3 * TIP


def test_set_epoch_seconds_keeps_next_epoch_time(solo_emission: Any, deployer: str) -> None:
    t0 = solo_emission.next_epoch_time()
    _, _, (log,), logs = settle_then(solo_emission, deployer, "set_epoch_seconds", 86_400)
    assert log.epochs == 3
    (changed,) = [e for e in logs if type(e).__name__ == "EpochSecondsChanged"]
    assert (changed.old_epoch_seconds, changed.new_epoch_seconds) == (WEEK, 86_400)
    assert solo_emission.epoch_seconds() == 86_400
    # The already scheduled epoch keeps its time; later ones are a day apart.
    assert solo_emission.next_epoch_time() == t0 + 3 * WEEK
    warp_to(t0 + 3 * WEEK + 86_400)
    assert solo_emission.epochs_due() == 2


def test_set_receivers_pays_old_receivers_first(
    solo_emission: Any, solo_token: Any, deployer: str, receivers: list[str], keeper: str
) -> None:
    new_receivers, new_weights = [keeper, receivers[0]], [5_000, 5_000]
    _, expected, (log,), logs = settle_then(
        solo_emission, deployer, "set_receivers", new_receivers, new_weights
    )
    assert (log.epochs, log.amount) == (3, expected)
    assert [d.receiver for d in logs if type(d).__name__ == "Distributed"] == receivers
    (changed,) = [e for e in logs if type(e).__name__ == "ReceiversChanged"]
    assert (list(changed.receivers), list(changed.weights)) == (new_receivers, new_weights)
    assert solo_emission.receivers() == new_receivers
    assert solo_emission.weights() == new_weights
    assert solo_token.balanceOf(keeper) == 0
    assert sum(solo_token.balanceOf(r) for r in receivers) == expected - 3 * TIP
    warp_to(solo_emission.next_epoch_time())
    amount = solo_emission.advance()
    assert solo_token.balanceOf(keeper) == (amount - TIP) // 2


SETTERS: list[tuple[str, tuple[Any, ...]]] = [
    ("set_rate", (10**16,)),
    ("set_tip", (0,)),
    ("set_epoch_seconds", (86_400,)),
    ("set_receivers", ([ZERO[:-1] + "1"], [10_000])),
    ("set_bootstrap", (0, 0)),
]


@pytest.mark.parametrize(("fn", "args"), SETTERS)
def test_setters_need_parameter_role(solo_emission: Any, non_admin: str, fn: str, args: tuple) -> None:
    with boa.env.prank(non_admin), boa.reverts(MISSING_ROLE):
        getattr(solo_emission, fn)(*args)


@pytest.mark.parametrize(("fn", "args"), SETTERS)
def test_admin_without_parameter_role_is_refused(
    solo_emission: Any, deployer: str, fn: str, args: tuple
) -> None:
    """DEFAULT_ADMIN_ROLE alone is not enough: each setter checks PARAMETER_ROLE."""
    with boa.env.prank(deployer):
        solo_emission.renounceRole(solo_emission.PARAMETER_ROLE(), deployer)
        with boa.reverts(MISSING_ROLE):
            getattr(solo_emission, fn)(*args)


@pytest.mark.parametrize(
    ("fn", "args", "reason"),
    [
        ("set_rate", (0,), "emission: zero rate"),
        ("set_rate", (10**17 + 1,), "emission: rate above maximum"),
        ("set_tip", (1_000 * 10**18 + 1,), "emission: tip above maximum"),
        ("set_epoch_seconds", (3_599,), "emission: epoch too short"),
        ("set_epoch_seconds", (365 * 86_400 + 1,), "emission: epoch too long"),
        ("set_receivers", ([], []), "emission: no receivers"),
        ("set_receivers", ([ZERO[:-1] + "1"], [5_000, 5_000]), "emission: length mismatch"),
        ("set_receivers", ([ZERO], [10_000]), "emission: zero receiver"),
        ("set_receivers", ([ZERO[:-1] + "1", ZERO[:-1] + "2"], [10_000, 0]), "emission: zero weight"),
        ("set_receivers", ([ZERO[:-1] + "1"], [9_999]), "emission: weights must sum to 10000"),
        ("set_bootstrap", (0, 1), "emission: bootstrap can only be shortened"),
        ("set_bootstrap", (10**24 + 1, 0), "emission: bootstrap multiple above maximum"),
    ],
)
def test_setters_reject_bad_input(
    solo_emission: Any, deployer: str, fn: str, args: tuple, reason: str
) -> None:
    warp_to(solo_emission.next_epoch_time())
    with boa.env.prank(deployer), boa.reverts(reason):
        getattr(solo_emission, fn)(*args)
    # Nothing was settled by the failed call.
    assert solo_emission.epochs_minted() == 0


def test_governance_can_take_over(solo_emission: Any, deployer: str, non_admin: str) -> None:
    """After a hand-over the new holder can set parameters and the deployer cannot."""
    role = solo_emission.PARAMETER_ROLE()
    with boa.env.prank(deployer):
        solo_emission.grantRole(role, non_admin)
        solo_emission.revokeRole(role, deployer)
    with boa.env.prank(non_admin):
        solo_emission.set_tip(5 * 10**18)
    assert solo_emission.tip() == 5 * 10**18
    with boa.env.prank(deployer), boa.reverts(MISSING_ROLE):
        solo_emission.set_tip(0)
