"""Local-chain conveniences for the quickstart: fund an account from genesis, move the clock.

They refuse to run unless the RPC serves a local development chain (chain id 31337, anvil's and
ape's default, or 1337, Ganache's and geth --dev's): on a live network CLUB comes from a vesting
escrow, a governance grant or a purchase, never from impersonating the treasury.

- `fund`: CLUB from the treasury's genesis allocation (the Timelock, impersonated on anvil) and
  ETH from anvil's first pre-funded account;
- `advance_time`: `evm_increaseTime` then `evm_mine`, so the next block carries the new time.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3 import Web3

from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Web3Sender, send_call

LOCAL_CHAIN_IDS = (31337, 1337)


class LocalChainError(RuntimeError):
    """A live network, a node without anvil's methods, or too little in the treasury; the message says why."""


def require_local(w3: Web3, what: str) -> int:
    """The chain id, or LocalChainError when it is not one of LOCAL_CHAIN_IDS."""
    chain_id = int(w3.eth.chain_id)
    if chain_id not in LOCAL_CHAIN_IDS:
        raise LocalChainError(
            f"{what} works only on a local development chain (chain id 31337 or 1337); this RPC serves "
            f"chain {chain_id}, where CLUB comes from a vesting escrow, a governance grant or a purchase"
        )
    return chain_id


def _rpc(w3: Web3, method: str, params: list[object]) -> None:
    reply = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in reply:
        raise LocalChainError(f"the node does not support {method} ({reply['error']}); use anvil")


@dataclass(frozen=True)
class Funded:
    address: str
    club_wei: int
    eth_wei: int
    club_balance_wei: int
    eth_balance_wei: int


def fund(w3: Web3, manifest: Manifest, address: str, club_wei: int, eth_wei: int) -> Funded:
    """Send `club_wei` CLUB from the treasury and `eth_wei` ETH from anvil's first account to `address`."""
    require_local(w3, "funding from the genesis allocations")
    to = to_checksum_address(address)
    token = manifest.contract(w3, "ClubToken")
    if club_wei:
        treasury = to_checksum_address(manifest.treasury)  # holds the treasury + liquidity allocations
        held = int(token.functions.balanceOf(treasury).call())
        if held < club_wei:
            raise LocalChainError(f"the treasury holds only {held / 10**18:,.0f} CLUB; ask for less")
        _rpc(w3, "anvil_impersonateAccount", [treasury])
        _rpc(w3, "anvil_setBalance", [treasury, hex(max(int(w3.eth.get_balance(treasury)), 10**18))])
        try:
            send_call(Web3Sender(w3, treasury), token.functions.transfer(to, club_wei))
        finally:
            _rpc(w3, "anvil_stopImpersonatingAccount", [treasury])
    if eth_wei:
        Web3Sender(w3, w3.eth.accounts[0]).send(to, b"", eth_wei)
    return Funded(
        to, club_wei, eth_wei, int(token.functions.balanceOf(to).call()), int(w3.eth.get_balance(to))
    )


def advance_time(w3: Web3, seconds: int) -> int:
    """Move the local chain's clock `seconds` forward and mine a block; returns the new block time."""
    require_local(w3, "moving the clock")
    if seconds < 0:
        raise ValueError("the clock only moves forward")
    _rpc(w3, "evm_increaseTime", [int(seconds)])
    _rpc(w3, "evm_mine", [])
    return int(w3.eth.get_block("latest")["timestamp"])
