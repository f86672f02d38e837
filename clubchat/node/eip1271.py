"""EIP-1271 signature checks for contract wallets, on-chain through the node's RPC.

The relay's sign-in first tries EOA recovery; only when that does not give the signing address
does it ask this verifier, which calls `isValidSignature(bytes32 hash, bytes signature)` on the
wallet and accepts the magic value 0x1626ba7e. A wallet without code, a revert, a wrong return
value, a busy verifier or an RPC failure all mean "not valid" (the sign-in is refused, never crashes
the relay).

Anyone can make the relay ask (a random signature for any address costs the attacker nothing), so:
- checks run on the verifier's own small thread pool, never the event loop's default pool that the
  registry cache and heartbeats use; `wait_for` cannot stop a thread, so a check that timed out keeps
  its slot until its RPC call returns, and when `max_pending` checks are running or queued, further
  ones are refused at once instead of piling up threads;
- the `eth_call` carries a gas cap (`gas_cap`): a wallet whose `isValidSignature` burns all the gas
  it is given costs the RPC node milliseconds, not a 30M-gas execution;
- "no code at this address" answers are cached (bounded, with expiry), so repeated attempts for an
  EOA cost one `eth_getCode`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eth_abi import encode
from eth_utils import to_checksum_address

log = logging.getLogger("clubchat.eip1271")

MAGIC_VALUE = bytes.fromhex("1626ba7e")  # also the selector of isValidSignature(bytes32,bytes)


class Eip1271Verifier:
    """`ContractWalletVerifier` over web3.py: bounded pool, gas cap, cache of addresses without code."""

    def __init__(
        self,
        w3: Any,
        timeout: float = 5.0,
        *,
        gas_cap: int = 500_000,
        workers: int = 4,
        max_pending: int = 16,
        no_code_ttl: float = 600.0,
        no_code_max: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(timeout, gas_cap, workers, max_pending, no_code_ttl, no_code_max) <= 0:
            raise ValueError("EIP-1271 verifier: every limit must be positive")
        self.w3 = w3
        self.timeout = timeout
        self.gas_cap = gas_cap  # gas given to isValidSignature (Safe needs < 100k; 4337 wallets < 300k)
        self.max_pending = max(max_pending, workers)
        self.no_code_ttl = no_code_ttl
        self.no_code_max = no_code_max
        self.clock = clock
        self.stats = {"checks": 0, "busy": 0, "no-code-cached": 0, "timeouts": 0}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eip1271")
        self._pending = 0  # checks submitted to the pool whose thread has not returned yet
        self._lock = threading.Lock()  # guards _pending (decremented on the pool's threads)
        self._no_code: OrderedDict[str, float] = OrderedDict()  # lower-case address -> expiry

    def _check(self, wallet: str, message_hash: bytes, signature: bytes) -> bool | None:
        """True/False: the wallet's answer; None: the address has no code."""
        address = to_checksum_address(wallet)
        if not self.w3.eth.get_code(address):
            return None
        data = MAGIC_VALUE + encode(["bytes32", "bytes"], [message_hash, signature])
        try:
            result = bytes(self.w3.eth.call({"to": address, "data": data, "gas": self.gas_cap}))
        except Exception:  # reverts, out of gas and RPC errors alike: not a valid signature
            return False
        # an ABI-encoded bytes4 is left-aligned in one 32-byte word
        return len(result) == 32 and result[:4] == MAGIC_VALUE and not any(result[4:])

    def _release(self, _: object) -> None:
        with self._lock:
            self._pending -= 1

    def _cached_no_code(self, key: str) -> bool:
        expiry = self._no_code.get(key)
        if expiry is None:
            return False
        if expiry <= self.clock():
            del self._no_code[key]
            return False
        return True

    def _remember_no_code(self, key: str) -> None:
        self._no_code[key] = self.clock() + self.no_code_ttl
        self._no_code.move_to_end(key)
        while len(self._no_code) > self.no_code_max:  # bound: drop the oldest answers first
            self._no_code.popitem(last=False)

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        key = wallet.lower()
        if self._cached_no_code(key):
            self.stats["no-code-cached"] += 1
            return False
        with self._lock:
            if self._pending >= self.max_pending:
                busy = True
            else:
                busy = False
                self._pending += 1
        if busy:  # the pool is saturated (slow RPC or hostile wallets): refuse, do not queue threads
            self.stats["busy"] += 1
            return False
        self.stats["checks"] += 1
        future = self._pool.submit(self._check, wallet, message_hash, signature)
        future.add_done_callback(self._release)
        try:
            answer = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            self.stats["timeouts"] += 1
            log.warning("EIP-1271 check of %s timed out after %s s", wallet, self.timeout)
            return False
        except Exception as exc:  # RPC down: refuse this sign-in, keep serving
            log.warning("EIP-1271 check of %s failed: %s", wallet, exc)
            return False
        if answer is None:
            self._remember_no_code(key)
            return False
        return answer

    def close(self) -> None:
        """Stop the pool's threads once their calls return (queued checks are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
