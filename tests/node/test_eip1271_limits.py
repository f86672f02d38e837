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
    """The two RPC calls the verifier makes: eth_getCode and eth_call."""

    def __init__(self) -> None:
        self.get_code_calls: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.burning = 0  # burner calls running right now
        self.max_burning = 0
        self.release = threading.Event()  # set: the burner's calls return
        self._lock = threading.Lock()

    def get_code(self, address: str) -> bytes:
        self.get_code_calls.append(address)
        return b"\x60\x00" if address in (wallet, burner) else b""

    def call(self, tx: dict[str, Any]) -> bytes:
        self.calls.append(tx)
        if tx["to"] == burner:
            with self._lock:
                self.burning += 1
                self.max_burning = max(self.max_burning, self.burning)
            self.release.wait(30)
            with self._lock:
                self.burning -= 1
            raise ValueError("out of gas")
        assert tx["data"][:4] == MAGIC_VALUE
        return encode(["bytes4"], [MAGIC_VALUE])


class FakeW3:
    def __init__(self) -> None:
        self.eth = FakeEth()


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
    assert tx["gas"] == 123_456 and tx["to"] == wallet
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
    verifier = Eip1271Verifier(w3, timeout=0.2, workers=2, max_pending=4)

    async def scenario() -> tuple[list[bool], str]:
        loop = asyncio.get_running_loop()
        # 12 attempts against the burner at once: they time out, their threads stay busy
        burns = await asyncio.gather(
            *(verifier.is_valid_signature(burner, HASH, b"\x02" * 65) for _ in range(12))
        )
        # 4 were let in (the rest refused at once); the 2 queued ones were dropped at their timeout,
        # the 2 running threads are held until the RPC returns
        assert verifier.stats["busy"] == 8 and verifier._pending == 2
        # the registry cache / heartbeat work on the default pool is not stuck behind them
        chain_job = await asyncio.wait_for(loop.run_in_executor(None, lambda: "synced"), 10)
        assert not await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # no free thread: times out
        w3.eth.release.set()
        for _ in range(200):
            if verifier._pending == 0:
                break
            await asyncio.sleep(0.02)
        ok = await verifier.is_valid_signature(wallet, HASH, b"\x01" * 65)  # served again
        return [*burns, ok], chain_job

    try:
        results, chain_job = run(scenario())
    finally:
        w3.eth.release.set()
        verifier.close()
    assert chain_job == "synced"
    assert results[:12] == [False] * 12 and results[12] is True
    assert w3.eth.max_burning <= 2  # never more threads in the burner than the pool has
    assert verifier.stats["timeouts"] == 5


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="every limit must be positive"):
        Eip1271Verifier(FakeW3(), gas_cap=0)
