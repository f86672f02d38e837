"""Operator access to NodeRegistry: register, stake, delegate, unbond, withdraw, claim, heartbeat, status.

web3.py over the deployment manifest (no ape at run time); `scripts/nodes.py` and the node software
call this package.
"""

from clubchat.nodes.api import (
    KINDS,
    NOTIFY,
    RELAY,
    TURN,
    TURN_CREDENTIAL,
    LocalSender,
    NodeRegistryClient,
    NodeSpec,
    NodeStatus,
    RegistryError,
    Sender,
    UnbondingEntry,
    parse_kinds,
)
from clubchat.nodes.status import status_table

__all__ = [
    "KINDS",
    "NOTIFY",
    "RELAY",
    "TURN",
    "TURN_CREDENTIAL",
    "LocalSender",
    "NodeRegistryClient",
    "NodeSpec",
    "NodeStatus",
    "RegistryError",
    "Sender",
    "UnbondingEntry",
    "parse_kinds",
    "status_table",
]
