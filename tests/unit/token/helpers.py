"""Constants and log helpers shared by the ClubToken unit and fuzz tests."""

from __future__ import annotations

from typing import Any

import boa
from eth_utils import keccak

CLUB = 10**18
CAP = 1_000_000_000 * CLUB
MAX_UINT256 = 2**256 - 1
ZERO = "0x0000000000000000000000000000000000000000"
MINTER_ROLE = keccak(text="MINTER_ROLE")
DEFAULT_ADMIN_ROLE = b"\x00" * 32

# topic0 of the events, from OpenZeppelin's exact signatures (what indexers filter on).
TOPIC_TRANSFER = int.from_bytes(keccak(text="Transfer(address,address,uint256)"), "big")
TOPIC_APPROVAL = int.from_bytes(keccak(text="Approval(address,address,uint256)"), "big")
TOPIC_DELEGATE_CHANGED = int.from_bytes(keccak(text="DelegateChanged(address,address,address)"), "big")
TOPIC_DELEGATE_VOTES_CHANGED = int.from_bytes(
    keccak(text="DelegateVotesChanged(address,uint256,uint256)"), "big"
)

MISSING_ROLE = "access_control: account is missing role"


def deploy_token(deployer: str, cap: int = CAP, name: str = "Club Token", version: str = "1") -> Any:
    """A fresh ClubToken; `deployer` holds DEFAULT_ADMIN_ROLE and MINTER_ROLE."""
    from tests.utils.deployer import deployer_for

    with boa.env.prank(deployer):
        return deployer_for("ClubToken").deploy(name, "CLUB", cap, name, version)


def events(contract: Any, name: str) -> list[Any]:
    """Decoded logs called `name` from the contract's last call, in emission order."""
    return [e for e in contract.get_logs() if type(e).__name__ == name]


def event_names(contract: Any) -> list[str]:
    return [type(e).__name__ for e in contract.get_logs()]


def raw_logs(contract: Any) -> list[Any]:
    """Undecoded log entries (address, topics, data) of the contract's last call, in order."""
    from boa.contracts.event_decoder import RawLogEntry

    return [RawLogEntry(*e) for e in sorted(contract._computation.get_raw_log_entries())]


def now() -> int:
    return int(boa.env.evm.patch.timestamp)


def warp(seconds: int) -> None:
    """Advance the chain clock (and block number) by `seconds`; zero keeps the timestamp."""
    if seconds:
        boa.env.time_travel(seconds=seconds)
