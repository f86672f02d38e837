"""Run-time chain access: deployment manifests and typed web3.py handles (no ape needed).

Typical use: `w3 = connect(url)`, `manifest = load_manifest("local")`, then
`manifest.contract(w3, "ClubToken")` gives a web3.py contract with its ABI.
"""

from clubchat.chain.manifest import (
    ContractRecord,
    Manifest,
    ManifestError,
    load_manifest,
    manifest_name,
    manifest_path,
)
from clubchat.chain.rpc import ChainConnectionError, connect

__all__ = [
    "ChainConnectionError",
    "ContractRecord",
    "Manifest",
    "ManifestError",
    "connect",
    "load_manifest",
    "manifest_name",
    "manifest_path",
]
