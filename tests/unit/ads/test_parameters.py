"""AdMarket parameters and roles: only the Timelock sets them, within bounds; the deployer keeps nothing."""

from __future__ import annotations

import boa
import pytest

from clubchat.deploy.boa_backend import deployer_for
from clubchat.deploy.plan import ads_constructor_args
from clubchat.params import ParameterError, load
from tests.unit.test_params_validation import write
from tests.utils.ads import events


def _set(market, sender, split=(5000, 2000, 2000, 1000), grace=86_400, burn=500, timeout=86_400):
    with boa.env.prank(sender):
        market.set_parameters(list(split), grace, burn, timeout)


def test_deployed_with_parameters_yaml(market, params):
    a = params.ads
    assert [market.user_bps(), market.node_bps(), market.community_bps(), market.burn_bps()] == a.split_bps
    assert market.settlement_grace_seconds() == a.settlement_grace_seconds
    assert market.request_burn_bps() == a.request_burn_bps
    assert market.request_timeout_seconds() == a.request_timeout_seconds


def test_timelock_holds_the_roles_and_the_deployer_none(market, governance, deployer):
    for role in (market.DEFAULT_ADMIN_ROLE(), market.PARAMETER_ROLE()):
        assert market.hasRole(role, governance)
        assert not market.hasRole(role, deployer)


def test_governance_sets_parameters(market, governance):
    _set(market, governance, split=(6000, 1000, 2000, 1000), grace=3_600, burn=5_000, timeout=90 * 86_400)
    (event,) = events(market, "ParametersChanged")
    assert (event.user_bps, event.node_bps, event.community_bps, event.burn_bps) == (6000, 1000, 2000, 1000)
    assert (event.settlement_grace_seconds, event.request_burn_bps, event.request_timeout_seconds) == (
        3_600,
        5_000,
        90 * 86_400,
    )
    assert market.user_bps() == 6000 and market.request_burn_bps() == 5_000


def test_only_parameter_role(market, deployer, non_admin):
    for who in (deployer, non_admin):
        with boa.reverts("access_control: account is missing role"):
            _set(market, who)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"split": (5000, 2000, 2000, 999)}, "ads: split must sum to 10000"),
        ({"split": (5000, 2000, 2000, 1001)}, "ads: split must sum to 10000"),
        ({"grace": 3_599}, "ads: bad grace"),
        ({"grace": 90 * 86_400 + 1}, "ads: bad grace"),
        ({"burn": 5_001}, "ads: request burn too high"),
        ({"timeout": 3_599}, "ads: bad timeout"),
        ({"timeout": 90 * 86_400 + 1}, "ads: bad timeout"),
    ],
)
def test_bounds(market, governance, kwargs, reason):
    with boa.reverts(reason):
        _set(market, governance, **kwargs)


@pytest.mark.parametrize("index", [0, 1, 2, 3])
def test_constructor_rejects_zero_addresses(params, deployer, index):
    addrs = ["0x" + "11" * 20] * 4
    addrs[index] = "0x" + "00" * 20
    reason = ["ads: zero token", "ads: zero registry", "ads: zero communities", "ads: zero premium"][index]
    with boa.env.prank(deployer), boa.reverts(reason):
        deployer_for("AdMarket").deploy(*ads_constructor_args(params, *addrs))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ads.split.burn_bps": 999}, "ads.split: shares sum to 9999 bps, they must sum to 10000"),
        ({"ads.request_burn_bps": 5001}, "ads.request_burn_bps is 5001; at most 5000 bps"),
        ({"ads.settlement_grace_seconds": 3599}, "ads.settlement_grace_seconds must be between 3600"),
        ({"ads.request_timeout_seconds": 90 * 86_400 + 1}, "ads.request_timeout_seconds must be between"),
        ({"ads.split.user_bps": -1}, "ads.split.user_bps is -1; it cannot be negative"),
    ],
)
def test_parameters_file_refuses_what_the_contract_would(tmp_path, change, message):
    with pytest.raises(ParameterError) as err:
        load(write(tmp_path, change))
    assert message in str(err.value)
