"""Building the deployment manifest that `ape run deploy` writes (`deployments/<network>.json`).

The format and its loader live in `clubchat.chain.manifest` (run-time code reads
manifests without ape); this module only assembles one from a deployment.
"""

from __future__ import annotations

from collections.abc import Mapping

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
