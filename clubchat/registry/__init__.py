"""NodeRegistry from Python: the one client for operators, nodes, clients, the demo and the scripts.

- `kinds`: the `Kind` flag enum (RELAY, TURN, NOTIFY) and parsing of kind names;
- `client`: `RegistryActions`, each operator action (register with the node key's consent, stake,
  delegate, unbond, withdraw, claim, heartbeat, finalize_epoch) and view defined once over a
  `clubchat.chain.port.Port` (web3.py or titanoboa), a typed `status` snapshot;
  `NodeRegistryClient`, the same over web3.py from a deployment manifest; `check_registration`;
- `heartbeat`: a node key's heartbeat loop;
- `cache`: `RegistryCache`, the node's confirmation-depth event cache;
- `discovery`: the `Discovery` views a client needs, stake-weighted sampling and rendezvous;
- `status`: the `status` table `ape run nodes status` prints.

web3.py over the deployment manifest (no ape at run time); transactions go through a
`clubchat.chain.Sender`. Contracts in the loop run the same `RegistryActions` in titanoboa.
"""

from clubchat.registry.cache import CachedNode, RegistryCache
from clubchat.registry.client import (
    NodeRegistryClient,
    NodeStatus,
    Registration,
    RegistryActions,
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
    "RegistryActions",
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
