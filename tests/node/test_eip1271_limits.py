"""EIP-1271 checks against hostile wallets and sign-in floods, with a stand-in RPC (no chain needed):
the verifier's own bounded pool (the default pool of the registry cache and heartbeats stays free),
refusal instead of piling up threads, a gas cap on the eth_call and a bounded, expiring cache of
addresses without code."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account

from clubchat.node.eip1271 import MAGIC_VALUE, Eip1271Verifier
from tests.node.harness import run

wallet = Account.from_key("0x" + "77" * 32).address  # has code in the stand-in chain
burner = Account.from_key("0x" + "88" * 32).address  # has code; isValidSignature never returns in time
HASH = b"\x11" * 32


class FakeEth:
    """The two RPC calls the verifier makes: eth_getCode and (raw) eth_call."""

    def __init__(self) -> None:
        self.get_code_calls: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.burning = 0  # calls blocked right now (the burner's, and get_code of `slow` addresses)
        self.max_burning = 0
        self.release = threading.Event()  # set: blocked calls return
        self.slow: set[str] = set()  # addresses whose eth_getCode hangs until `release`
        self._lock = threading.Lock()

    def _block(self) -> None:
        with self._lock:
            self.burning += 1
            self.max_burning = max(self.max_burning, self.burning)
        self.release.wait(30)
        with self._lock:
            self.burning -= 1

    def get_code(self, address: str) -> bytes:
        self.get_code_calls.append(address)
        if address in self.slow:
            self._block()
        return b"\x60\x00" if address in (wallet, burner) else b""

    def call(self, tx: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(tx)
        if tx["to"] == burner:
            self._block()
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "out of gas"}}
        assert tx["data"][:10] == "0x" + MAGIC_VALUE.hex()
        return {"jsonrpc": "2.0", "id": 1, "result": "0x" + encode(["bytes4"], [MAGIC_VALUE]).hex()}


class FakeProvider:
    def __init__(self, eth: FakeEth) -> None:
        self.eth = eth

    def make_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        assert method == "eth_call" and params[1] == "latest"
        return self.eth.call(params[0])


class FakeW3:
    def __init__(self) -> None:
        self.eth = FakeEth()
        self.provider = FakeProvider(self.eth)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eth_call_carries_a_gas_cap_and_the_wallet_answer_counts() -> None:
    w3 = FakeW3()
    verifier = Eip1271Verifier(w3, gas_cap=123_456)
    assert run(verifier.is_valid_signature(wallet, HASH, b"\x01" * 65))
    (tx,) = w3.eth.calls
    assert int(tx["gas"], 16) == 123_456 and tx["to"] == wallet
    assert run(verifier.is_valid_signature(wallet, HASH, b"\x01" * 65))
    assert w3.eth.get_code_calls == [wallet] and len(w3.eth.calls) == 2  # known to have code: one call
    verifier.close()


def test_addresses_without_code_are_cached_bounded_and_expire() -> None:
    w3, clock = FakeW3(), Clock()
    verifier = Eip1271Verifier(w3, no_code_ttl=60, no_code_max=2, clock=clock)
    eoa = [Account.create().address for _ in range(3)]

    async def attempts() -> None:
        for _ in range(5):  # a flood of random signatures for one EOA: one eth_getCode
            assert not await verifier.is_valid_signature(eoa[0], HASH, b"\x00" * 65)
        assert w3.eth.get_code_calls == [eoa[0]]
        clock.now += 61  # expired: asked again
        assert not await verifier.is_valid_signature(eoa[0], HASH, b"\x00" * 65)
        assert len(w3.eth.get_code_calls) == 2
        for address in eoa[1:]:  # two more addresses push the oldest out of the 2-entry cache
            assert not await verifier.is_valid_signature(address, HASH, b"\x00" * 65)
        assert not await verifier.is_valid_signature(eoa[0], HASH, b"\x00" * 65)
        assert len(w3.eth.get_code_calls) == 5 and len(verifier._no_code) == 2

    run(attempts())
    assert verifier.stats["no-code-cached"] == 4
    verifier.close()


def test_hanging_wallet_checks_hold_only_their_own_pool_and_excess_is_refused_at_once() -> None:
    w3 = FakeW3()
    verifier = Eip1271Verifier(w3, timeout=0.2, workers=4, max_pending=8, per_wallet=2)

    async def scenario() -> tuple[list[bool], str]:
        loop = asyncio.get_running_loop()
        assert await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # signed in before
        # 12 attempts against the burner at once: 2 get a slot (per wallet), the rest are refused
        burns = await asyncio.gather(
            *(verifier.is_valid_signature(burner, HASH, b"\x02" * 65) for _ in range(12))
        )
        assert verifier.stats["busy"] == 10 and verifier._pending == 2  # held until the RPC returns
        # the registry cache / heartbeat work on the default pool is not stuck behind them
        chain_job = await asyncio.wait_for(loop.run_in_executor(None, lambda: "synced"), 10)
        honest = await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # a free thread: served
        w3.eth.release.set()
        for _ in range(200):
            if verifier._pending == 0:
                break
            await asyncio.sleep(0.02)
        assert verifier._pending == 0 and not verifier._by_wallet
        return [*burns, honest], chain_job

    try:
        results, chain_job = run(scenario())
    finally:
        w3.eth.release.set()
        verifier.close()
    assert chain_job == "synced"
    assert results == [False] * 12 + [True]
    assert w3.eth.max_burning == 2  # never more threads in the burner than its share
    assert verifier.stats["timeouts"] == 2


def test_a_flood_of_unknown_addresses_gets_half_the_threads_and_a_bounded_rate() -> None:
    w3, clock = FakeW3(), Clock()
    verifier = Eip1271Verifier(w3, timeout=0.3, workers=4, max_pending=16, unknown_rate=5, clock=clock)
    randoms = [Account.create().address for _ in range(30)]
    w3.eth.slow.update(randoms)  # a slow RPC for them: their threads stay busy

    async def scenario() -> bool:
        assert await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # known from before
        flood = await asyncio.gather(*(verifier.is_valid_signature(a, HASH, b"\x00" * 65) for a in randoms))
        assert flood == [False] * 30
        assert w3.eth.max_burning == 2 and verifier.stats["busy"] == 28  # half of the 4 threads
        return await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # the other half

    try:
        assert run(scenario())
        w3.eth.release.set()
        # the rate: 2 s worth of tokens (10) at most, then 5 per second of the clock
        fresh = [Account.create().address for _ in range(40)]

        async def burst() -> list[bool]:
            out = []
            for a in fresh:  # one at a time: only the rate refuses
                out.append(await verifier.is_valid_signature(a, HASH, b"\x00" * 65))
            return out

        before = len(w3.eth.get_code_calls)
        run(burst())
        asked = len(w3.eth.get_code_calls) - before
        assert asked <= 10, asked
        clock.now += 1.0
        run(burst())
        assert len(w3.eth.get_code_calls) - before - asked <= 5
    finally:
        w3.eth.release.set()
        verifier.close()


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every limit must be positive"):
        Eip1271Verifier(FakeW3(), gas_cap=0)
