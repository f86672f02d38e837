"""NodeRegistry from Python: the one client for operators, nodes, clients, the demo and the scripts.

- `kinds`: the `Kind` flag enum (RELAY, TURN, NOTIFY) and parsing of kind names;
- `client`: `NodeRegistryClient`, one method per operator action (register, stake, delegate,
  unbond, withdraw, claim, heartbeat), a typed `status` snapshot, and `check_registration`;
- `heartbeat`: a node key's heartbeat loop;
- `cache`: `RegistryCache`, the node's confirmation-depth event cache;
- `discovery`: the `Discovery` views a client needs, stake-weighted sampling and rendezvous;
- `status`: the `status` table `ape run nodes status` prints.

web3.py over the deployment manifest (no ape at run time); transactions go through a
`clubchat.chain.Sender`.
"""

from clubchat.registry.cache import CachedNode, RegistryCache
from clubchat.registry.client import (
    NodeRegistryClient,
    NodeStatus,
    Registration,
    UnbondingEntry,
    check_registration,
)
from clubchat.registry.discovery import (
    Discovery,
    InMemoryDiscovery,
    NodeRecord,
    RegistryDiscovery,
    address_seed,
    rendezvous,
)
from clubchat.registry.heartbeat import HeartbeatStatus, heartbeat_loop
from clubchat.registry.kinds import (
    KIND_NAMES,
    NOTIFY,
    RELAY,
    TURN,
    TURN_CREDENTIAL,
    Kind,
    RegistryError,
    kind_names,
    parse_kinds,
)
from clubchat.registry.status import status_table

__all__ = [
    "KIND_NAMES",
    "NOTIFY",
    "RELAY",
    "TURN",
    "TURN_CREDENTIAL",
    "CachedNode",
    "Discovery",
    "HeartbeatStatus",
    "InMemoryDiscovery",
    "Kind",
    "NodeRecord",
    "NodeRegistryClient",
    "NodeStatus",
    "Registration",
    "RegistryCache",
    "RegistryDiscovery",
    "RegistryError",
    "UnbondingEntry",
    "address_seed",
    "check_registration",
    "heartbeat_loop",
    "kind_names",
    "parse_kinds",
    "rendezvous",
    "status_table",
]
