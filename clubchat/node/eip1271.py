"""EIP-1271 signature checks for contract wallets, on-chain through the node's RPC.

The relay's sign-in first tries EOA recovery; only when that does not give the signing address
does it ask this verifier, which calls `isValidSignature(bytes32 hash, bytes signature)` on the
wallet and accepts the magic value 0x1626ba7e. A wallet without code, a revert, a wrong return
value or an RPC failure all mean "not valid" (the sign-in is refused, never crashes the relay).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from eth_utils import to_checksum_address

log = logging.getLogger("clubchat.eip1271")

MAGIC_VALUE = bytes.fromhex("1626ba7e")
ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]


class Eip1271Verifier:
    """`ContractWalletVerifier` over web3.py (each call in a worker thread, with a timeout)."""

    def __init__(self, w3: Any, timeout: float = 5.0) -> None:
        self.w3 = w3
        self.timeout = timeout

    def _check(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        address = to_checksum_address(wallet)
        if not self.w3.eth.get_code(address):
            return False
        contract = self.w3.eth.contract(address=address, abi=ABI)
        try:
            result = contract.functions.isValidSignature(message_hash, signature).call()
        except Exception:  # reverts and undecodable returns alike: not a valid signature
            return False
        return bytes(result) == MAGIC_VALUE

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(None, self._check, wallet, message_hash, signature), self.timeout
            )
        except Exception as exc:  # RPC down or slow: refuse this sign-in, keep serving
            log.warning("EIP-1271 check of %s failed: %s", wallet, exc)
            return False
