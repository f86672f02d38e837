"""clubchat.deploy.choices: who receives the vesting allocations on local and live networks."""

from __future__ import annotations

import pytest

from clubchat.deploy.choices import DeployError, parse_beneficiaries, resolve_beneficiaries
from clubchat.params import Parameters

ACCOUNTS = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]
OTHER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def test_parse_checksums_and_splits_on_the_first_equals() -> None:
    assert parse_beneficiaries(("team=" + OTHER.lower(),)) == {"team": OTHER}


@pytest.mark.parametrize("pair", ["team", "team=", f"={OTHER}", "team=0x1234"])
def test_parse_rejects_malformed_pairs(pair: str) -> None:
    with pytest.raises(DeployError, match=r"--beneficiary takes NAME=0xADDRESS \(e\.g\. team=0x…\), got"):
        parse_beneficiaries((pair,))


def test_local_allocations_go_to_distinct_test_accounts_after_the_deployer(params: Parameters) -> None:
    names = [a.name for a in params.genesis.vesting]
    result = resolve_beneficiaries(params, {}, is_dev=True, test_accounts=ACCOUNTS, environ={})
    assert list(result) == names
    assert list(result.values()) == ACCOUNTS[1 : 1 + len(names)]


def test_given_and_environment_beneficiaries_win_over_test_accounts(params: Parameters) -> None:
    first, second = params.genesis.vesting[0].name, params.genesis.vesting[1].name
    env = {f"CLUBCHAT_BENEFICIARY_{second.upper()}": ACCOUNTS[0].lower()}
    result = resolve_beneficiaries(params, {first: OTHER}, is_dev=True, test_accounts=ACCOUNTS, environ=env)
    assert result[first] == OTHER
    assert result[second] == ACCOUNTS[0]


def test_live_network_requires_every_beneficiary(params: Parameters) -> None:
    first = params.genesis.vesting[0].name
    with pytest.raises(DeployError) as info:
        resolve_beneficiaries(params, {}, is_dev=False, test_accounts=ACCOUNTS, environ={})
    assert str(info.value) == (
        f"no beneficiary for the {first!r} vesting allocation: pass --beneficiary {first}=0x… "
        f"or set CLUBCHAT_BENEFICIARY_{first.upper()}"
    )


def test_live_network_with_all_beneficiaries_from_the_environment(params: Parameters) -> None:
    env = {f"CLUBCHAT_BENEFICIARY_{a.name.upper()}": OTHER for a in params.genesis.vesting}
    result = resolve_beneficiaries(params, {}, is_dev=False, test_accounts=[], environ=env)
    assert set(result.values()) == {OTHER}


def test_unknown_allocation_name_is_rejected(params: Parameters) -> None:
    with pytest.raises(DeployError, match=r"--beneficiary advisors is not a vesting allocation"):
        resolve_beneficiaries(params, {"advisors": OTHER}, is_dev=True, test_accounts=ACCOUNTS, environ={})
