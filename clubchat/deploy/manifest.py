"""Building the deployment manifest that `ape run deploy` writes (`deployments/<network>.json`).

The format and its loader live in `clubchat.chain.manifest` (run-time code reads
manifests without ape); this module only assembles one from a deployment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eth_utils import to_checksum_address

from clubchat.chain.manifest import ContractRecord, Manifest
from clubchat.params import Parameters


def build_manifest(
    *,
    network: str,
    chain_id: int,
    records: Mapping[str, ContractRecord],
    params: Parameters,
    deployer: str,
    treasury: str,
    genesis_time: int,
    beneficiaries: Mapping[str, str],
    escrows: Mapping[str, str],
) -> Manifest:
    """A manifest of `records`; its `block` is the earliest deployment block (where indexers start)."""
    return Manifest(
        network=network,
        chain_id=chain_id,
        block=min((r.block for r in records.values()), default=0),
        contracts=dict(records),
        parameters=params.raw,
        deployer=str(to_checksum_address(deployer)),
        treasury=str(to_checksum_address(treasury)),
        genesis_time=genesis_time,
        beneficiaries={k: str(to_checksum_address(v)) for k, v in beneficiaries.items()},
        escrows={k: str(to_checksum_address(v)) for k, v in escrows.items()},
    )


def stale_reason(
    records: Mapping[str, ContractRecord],
    code_at: Callable[[str], bytes],
    matches_source: Callable[[str, bytes], bool],
) -> str | None:
    """Why a dev chain's manifest cannot be reused, or None when every contract is there unchanged.

    A restarted anvil hands out the same addresses again, possibly to other contracts when the
    plan's order changed, and an edited contract leaves old code behind: reusing such a manifest
    piecemeal would wire new contracts to old ones. `code_at(address)` is the code on chain,
    `matches_source(name, code)` whether it is the compiled contracts/**/<name>.vy.
    """
    missing: list[str] = []
    changed: list[str] = []
    for name, record in sorted(records.items()):
        code = code_at(record.address)
        if not code:
            missing.append(name)
        elif not matches_source(name, code):
            changed.append(name)
    reasons = []
    if missing:
        reasons.append(f"{', '.join(missing)} not on this chain (it was reset)")
    if changed:
        reasons.append(f"{', '.join(changed)} changed since deployed")
    return "; ".join(reasons) or None


def _flatten(node: Any, path: str = "") -> dict[str, Any]:
    """`{"registry.heartbeat_seconds": 3600, "genesis.vesting.team.cliff_days": 180, ...}`."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(node, list):
        out = {}
        for i, item in enumerate(node):
            label = item.get("name", i) if isinstance(item, dict) else i
            out.update(_flatten(item, f"{path}.{label}"))
        return out
    return {path: node}


def parameter_differences(deployed: Mapping[str, Any], requested: Mapping[str, Any]) -> list[str]:
    """`key: deployed -> requested` for every parameter that differs (empty when they agree)."""
    old, new = _flatten(dict(deployed)), _flatten(dict(requested))
    missing = object()
    return [
        f"{key}: {old.get(key, 'absent')} -> {new.get(key, 'absent')}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key, missing) != new.get(key, missing)
    ]
