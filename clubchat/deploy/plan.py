"""The deployment plan: every contract, its constructor arguments and its wiring.

Each step is idempotent: a contract already in the manifest (and on chain) is
reused, and a wiring call is only sent when the chain does not already show its
effect. Both `ape run deploy` and the test deployer call `deploy_protocol`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clubchat.deploy.backend import Backend
from clubchat.params import Parameters

# keccak256("MINTER_ROLE") etc. are computed on chain; the plan reads them from the
# contracts instead of duplicating the constants here.


@dataclass
class Deployment:
    """Handles of everything deployed, keyed by contract name, plus who holds what."""

    contracts: dict[str, Any] = field(default_factory=dict)
    treasury: str = ""
    beneficiaries: dict[str, str] = field(default_factory=dict)
    escrows: dict[str, str] = field(default_factory=dict)
    genesis_time: int = 0

    def __getitem__(self, name: str) -> Any:
        return self.contracts[name]


def _get_or_deploy(backend: Backend, dep: Deployment, name: str, *args: Any) -> Any:
    handle = backend.existing(name)
    if handle is None:
        handle = backend.deploy(name, *args)
    dep.contracts[name] = handle
    return handle


def _resolve_receiver(dep: Deployment, name: str) -> str:
    """Address that receives the emission share called `name` in parameters.yaml.

    `node_rewards` goes to the NodeRegistry when it is part of the deployment;
    every other share is held by the treasury, which the DAO can redirect with
    `Emission.set_receivers`. `community_incentives` stays with the treasury:
    the Communities contract keeps no funds and has no way to pay anything out,
    so CLUB sent to it would be stuck.
    """
    contract_for = {"node_rewards": "NodeRegistry"}
    target = contract_for.get(name)
    if target is not None and target in dep.contracts:
        return str(dep.contracts[target].address)
    return dep.treasury


def token_constructor_args(params: Parameters) -> tuple[Any, ...]:
    """ClubToken's constructor arguments: name, symbol, cap, EIP-712 name and version."""
    t = params.token
    return (t.name, t.symbol, t.cap_wei, t.name, t.eip712_version)


def registry_constructor_args(
    params: Parameters, token: str, endpoint_rules: str, genesis_time: int
) -> tuple[Any, ...]:
    """NodeRegistry's constructor arguments: token, the EndpointRules contract, reward epochs from
    `genesis_time`, rewards streamed over Emission's epoch (`emission.epoch_seconds`), `registry:`
    values (the last, `kind_reward_bps`, the split of the stream between RELAY, TURN and NOTIFY)."""
    r = params.registry
    return (
        token,
        endpoint_rules,
        genesis_time,
        r.epoch_seconds,
        r.min_self_stake_per_kind_wei,
        r.saturation_multiple,
        r.unbonding_seconds,
        r.heartbeat_seconds,
        r.commission_max_bps,
        r.commission_max_change_bps,
        r.commission_delay_seconds,
        r.finalize_tip_wei,
        params.emission.epoch_seconds,
        list(r.kind_reward_bps),
    )


def deploy_foundation(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """ClubToken, Vesting (+ escrow implementation), Emission; genesis mint; minter wiring."""
    g, e = params.genesis, params.emission
    token = _get_or_deploy(backend, dep, "ClubToken", *token_constructor_args(params))
    escrow_impl = _get_or_deploy(backend, dep, "VestingEscrow")
    vesting = _get_or_deploy(
        backend, dep, "Vesting", backend.address(token), backend.address(escrow_impl), dep.treasury
    )
    if not dep.genesis_time:
        dep.genesis_time = backend.timestamp()
    # Before Emission: its `node_rewards` receiver is the registry's address.
    deploy_registry(backend, params, dep)
    receivers = [_resolve_receiver(dep, r.name) for r in e.receivers]
    weights = [r.weight_bps for r in e.receivers]
    emission = _get_or_deploy(
        backend,
        dep,
        "Emission",
        backend.address(token),
        e.rate_per_epoch_wad,
        e.epoch_seconds,
        e.tip_wei,
        dep.genesis_time + e.epoch_seconds,
        receivers,
        weights,
        # The bootstrap guard reads the registry's total stake and caps the share paid to it.
        backend.address(dep.contracts["NodeRegistry"]),
        e.bootstrap_multiple_wei,
        e.bootstrap_epochs,
    )

    minter_role = backend.call(token, "MINTER_ROLE")
    if not backend.call(token, "hasRole", minter_role, backend.address(emission)):
        backend.transact(token, "grantRole", minter_role, backend.address(emission))

    # Genesis distribution: only on a fresh token (a re-run reuses what was minted).
    if backend.call(token, "totalSupply") == 0:
        backend.transact(token, "mint", dep.treasury, g.treasury_wei + g.liquidity_wei)
        backend.transact(token, "mint", backend.deployer, g.vesting_total_wei)
        backend.transact(token, "approve", backend.address(vesting), g.vesting_total_wei)
        for alloc in g.vesting:
            beneficiary = dep.beneficiaries.get(alloc.name, dep.treasury)
            backend.transact(
                vesting,
                "create_vesting",
                beneficiary,
                alloc.amount_wei,
                dep.genesis_time,
                alloc.cliff_seconds,
                alloc.duration_seconds,
                alloc.revocable,
            )
    # Genesis escrows are created in allocation order, so escrow i belongs to allocation i.
    dep.escrows = {a.name: str(backend.call(vesting, "escrows", i)) for i, a in enumerate(g.vesting)}
    # The deployer's minting right exists only for the genesis distribution.
    if backend.call(token, "hasRole", minter_role, backend.deployer):
        backend.transact(token, "renounceRole", minter_role, backend.deployer)


def deploy_registry(backend: Backend, params: Parameters, dep: Deployment) -> Any:
    """EndpointRules, NodeRegistry, NodeDirectory; reward epochs start at genesis. Emission mints the node
    share straight to the registry.

    EndpointRules holds the registry's endpoint validation and NodeDirectory its paginated
    listing (`list_nodes`): separate contracts only to keep the registry under the EIP-170 code
    size limit. The registry keeps the rules' address as an immutable, the directory the
    registry's.
    """
    token = backend.address(dep.contracts["ClubToken"])
    rules = backend.address(_get_or_deploy(backend, dep, "EndpointRules"))
    registry = _get_or_deploy(
        backend, dep, "NodeRegistry", *registry_constructor_args(params, token, rules, dep.genesis_time)
    )
    _get_or_deploy(backend, dep, "NodeDirectory", backend.address(registry))
    return registry


# Every admin and parameter role of every protocol contract: the Timelock gets them all and
# the deployer keeps none (tests/integration/test_roles.py enumerates the roles from the
# ABIs and fails if an EOA still holds one, so a role missing here is caught).
# ClubToken's MINTER_ROLE is not listed: Emission holds it and nobody else should.
GOVERNED_ROLES: dict[str, tuple[str, ...]] = {
    "ClubToken": ("DEFAULT_ADMIN_ROLE",),
    "Emission": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE"),
    "Vesting": ("DEFAULT_ADMIN_ROLE", "VESTING_CREATOR_ROLE", "REVOKER_ROLE"),
    "ClientReleases": ("DEFAULT_ADMIN_ROLE", "RELEASE_MANAGER_ROLE"),
    "NodeRegistry": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE", "SLASHER_ROLE"),
    "Premium": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE"),
    "Communities": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE"),
    "AdMarket": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE"),
    "Disputes": ("DEFAULT_ADMIN_ROLE", "PARAMETER_ROLE"),
}

# Name of the governor (and its EIP-712 domain): what Tally shows and voters sign for.
GOVERNOR_NAME = "ClubGovernor"


def deploy_timelock(backend: Backend, params: Parameters, dep: Deployment) -> Any:
    """The Timelock, with the deployer as temporary admin and the executor role open.

    Deployed before the foundation because it is the treasury: genesis treasury tokens
    and revoked vesting go to it.
    """
    gv = params.governance
    zero = "0x0000000000000000000000000000000000000000"
    return _get_or_deploy(
        backend,
        dep,
        "Timelock",
        gv.timelock_delay_seconds,
        gv.grace_period_seconds,
        [],
        [zero],  # EXECUTOR_ROLE held by the zero address: anyone executes a ready operation
        backend.deployer,
    )


def deploy_governance(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """ClubGovernor (CLUB votes) as the Timelock's only proposer and canceller; ClientReleases."""
    gv = params.governance
    timelock = dep.contracts["Timelock"]
    governor = _get_or_deploy(
        backend,
        dep,
        "ClubGovernor",
        backend.address(dep.contracts["ClubToken"]),
        backend.address(timelock),
        GOVERNOR_NAME,
        gv.voting_delay_seconds,
        gv.voting_period_seconds,
        gv.proposal_threshold_bps,
        gv.quorum_numerator,
        gv.quorum_denominator,
        gv.late_quorum_extension_seconds,
    )
    _get_or_deploy(backend, dep, "ClientReleases")
    _grant_roles(backend, timelock, ("PROPOSER_ROLE", "CANCELLER_ROLE"), backend.address(governor))


def _grant_roles(backend: Backend, contract: Any, role_names: tuple[str, ...], holder: str) -> None:
    """Grant `holder` each role of `contract` it does not hold yet (a re-run sends nothing)."""
    for role_name in role_names:
        role = backend.call(contract, role_name)
        if not backend.call(contract, "hasRole", role, holder):
            backend.transact(contract, "grantRole", role, holder)


def deploy_communities(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """Premium (free tier at construction, paid tiers added in order) and Communities.

    Premium sends the node share of subscriptions to the NodeRegistry; Communities reads
    the registry (stake gates) and Premium (tier gates). Runs before the role hand-over:
    adding tiers needs the deployer's PARAMETER_ROLE.
    """
    token = backend.address(dep.contracts["ClubToken"])
    registry = backend.address(dep.contracts["NodeRegistry"])
    pm = params.premium
    premium = _get_or_deploy(
        backend,
        dep,
        "Premium",
        token,
        registry,
        pm.period_seconds,
        pm.burn_bps,
        pm.unlock_delay_seconds,
        list(pm.tiers[0].limits),
    )
    for number, tier in enumerate(pm.tiers[1:], start=1):
        if backend.call(premium, "tier_count") < number:
            backend.transact(premium, "set_tier", number, list(tier.limits), tier.price_wei, tier.lock_wei)
    _get_or_deploy(
        backend,
        dep,
        "Communities",
        token,
        registry,
        backend.address(premium),
        params.communities.creation_fee_wei,
    )


def ads_constructor_args(
    params: Parameters, token: str, registry: str, communities: str, premium: str
) -> tuple[Any, ...]:
    """AdMarket's constructor arguments: the contracts it reads, its EIP-712 domain, `ads:` values."""
    a = params.ads
    return (
        token,
        registry,
        communities,
        premium,
        a.eip712_name,
        a.eip712_version,
        a.split_bps,
        a.settlement_grace_seconds,
        a.request_burn_bps,
        a.request_timeout_seconds,
    )


def deploy_ads(backend: Backend, params: Parameters, dep: Deployment) -> Any:
    """AdMarket, reading ClubToken, NodeRegistry, Communities and Premium from the deployment.

    It holds no role on other contracts: it only escrows, pays and burns its own CLUB.
    """
    addr = {
        n: backend.address(dep.contracts[n]) for n in ("ClubToken", "NodeRegistry", "Communities", "Premium")
    }
    args = ads_constructor_args(
        params, addr["ClubToken"], addr["NodeRegistry"], addr["Communities"], addr["Premium"]
    )
    return _get_or_deploy(backend, dep, "AdMarket", *args)


def hand_over_admin(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """The one place where admin and parameter roles leave the deployer.

    snekmate's access_control has no pending-admin hand-over, so each contract goes in
    two steps: grant every role of `GOVERNED_ROLES` to the Timelock, check it holds them,
    then renounce the deployer's (DEFAULT_ADMIN_ROLE last, so a failed run can resume).
    Finally the deployer renounces its temporary admin role on the Timelock itself.
    """
    if "Timelock" not in dep.contracts:
        return
    timelock = dep.contracts["Timelock"]
    tl = backend.address(timelock)
    me = backend.deployer
    for name, role_names in GOVERNED_ROLES.items():
        if name not in dep.contracts:
            continue
        contract = dep.contracts[name]
        roles = [backend.call(contract, r) for r in role_names]
        for role in roles:
            if not backend.call(contract, "hasRole", role, tl):
                backend.transact(contract, "grantRole", role, tl)
            if not backend.call(contract, "hasRole", role, tl):
                raise RuntimeError(f"{name}: the Timelock did not receive a role; not renouncing")
        # DEFAULT_ADMIN_ROLE (first in each tuple) is renounced last.
        for role in reversed(roles):
            if backend.call(contract, "hasRole", role, me):
                backend.transact(contract, "renounceRole", role, me)
    admin = backend.call(timelock, "DEFAULT_ADMIN_ROLE")
    if backend.call(timelock, "hasRole", admin, me):
        backend.transact(timelock, "renounceRole", admin, me)


def deploy_disputes(backend: Backend, params: Parameters, dep: Deployment) -> Any:
    """Disputes (the relay log's EIP-712 verifying contract), with SLASHER_ROLE and DISPUTES_ROLE
    on the registry so it slashes, jails and freezes without a governance vote.

    Runs before `hand_over_admin`, while the deployer still administers the registry; the
    Timelock keeps its own SLASHER_ROLE as a backstop.
    """
    registry = dep.contracts["NodeRegistry"]
    disputes = _get_or_deploy(
        backend,
        dep,
        "Disputes",
        backend.address(dep.contracts["ClubToken"]),
        backend.address(registry),
        params.disputes.as_tuple(),
    )
    _grant_roles(backend, registry, ("SLASHER_ROLE", "DISPUTES_ROLE"), backend.address(disputes))
    return disputes


def deploy_protocol(
    backend: Backend,
    params: Parameters,
    *,
    beneficiaries: dict[str, str] | None = None,
    treasury: str | None = None,
    genesis_time: int = 0,
) -> Deployment:
    """Deploy (or complete) the whole protocol and return its handles.

    `genesis_time` is the vesting start and emission anchor; 0 means "now". A re-run
    passes the original one (from the manifest) so the record stays true.
    """
    dep = Deployment(
        treasury=treasury or "",
        beneficiaries=dict(beneficiaries or {}),
        genesis_time=genesis_time,
    )
    timelock = deploy_timelock(backend, params, dep)
    # The Timelock is the DAO treasury unless the caller names another one.
    dep.treasury = dep.treasury or backend.address(timelock)
    deploy_foundation(backend, params, dep)
    deploy_governance(backend, params, dep)
    deploy_communities(backend, params, dep)
    # The ad market reads Communities and Premium, deployed by the step before.
    deploy_ads(backend, params, dep)
    deploy_disputes(backend, params, dep)
    hand_over_admin(backend, params, dep)
    return dep
