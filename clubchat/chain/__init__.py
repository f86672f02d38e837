"""Run-time chain access: deployment manifests, typed web3.py handles and sending transactions (no ape).

Typical use: `w3 = connect(url)`, `manifest = load_manifest("local")`, then
`manifest.contract(w3, "ClubToken")` gives a web3.py contract with its ABI. Transactions go
through a `Sender` (`clubchat.chain.tx`); EIP-712 signatures come from `clubchat.chain.eip712`.
The ape-account sender lives apart, in `clubchat.chain.ape_sender`, so run-time code never loads ape.
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
from clubchat.chain.tx import LocalSender, Sender, TransactionFailed, Web3Sender, send_call

__all__ = [
    "ChainConnectionError",
    "ContractRecord",
    "LocalSender",
    "Manifest",
    "ManifestError",
    "Sender",
    "TransactionFailed",
    "Web3Sender",
    "connect",
    "load_manifest",
    "manifest_name",
    "manifest_path",
    "send_call",
]
