"""Emission deployment: the plan's wiring, initial views, roles, and every constructor check."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_utils import keccak

from .conftest import CAP, GAP, RATE, TIP, WEEK, WEIGHTS, ZERO, governance_of

PARAMETER_ROLE = keccak(text="PARAMETER_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32


def test_protocol_wiring(protocol: Any, params: Any, deployer: str) -> None:
    """Emission is deployed from parameters.yaml and can mint: the plan's constructor call matches."""
    emission, token = protocol["Emission"], protocol["ClubToken"]
    e = params.emission
    assert emission.token() == token.address
    assert emission.cap() == token.cap()
    assert emission.remaining() == params.emission_reserve_wei == token.cap() - token.totalSupply()
    assert emission.registry() == protocol["NodeRegistry"].address
    assert emission.bootstrap_multiple() == e.bootstrap_multiple_wei
    assert emission.bootstrap_end_epoch() == e.bootstrap_epochs
    assert emission.rate_per_epoch() == e.rate_per_epoch_wad
    assert emission.epoch_seconds() == e.epoch_seconds
    assert emission.tip() == e.tip_wei
    assert emission.next_epoch_time() == protocol.genesis_time + e.epoch_seconds
    assert emission.weights() == [r.weight_bps for r in e.receivers]
    # node_rewards goes to the NodeRegistry; community_incentives stays with the treasury (as does
    # the treasury's own share): Communities holds no funds and could not pay them out.
    receiver = {
        "node_rewards": protocol["NodeRegistry"].address,
        "community_incentives": protocol.treasury,
        "treasury": protocol.treasury,
    }
    assert emission.receivers() == [receiver[r.name] for r in e.receivers]
    assert token.hasRole(token.MINTER_ROLE(), emission.address)
    assert not token.hasRole(token.MINTER_ROLE(), deployer)
    # The plan hands the admin and parameter roles to the Timelock; the deployer keeps none.
    gov = governance_of(protocol)
    assert emission.hasRole(PARAMETER_ROLE, gov)
    assert emission.hasRole(DEFAULT_ADMIN_ROLE, gov)
    assert not emission.hasRole(PARAMETER_ROLE, deployer)
    assert not emission.hasRole(DEFAULT_ADMIN_ROLE, deployer)


def test_initial_views(solo_emission: Any, solo_token: Any, receivers: list[str]) -> None:
    assert solo_emission.PARAMETER_ROLE() == PARAMETER_ROLE
    assert solo_emission.token() == solo_token.address
    assert solo_emission.cap() == CAP
    assert solo_emission.remaining() == GAP
    assert solo_emission.emitted() == 0
    assert solo_emission.withheld() == 0
    assert solo_emission.epochs_minted() == 0
    assert solo_emission.anchor_epoch() == 0
    assert solo_emission.anchor_gap() == GAP == solo_emission.last_gap()
    assert solo_emission.registry() == ZERO
    assert solo_emission.bootstrap_multiple() == 0
    assert solo_emission.bootstrap_end_epoch() == 0
    assert solo_emission.node_cap_per_epoch() == 2**256 - 1
    assert solo_emission.rate_per_epoch() == RATE
    assert solo_emission.epoch_seconds() == WEEK
    assert solo_emission.tip() == TIP
    assert solo_emission.next_epoch_time() == boa.env.evm.patch.timestamp + WEEK
    assert solo_emission.receivers() == receivers
    assert solo_emission.weights() == WEIGHTS
    assert solo_emission.epochs_due() == 0
    assert solo_emission.preview_due() == 0
    assert solo_emission.scheduled_gap(0) == GAP


def test_deployer_roles(solo_emission: Any, deployer: str, non_admin: str) -> None:
    assert solo_emission.hasRole(DEFAULT_ADMIN_ROLE, deployer)
    assert solo_emission.hasRole(PARAMETER_ROLE, deployer)
    assert solo_emission.getRoleAdmin(PARAMETER_ROLE) == DEFAULT_ADMIN_ROLE
    assert not solo_emission.hasRole(PARAMETER_ROLE, non_admin)
    assert not solo_emission.hasRole(DEFAULT_ADMIN_ROLE, non_admin)


def test_role_handover(solo_emission: Any, deployer: str, non_admin: str) -> None:
    """The admin can hand PARAMETER_ROLE to another account (as the governance step will)."""
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        solo_emission.grantRole(PARAMETER_ROLE, non_admin)
    with boa.env.prank(deployer):
        solo_emission.grantRole(PARAMETER_ROLE, non_admin)
        solo_emission.renounceRole(PARAMETER_ROLE, deployer)
    assert solo_emission.hasRole(PARAMETER_ROLE, non_admin)
    assert not solo_emission.hasRole(PARAMETER_ROLE, deployer)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"token": "zero"}, "emission: zero token"),
        ({"bootstrap_epochs": 1}, "emission: bootstrap needs a registry"),
        ({"bootstrap_epochs": 521, "registry": "one"}, "emission: bootstrap too long"),
        ({"bootstrap_multiple": 10**24 + 1}, "emission: bootstrap multiple above maximum"),
        ({"rate": 0}, "emission: zero rate"),
        ({"rate": 10**17 + 1}, "emission: rate above maximum"),
        ({"rate": 10**18}, "emission: rate above maximum"),
        ({"epoch_seconds": 3_599}, "emission: epoch too short"),
        ({"epoch_seconds": 365 * 86_400 + 1}, "emission: epoch too long"),
        ({"tip": 1_000 * 10**18 + 1}, "emission: tip above maximum"),
        ({"receivers": [], "weights": []}, "emission: no receivers"),
        ({"weights": [6_000, 4_000]}, "emission: length mismatch"),
        ({"weights": [6_000, 1_500, 2_499]}, "emission: weights must sum to 10000"),
        ({"weights": [6_000, 1_500, 2_501]}, "emission: weights must sum to 10000"),
        ({"weights": [8_500, 1_500, 0]}, "emission: zero weight"),
        ({"receivers": "zero_middle"}, "emission: zero receiver"),
    ],
)
def test_constructor_rejects(
    override: dict[str, Any],
    reason: str,
    make_emission: Any,
    make_token: Any,
    solo_token: Any,
    receivers: list[str],
) -> None:
    kw = dict(override)
    token: Any = solo_token
    if kw.get("registry") == "one":
        kw["registry"] = ZERO[:-1] + "1"
    if kw.get("token") == "zero":
        kw.pop("token")
        token = type("Zero", (), {"address": "0x" + "00" * 20, "grantRole": None})()
    if kw.get("receivers") == "zero_middle":
        kw["receivers"] = [receivers[0], "0x" + "00" * 20, receivers[2]]
    with boa.reverts(reason):
        make_emission(token, **kw)


def test_constructor_bounds_accepted(make_emission: Any, make_token: Any, receivers: list[str]) -> None:
    """The documented bounds themselves are valid; eight receivers are the maximum."""
    eight = [str(boa.env.generate_address(f"r{i}")) for i in range(8)]
    e = make_emission(
        make_token(cap=(1 << 90) - 1, genesis=0),
        rate=10**17,
        epoch_seconds=3_600,
        tip=1_000 * 10**18,
        receivers=eight,
        weights=[1_250] * 8,
        registry=eight[0],
        bootstrap_multiple=10**24,
        bootstrap_epochs=520,
    )
    assert e.receivers() == eight
    assert (e.cap(), e.bootstrap_multiple(), e.bootstrap_end_epoch()) == ((1 << 90) - 1, 10**24, 520)
    e2 = make_emission(rate=1, epoch_seconds=365 * 86_400, tip=0)
    assert (e2.rate_per_epoch(), e2.epoch_seconds(), e2.tip()) == (1, 365 * 86_400, 0)
