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
    shares whose contract does not exist yet are held by the treasury, which the
    DAO can redirect with `Emission.set_receivers`.
    """
    contract_for = {"node_rewards": "NodeRegistry", "community_incentives": "Communities"}
    target = contract_for.get(name)
    if target is not None and target in dep.contracts:
        return str(dep.contracts[target].address)
    return dep.treasury


def deploy_foundation(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """ClubToken, Vesting (+ escrow implementation), Emission; genesis mint; minter wiring."""
    t, g, e = params.token, params.genesis, params.emission
    token = _get_or_deploy(
        backend, dep, "ClubToken", t.name, t.symbol, t.cap_wei, t.name, t.eip712_version
    )
    escrow_impl = _get_or_deploy(backend, dep, "VestingEscrow")
    vesting = _get_or_deploy(
        backend, dep, "Vesting", backend.address(token), backend.address(escrow_impl), dep.treasury
    )
    if not dep.genesis_time:
        dep.genesis_time = backend.timestamp()
    receivers = [_resolve_receiver(dep, r.name) for r in e.receivers]
    weights = [r.weight_bps for r in e.receivers]
    emission = _get_or_deploy(
        backend,
        dep,
        "Emission",
        backend.address(token),
        params.emission_reserve_wei,
        e.rate_per_epoch_wad,
        e.epoch_seconds,
        e.tip_wei,
        dep.genesis_time + e.epoch_seconds,
        receivers,
        weights,
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


def hand_over_admin(backend: Backend, params: Parameters, dep: Deployment) -> None:
    """The one place where admin and parameter roles leave the deployer.

    Until the governance contracts are deployed the deployer keeps the admin roles
    of ClubToken, Emission and Vesting; the governance step moves every role held
    here to the Timelock and renounces the deployer's.
    """


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
        treasury=treasury or backend.deployer,
        beneficiaries=dict(beneficiaries or {}),
        genesis_time=genesis_time,
    )
    deploy_foundation(backend, params, dep)
    hand_over_admin(backend, params, dep)
    return dep
