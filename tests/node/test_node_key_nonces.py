"""One node key, several senders: the node software's heartbeats and its reviewer's transactions run
in different threads, each with its own `LocalSender` of the node key. They take their nonces under
the key's lock (clubchat.chain.tx), so on a chain that leaves transactions pending for a block every
one of them lands; without the lock two of them read the same pending nonce and one is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from clubchat.chain.port import Web3Port
from clubchat.chain.tx import LocalSender, send_call
from clubchat.node.reviewer import Reviewer
from clubchat.params import load
from clubchat.registry.client import RegistryActions
from clubchat.registry.heartbeat import TX_TIMEOUT
from tests.node.chain_env import Chain, chain

pytestmark = [pytest.mark.integration]

ROUNDS = 4


def _account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-tests:node-key-nonces:{name}"))


def _registered(c: Chain) -> tuple[LocalAccount, LocalAccount]:
    params = load()
    c.with_disputes()
    stake = params.registry.min_self_stake_per_kind_wei * 2
    op, key = _account("op"), _account("key")
    c.register_relay(op, key, stake, "wss://n.example")
    return op, key


def _together(*jobs: Callable[[], None]) -> list[BaseException]:
    """Run `jobs` in threads started at one instant; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], None]) -> None:
        start.wait()
        try:
            job()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_heartbeats_and_reviewer_transactions_of_one_key_all_land(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        op, key = _registered(c)
        # Blocks every second: a sent transaction stays pending meanwhile (as on a real chain).
        c.w3.provider.make_request("evm_setMining", [False])  # type: ignore[attr-defined]
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[attr-defined]
        before = c.w3.eth.get_transaction_count(Web3.to_checksum_address(key.address))
        # The heartbeat loop's sender (clubchat.registry.heartbeat) and the reviewer's own one.
        beats = RegistryActions(Web3Port(c.w3, LocalSender(c.w3, key, timeout=TX_TIMEOUT)), c.registry, None)
        reviewer = Reviewer(c.w3, c.manifest, op.address, key, tmp_path / "node")

        def heartbeats() -> None:
            for _ in range(ROUNDS):
                beats.heartbeat()

        def reviewer_txs() -> None:
            assert reviewer._enlist()  # Disputes.enlist, from the node key
            for _ in range(ROUNDS - 1):  # further node-key transactions of the reviewer's sender
                send_call(reviewer.client.sender, c.registry.functions.heartbeat())

        assert _together(heartbeats, reviewer_txs) == []
        after = c.w3.eth.get_transaction_count(Web3.to_checksum_address(key.address))
        assert after - before == 2 * ROUNDS  # every transaction mined, none replaced or dropped
        assert reviewer.disputes.functions.enlisted(op.address).call() is True
        beat_logs = c.registry.events.Heartbeat().get_logs(
            from_block=0, argument_filters={"node": op.address}
        )
        assert len(beat_logs) == 2 * ROUNDS - 1


def test_without_the_key_lock_the_same_race_loses_a_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: with each sender taking its nonce unlocked, the two threads read
    the same pending count and one transaction is refused."""

    class NoLock:
        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    with chain(tmp_path) as c:
        _, key = _registered(c)
        disputes = c.manifest.contract(c.w3, "Disputes")
        c.w3.provider.make_request("evm_setMining", [False])  # type: ignore[attr-defined]
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[attr-defined]
        monkeypatch.setattr(LocalSender, "key_lock", classmethod(lambda cls, address: NoLock()))
        both_read = threading.Barrier(2)
        count = c.w3.eth.get_transaction_count

        def read_then_wait(address: str, block: str = "latest") -> int:
            n = count(address, block)  # type: ignore[arg-type]
            if block == "pending":
                both_read.wait(10)  # each thread has its nonce before either submits
            return n

        monkeypatch.setattr(c.w3.eth, "get_transaction_count", read_then_wait)
        a, b = LocalSender(c.w3, key, timeout=10), LocalSender(c.w3, key, timeout=10)
        errors = _together(
            lambda: send_call(a, c.registry.functions.heartbeat()),
            lambda: send_call(b, disputes.functions.enlist()),
        )
        assert len(errors) == 1, errors
        assert any(w in str(errors[0]).lower() for w in ("nonce", "underpriced", "replacement")), errors


def test_the_key_lock_excludes_another_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second process on the same key (a manual `club dispute vote` beside `club node run`) waits for
    the lock: the parent gets it only after the child wrote that it is releasing it. Another key's
    lock is free meanwhile."""
    import subprocess
    import sys

    monkeypatch.setenv("CLUBCHAT_LOCK_DIR", str(tmp_path / "locks"))
    key, other = _account("key"), _account("other")
    marks = tmp_path / "marks"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\n"
            "from clubchat.chain.tx import LocalSender\n"
            "marks = pathlib.Path(sys.argv[2])\n"
            "with LocalSender.key_lock(sys.argv[1]):\n"
            "    marks.write_text('held')\n"
            "    time.sleep(1.0)\n"
            "    marks.write_text('released')\n",
            key.address,
            str(marks),
        ],
    )
    try:
        for _ in range(600):  # bound: 30 s for the child to start and take the lock
            if marks.exists() and marks.read_text():
                break
            threading.Event().wait(0.05)
        assert marks.read_text() == "held"
        with LocalSender.key_lock(other.address):  # another key: not blocked
            assert marks.read_text() == "held"
        with LocalSender.key_lock(key.address):
            assert marks.read_text() == "released"
    finally:
        child.wait(30)
    assert child.returncode == 0
