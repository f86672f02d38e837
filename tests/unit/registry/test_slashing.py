"""jail, unjail, slash, set_parameters: roles, events, effects, reverts."""

from __future__ import annotations

import boa
import pytest

from tests.utils.registry import RELAY, finish_epoch, fund, now, send_rewards

WAD = 10**18


def test_jail_removes_from_sampling_and_rewards(directory, registry, relay_node, actors, governance, token):
    until = now() + 86_400
    with boa.env.prank(governance):
        registry.jail(relay_node, until)
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Jailed")
    assert (ev.node, ev.until) == (relay_node, until)
    n = directory.nodes(relay_node)
    assert n.jailed and n.jailed_until == until and n.weight == 0
    assert registry.sample(RELAY, b"\x05" * 32, 3) == []
    send_rewards(token, registry, governance, 105 * WAD)
    finish_epoch(registry, actors.node_key)
    assert directory.pending_rewards(relay_node, relay_node) == 0
    # Heartbeats do not bring a jailed node back.
    assert directory.nodes(relay_node).weight == 0


def test_unjail_after_jail_time(directory, registry, relay_node, actors, governance):
    until = now() + 3600
    with boa.env.prank(governance):
        registry.jail(relay_node, until)
    with boa.env.prank(relay_node), boa.reverts("registry: still jailed"):
        registry.unjail()
    boa.env.time_travel(seconds=3600)
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
    with boa.env.prank(relay_node):
        registry.unjail()
        assert type(registry.get_logs()[0]).__name__ == "Unjailed"
    assert directory.is_eligible(relay_node) and registry.sample(RELAY, b"\x05" * 32, 3) == [relay_node]
    with boa.env.prank(relay_node), boa.reverts("registry: not jailed"):
        registry.unjail()


def test_jail_never_shortens(directory, registry, relay_node, governance):
    with boa.env.prank(governance):
        registry.jail(relay_node, now() + 1000)
        registry.jail(relay_node, now() + 10)
    assert directory.nodes(relay_node).jailed_until == now() + 1000


def test_jail_reverts(directory, registry, relay_node, governance, non_admin, alice):
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        registry.jail(relay_node, now() + 10)
    with boa.env.prank(governance), boa.reverts("registry: not registered"):
        registry.jail(alice, now() + 10)
    with boa.env.prank(governance), boa.reverts("registry: jail end in the past"):
        registry.jail(relay_node, now())
    # Jail ends are stored in 40 bits (year 36812).
    with boa.env.prank(governance), boa.reverts("registry: time out of range"):
        registry.jail(relay_node, 2**40)
    assert not directory.nodes(relay_node).jailed


def test_slash_cuts_pool_pays_reporter_burns_rest(
    directory, registry, relay_node, actors, governance, token, minimum, alice
):
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, 4 * minimum)
        registry.unbond(relay_node, 2 * minimum)
    supply = token.totalSupply()
    with boa.env.prank(governance):
        total = registry.slash(relay_node, WAD // 10, alice, WAD // 4)
        ev = next(e for e in registry.get_logs() if type(e).__name__ == "Slashed")
    # bonded 4m (2 self + 2 delegated), unbonding 2m: 10 % of each.
    assert ev.bonded_cut == 4 * minimum // 10 and ev.unbonding_cut == 2 * minimum // 10
    assert total == 6 * minimum // 10
    assert ev.reporter_amount == total // 4 and ev.burned == total - total // 4
    assert token.balanceOf(alice) == 10_000_000 * WAD + total // 4
    assert token.totalSupply() == supply - ev.burned
    n = directory.nodes(relay_node)
    assert n.bonded_assets == 36 * minimum // 10 and n.unbonding_assets == 18 * minimum // 10
    assert n.weight == n.bonded_assets // WAD  # whole CLUB, rounded down
    # Everyone in the pool lost the same fraction.
    assert registry.assets_of(relay_node, relay_node) == pytest.approx(18 * minimum // 10, abs=1)
    assert registry.assets_of(relay_node, actors.delegator) == pytest.approx(18 * minimum // 10, abs=1)
    assert registry.principal() == 36 * minimum // 10 + 18 * minimum // 10
    assert token.balanceOf(registry.address) >= registry.principal() + registry.reward_reserve()


def test_slash_below_minimum_makes_node_ineligible(directory, registry, relay_node, governance):
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD * 6 // 10, governance, 0)
    assert not directory.is_eligible(relay_node) and directory.nodes(relay_node).weight == 0
    # Staking back above the minimum restores it.
    with boa.env.prank(relay_node):
        registry.stake(10_000 * WAD)
    assert directory.is_eligible(relay_node)


def test_full_slash_kills_the_pool(directory, registry, relay_node, actors, token, governance, minimum):
    """A 100 % slash leaves shares worth nothing; the pool takes no new stake (the shares a new
    stake would need do not fit the packed pool word) and the node stays ineligible."""
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD, governance, 0)
    assert directory.nodes(relay_node).bonded_assets == 0
    assert not directory.is_eligible(relay_node)
    with boa.env.prank(relay_node), boa.reverts("registry: pool slashed out"):
        registry.stake(minimum)
    fund(token, registry, governance, actors.delegator, minimum)
    with boa.env.prank(actors.delegator), boa.reverts("registry: pool slashed out"):
        registry.delegate(relay_node, minimum)


def test_slash_reverts(registry, relay_node, governance, non_admin, alice):
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        registry.slash(relay_node, WAD // 10, non_admin, 0)
    with boa.env.prank(governance), boa.reverts("registry: not registered"):
        registry.slash(alice, WAD // 10, alice, 0)
    with boa.env.prank(governance), boa.reverts("registry: bad fraction"):
        registry.slash(relay_node, 0, alice, 0)
    with boa.env.prank(governance), boa.reverts("registry: bad fraction"):
        registry.slash(relay_node, WAD + 1, alice, 0)
    with boa.env.prank(governance), boa.reverts("registry: bad reporter share"):
        registry.slash(relay_node, WAD // 10, alice, WAD + 1)
    with boa.env.prank(governance), boa.reverts("registry: zero reporter"):
        registry.slash(relay_node, WAD // 10, "0x0000000000000000000000000000000000000000", 1)


def test_roles_are_the_timelocks(registry, governance, deployer):
    for role in ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE", "SLASHER_ROLE"):
        value = getattr(registry, role)()
        assert registry.hasRole(value, governance)
        assert not registry.hasRole(value, deployer)


def _params(p, **over):
    values = {
        "min_self_stake_per_kind": p.min_self_stake_per_kind_wei,
        "saturation_multiple": p.saturation_multiple,
        "unbonding_seconds": p.unbonding_seconds,
        "heartbeat_seconds": p.heartbeat_seconds,
        "commission_max_bps": p.commission_max_bps,
        "commission_max_change_bps": p.commission_max_change_bps,
        "commission_delay_seconds": p.commission_delay_seconds,
        "finalize_tip": p.finalize_tip_wei,
        "stream_seconds": 7 * 86_400,
    }
    values.update(over)
    return list(values.values())


def test_set_parameters(directory, registry, governance, params, relay_node, minimum):
    new = _params(
        params.registry,
        min_self_stake_per_kind=3 * minimum,
        heartbeat_seconds=7200,
        finalize_tip=1,
        stream_seconds=86_400,
    )
    with boa.env.prank(governance):
        registry.set_parameters(*new)
        ev = registry.get_logs()[-1]
    assert ev.min_self_stake_per_kind == 3 * minimum and ev.heartbeat_seconds == 7200 and ev.finalize_tip == 1
    assert registry.min_self_stake_per_kind() == 3 * minimum and registry.heartbeat_seconds() == 7200
    assert ev.stream_seconds == registry.stream_seconds() == 86_400
    # relay_node (2x the old minimum) is no longer eligible; poke takes it out.
    assert not directory.is_eligible(relay_node)
    registry.poke(relay_node)
    assert directory.nodes(relay_node).weight == 0


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"min_self_stake_per_kind": 0}, "registry: zero minimum"),
        ({"heartbeat_seconds": 0}, "registry: zero heartbeat"),
        ({"commission_max_bps": 10_001}, "registry: commission above 100%"),
        ({"heartbeat_seconds": 2**32}, "registry: period too long"),
        ({"unbonding_seconds": 2**32}, "registry: period too long"),
        ({"commission_delay_seconds": 2**32}, "registry: period too long"),
        ({"stream_seconds": 0}, "registry: zero stream period"),
        ({"stream_seconds": 2**32}, "registry: period too long"),
    ],
)
def test_set_parameters_reverts(registry, governance, params, over, reason):
    with boa.env.prank(governance), boa.reverts(reason):
        registry.set_parameters(*_params(params.registry, **over))


def test_set_parameters_role(registry, non_admin, params):
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        registry.set_parameters(*_params(params.registry))


def test_set_parameters_longest_periods(directory, registry, governance, params, relay_node, actors):
    """2**32 - 1 seconds is the longest period; a heartbeat then still fits the 40-bit time field."""
    longest = 2**32 - 1
    over = {"heartbeat_seconds": longest, "unbonding_seconds": longest, "commission_delay_seconds": longest}
    with boa.env.prank(governance):
        registry.set_parameters(*_params(params.registry, **over))
    assert registry.heartbeat_seconds() == longest
    with boa.env.prank(actors.node_key):
        registry.heartbeat()
    assert directory.nodes(relay_node).live_until == now() + longest


def test_full_slash_of_an_empty_bonded_pool_closes_the_node(
    directory, registry, relay_node, actors, governance, minimum
):
    """Issue 11, finding 2: everyone is unbonding when a 100 % slash comes. The bonded pool is
    empty (no shares), yet the node must take no new stake: a new unbonding entry would have to
    mint shares against an unbonding pool worth 0, so new stake could never leave again."""
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, minimum)
        registry.unbond(relay_node, directory.shares(relay_node, actors.delegator))
    with boa.env.prank(relay_node):
        registry.unbond(relay_node, directory.shares(relay_node, relay_node))
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD, governance, 0)
    n = directory.nodes(relay_node)
    assert (n.bonded_assets, n.bonded_shares, n.unbonding_assets) == (0, 0, 0) and n.unbonding_shares > 0
    with boa.env.prank(relay_node), boa.reverts("registry: pool slashed out"):
        registry.stake(2 * minimum)
    with boa.env.prank(actors.delegator), boa.reverts("registry: pool slashed out"):
        registry.delegate(relay_node, minimum)
    # The worthless entries still withdraw (0 CLUB), in any order, at any time.
    boa.env.time_travel(seconds=registry.unbonding_seconds())
    with boa.env.prank(actors.delegator):
        assert registry.withdraw(0) == 0
    with boa.env.prank(relay_node):
        assert registry.withdraw(0) == 0


def test_partial_slash_never_zeroes_a_pool(directory, registry, relay_node, actors, governance, minimum):
    """Issue 11, finding 2: a partial slash rounds its cut up, so it used to empty a pool of a few
    wei while its shares stayed: the next unbonding entry then had to mint shares against 0 assets
    ('amount out of range') and the stake behind it was locked until every worthless entry left."""
    with boa.env.prank(actors.delegator):
        registry.delegate(relay_node, minimum)
        registry.unbond(relay_node, 1)  # an entry worth 1 wei
    assert directory.nodes(relay_node).unbonding_assets == 1
    with boa.env.prank(governance):
        registry.slash(relay_node, WAD // 2, governance, 0)
    # The cut leaves the last wei (it is short of the asked half of 1 wei by half a wei).
    assert directory.nodes(relay_node).unbonding_assets == 1
    with boa.env.prank(actors.delegator):
        entry = registry.unbond(relay_node, directory.shares(relay_node, actors.delegator))
    assert registry.unbondings(actors.delegator, entry).shares > 0
    boa.env.time_travel(seconds=registry.unbonding_seconds())
    with boa.env.prank(actors.delegator):
        assert registry.withdraw(entry) == pytest.approx(minimum // 2, abs=2)
