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
- the slots are shared out: one address holds at most `per_wallet` of them, and addresses not yet
  known to have code (a flood of random addresses) at most half the threads and `unknown_rate`
  checks per second (which also bounds the RPC calls such a flood costs), so wallets checked before
  keep getting checked during a flood;
- the `eth_call` carries a gas cap (`gas_cap`): a wallet whose `isValidSignature` burns all the gas
  it is given costs the RPC node milliseconds, not a 30M-gas execution; it is sent as a raw
  request (web3's transaction validation would add an `eth_chainId` call to each);
- "no code at this address" answers are cached (bounded, with expiry), so repeated attempts for an
  EOA cost one `eth_getCode`; so are "has code" answers, so a known wallet costs one `eth_call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, OrderedDict
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
        per_wallet: int = 2,
        unknown_rate: float = 20.0,
        no_code_ttl: float = 600.0,
        no_code_max: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (
            min(timeout, gas_cap, workers, max_pending, per_wallet, unknown_rate, no_code_ttl, no_code_max)
            <= 0
        ):
            raise ValueError("EIP-1271 verifier: every limit must be positive")
        self.w3 = w3
        self.timeout = timeout
        self.gas_cap = gas_cap  # gas given to isValidSignature (Safe needs < 100k; 4337 wallets < 300k)
        self.max_pending = max(max_pending, workers, 2)
        self.per_wallet = per_wallet
        self.unknown_cap = max(1, workers // 2)  # threads checks of not-yet-known addresses may hold
        self.unknown_rate = unknown_rate  # checks of not-yet-known addresses per second (burst: 2 s worth)
        self._unknown_tokens = 2 * unknown_rate
        self._unknown_updated = clock()
        self.no_code_ttl = no_code_ttl
        self.no_code_max = no_code_max
        self.clock = clock
        self.stats = {"checks": 0, "busy": 0, "no-code-cached": 0, "timeouts": 0}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eip1271")
        # checks submitted to the pool whose thread has not returned yet (event-loop thread only)
        self._pending = 0
        self._pending_unknown = 0  # of those, for addresses not known to have code
        self._by_wallet: Counter[str] = Counter()
        # lower-case address -> expiry of the answer "no code" / "has code"
        self._no_code: OrderedDict[str, float] = OrderedDict()
        self._has_code: OrderedDict[str, float] = OrderedDict()

    def _check(self, wallet: str, message_hash: bytes, signature: bytes, known: bool) -> bool | None:
        """True/False: the wallet's answer; None: the address has no code (asked unless `known`)."""
        address = to_checksum_address(wallet)
        if not known and not self.w3.eth.get_code(address):
            return None
        data = MAGIC_VALUE + encode(["bytes32", "bytes"], [message_hash, signature])
        tx = {"to": address, "data": "0x" + data.hex(), "gas": hex(self.gas_cap)}
        try:
            reply = self.w3.provider.make_request("eth_call", [tx, "latest"])
            result = bytes.fromhex(str(reply["result"]).removeprefix("0x"))
        except Exception:  # reverts (an "error" reply), out of gas, RPC errors: not a valid signature
            return False
        # an ABI-encoded bytes4 is left-aligned in one 32-byte word
        return len(result) == 32 and result[:4] == MAGIC_VALUE and not any(result[4:])

    def _fresh(self, cache: OrderedDict[str, float], key: str) -> bool:
        expiry = cache.get(key)
        if expiry is None:
            return False
        if expiry <= self.clock():
            del cache[key]
            return False
        return True

    def _remember(self, cache: OrderedDict[str, float], key: str) -> None:
        cache[key] = self.clock() + self.no_code_ttl
        cache.move_to_end(key)
        while len(cache) > self.no_code_max:  # bound: drop the oldest answers first
            cache.popitem(last=False)

    def _admit(self, key: str) -> bool | None:
        """Take a slot: None when refused, else whether the address is known to have code."""
        known = self._fresh(self._has_code, key)
        if self._pending >= self.max_pending or self._by_wallet[key] >= self.per_wallet:
            return None
        if not known:
            now = self.clock()
            burst = 2 * self.unknown_rate
            self._unknown_tokens = min(
                burst, self._unknown_tokens + (now - self._unknown_updated) * self.unknown_rate
            )
            self._unknown_updated = now
            if self._pending_unknown >= self.unknown_cap or self._unknown_tokens < 1:
                return None
            self._unknown_tokens -= 1
        self._pending += 1
        self._pending_unknown += not known
        self._by_wallet[key] += 1
        return known

    def _release(self, key: str, known: bool) -> None:
        self._pending -= 1
        self._pending_unknown -= not known
        self._by_wallet[key] -= 1
        if not self._by_wallet[key]:
            del self._by_wallet[key]

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        key = wallet.lower()
        if self._fresh(self._no_code, key):
            self.stats["no-code-cached"] += 1
            return False
        known = self._admit(key)
        if known is None:  # no slot (slow RPC or hostile wallets): refuse, do not queue threads
            self.stats["busy"] += 1
            return False
        self.stats["checks"] += 1
        loop = asyncio.get_running_loop()

        def done(_: object) -> None:  # on a pool thread, when the RPC calls have returned
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to count
                loop.call_soon_threadsafe(self._release, key, known)

        future = self._pool.submit(self._check, wallet, message_hash, signature, known)
        future.add_done_callback(done)
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
            self._remember(self._no_code, key)
            return False
        self._remember(self._has_code, key)
        return answer

    def close(self) -> None:
        """Stop the pool's threads once their calls return (queued checks are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
