"""`club listen` and `club call` check the relays' signed history as `club message` does, as processes
on a private anvil with the registry and Disputes:

- an honest relay (`club node run`, signing its history with its node key): the listener keeps the
  relay's signed entries of the messages it receives in its wallet's store and reports nothing;
- a relay process that signs with a key that is not its operator's node key
  (tests.node.misbehaving_relay): `club message` and Bob's listener both warn of the bad signature;
- a relay that forks every room (tests.node.misbehaving_relay, in its own process): Alice calls Bob
  through it and sends him her signed head after the call; Bob's listener prints a `history` event
  for the fork and keeps the two signed entries in his store, from which `club report` proves the
  fork on chain: the relay's operator is slashed and jailed. `club node probe` on the TURN node
  process passes its TURN check (a real coturn allocation) and fails it once the node is stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.chain.anvil import free_port
from clubchat.chain.tx import LocalSender, send_call
from clubchat.cli import main
from clubchat.client.history import HistoryStore, SignedEntry, default_store_path
from clubchat.node.localnet import free_port_range
from clubchat.node.process import NodeProcess
from clubchat.node.reviewer import reviewing_relay_args
from clubchat.params import load
from clubchat.protocol.log_entry import LogEntry, log_domain, log_entry_signer
from clubchat.registry.words import node_record
from tests.e2e.test_cli_call import _lines
from tests.node import misbehaving_relay
from tests.node.chain_env import WAD, Chain, chain
from tests.node.process import REPO

pytestmark = [pytest.mark.integration]

CLUB = str(Path(sys.executable).parent / "club")


def _account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-tests:listen-call-history:{name}"))


alice, bob = _account("alice"), _account("bob")


def _chain_args(c: Chain) -> list[str]:
    return ["--rpc", c.anvil.url, "--manifest", str(c.manifest_path)]


def _wait(what: str, done: Any, timeout: float = 60.0, seen: Any = None) -> None:
    """Poll `done()` until it holds; on timeout, fail naming `what` (and what `seen` then holds)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {seen}"
        time.sleep(0.1)


def _env(who: LocalAccount, home: Path) -> dict[str, str]:
    return {**os.environ, "CLUB_KEY": "0x" + bytes(who.key).hex(), "CLUB_HISTORY_DIR": str(home)}


@contextmanager
def _listening(c: Chain, home: Path, out: Path) -> Iterator[list[dict[str, Any]]]:
    """`club listen` for Bob (his history store under `home`); yields the JSON events it prints."""
    proc = subprocess.Popen(
        [CLUB, "listen", *_chain_args(c), "--k", "1", "--out", str(out)],
        cwd=REPO,
        env=_env(bob, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    events: list[dict[str, Any]] = []
    _lines(proc, events)
    try:
        _wait("club listen to start", lambda: bool(events) or proc.poll() is not None, 90)
        assert events and events[0]["event"] == "listening", proc.stderr.read() if proc.stderr else ""
        yield events
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def _club(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CLUB, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _store(c: Chain, who: LocalAccount, home: Path) -> HistoryStore:
    """The history store of `who`'s `club` commands run with CLUB_HISTORY_DIR=`home`."""
    with mock.patch.dict(os.environ, {"CLUB_HISTORY_DIR": str(home)}):
        path = default_store_path(int(c.w3.eth.chain_id), c.manifest.address("Disputes"), who.address)
    return HistoryStore(path)


def _signers(c: Chain, store: HistoryStore) -> set[str]:
    """The keys that signed the entries in `store`."""
    domain = log_domain(int(c.w3.eth.chain_id), c.manifest.address("Disputes"))
    out = set()
    for row in store.rows():  # bound: the store's lines
        if "entry" in row:
            signed = SignedEntry(
                LogEntry.from_json(row["entry"]), bytes.fromhex(row["sig"].removeprefix("0x"))
            )
            out.add(log_entry_signer(domain, signed.entry, signed.signature()))
    return out


def test_listen_keeps_an_honest_relays_signed_history(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[attr-defined]
        c.with_disputes()
        op, key, port = _account("honest-op"), _account("honest-key"), free_port()
        c.register_relay(op, key, load().registry.min_self_stake_per_kind_wei * 2, f"ws://127.0.0.1:{port}")
        for who in (alice, bob):
            c.fund(who.address, 0)
        rpc = c.anvil.url
        node = NodeProcess(
            tmp_path / "relay", *reviewing_relay_args(port, rpc, str(c.manifest_path), op.address, key)
        )
        try:
            _wait(
                "the relay's first heartbeat",
                lambda: node.status().get("chain", {}).get("heartbeats", 0) >= 1,
            )
            with _listening(c, tmp_path / "bob", tmp_path / "received") as events:
                for text in ("one", "two", "three"):
                    sent = _club(
                        ["message", bob.address, text, *_chain_args(c), "--k", "1"],
                        _env(alice, tmp_path / "alice"),
                    )
                    assert json.loads(sent.stdout)["status"] == "delivered"
                    assert "warning" not in sent.stderr
                _wait("three messages", lambda: sum(e["event"] == "message" for e in events) == 3)
                bob_store = _store(c, bob, tmp_path / "bob")
                _wait("Bob's store", lambda: len(bob_store.rows()) >= 1)
                assert [e for e in events if e["event"] == "history"] == []
            # Bob's listener kept what the relay signed for him, signed by the relay's node key.
            assert _signers(c, bob_store) == {key.address}
            assert all(row["relay"] == f"ws://127.0.0.1:{port}" for row in bob_store.rows())
            assert _signers(c, _store(c, alice, tmp_path / "alice")) == {key.address}
        finally:
            node.stop()


def test_a_relay_signing_with_another_key_is_warned_about(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        c.with_disputes()
        op, key, impostor = _account("wrong-op"), _account("wrong-key"), _account("impostor")
        for who in (alice, bob):
            c.fund(who.address, 0)
        with _misbehaving_relay(c, "sign", op, impostor, tmp_path / "log.sqlite") as uri:
            c.register_relay(op, key, load().registry.min_self_stake_per_kind_wei * 2, uri)
            send_call(LocalSender(c.w3, key), c.registry.functions.heartbeat())
            with _listening(c, tmp_path / "bob", tmp_path / "received") as events:
                sent = _club(
                    ["message", bob.address, "hello", *_chain_args(c), "--k", "1"],
                    _env(alice, tmp_path / "alice"),
                )
                assert json.loads(sent.stdout)["status"] == "delivered"  # delivered, and warned about
                assert f"warning: relay {uri}, message 1: its signature is not the node's key" in sent.stderr
                _wait(
                    "Bob's listener to warn",
                    lambda: any(e["event"] == "history" for e in events),
                    seen=events,
                )
                (warned,) = [e for e in events if e["event"] == "history"]
                assert (warned["problem"], warned["relay"], warned["seq"]) == ("bad-signature", uri, 1)
                _wait("the message", lambda: any(e["event"] == "message" for e in events), seen=events)
                assert [e["text"] for e in events if e["event"] == "message"] == ["hello"]
        # Nothing the impostor key signed is kept as the relay's history.
        assert _store(c, bob, tmp_path / "bob").rows() == []
        assert _store(c, alice, tmp_path / "alice").rows() == []


def _turn_node(c: Chain, tmp_path: Path) -> NodeProcess:
    """A TURN node (coturn) registered and run with `club node register` / `club node run`."""
    per_kind = c.registry.functions.min_self_stake_per_kind().call() // WAD
    operator, key = _account("turn-op"), _account("turn-key")
    c.fund(operator.address, 3 * per_kind)
    c.fund(key.address, 0)
    port, tp = free_port_range(1), free_port_range(42)
    result = CliRunner().invoke(
        main,
        [
            "node",
            "register",
            *_chain_args(c),
            "--node-key",
            "0x" + bytes(key.key).hex(),
            "--stake",
            str(2 * per_kind),
            "--kinds",
            "turn",
            "--turn-uri",
            f"turn:127.0.0.1:{tp}?transport=udp",
            "--credential-uri",
            f"http://127.0.0.1:{port}/turn-credentials",
        ],
        env={"CLUB_OPERATOR_KEY": "0x" + bytes(operator.key).hex()},
    )
    assert result.exit_code == 0, result.output
    return NodeProcess(
        tmp_path / "turn",
        "--kinds", "turn", "--port", str(port), "--turn-port", str(tp), "--turn-min-port", str(tp + 1),
        "--turn-max-port", str(tp + 40), *_chain_args(c), "--operator", operator.address,
        "--node-key", "0x" + bytes(key.key).hex(),
        timeout=90,
    )  # fmt: skip


def _misbehaving_relay(c: Chain, mode: str, op: LocalAccount, key: LocalAccount, db: Path) -> Any:
    """tests.node.misbehaving_relay in MODE for `op`, signing with `key`; yields its URI."""
    return misbehaving_relay.running(c, mode, op, key, db)


def _with_disputes(c: Chain, name: str) -> tuple[LocalAccount, LocalAccount]:
    """A block a second (`club report` waits for one), Disputes, Alice and Bob funded; returns the
    operator and node key of the relay `name` (registered once its URI is known: `_register`)."""
    c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[attr-defined]
    c.with_disputes()
    for who in (alice, bob):
        c.fund(who.address, 0)
    return _account(f"{name}-op"), _account(f"{name}-key")


def _register(c: Chain, op: LocalAccount, key: LocalAccount, uri: str) -> None:
    """The relay at `uri` registered for `op` with node key `key`, live after one heartbeat."""
    c.register_relay(op, key, load().registry.min_self_stake_per_kind_wei * 2, uri)
    send_call(LocalSender(c.w3, key), c.registry.functions.heartbeat())


def _report_slashes(c: Chain, store: HistoryStore, op: LocalAccount, reporter: str) -> None:
    """`club report` from `store` alone proves one fork of `op`'s relay: slashed and jailed."""
    who = _account(reporter)
    c.fund(who.address, 0)
    pool = node_record(c.registry, op.address)[10]
    argv = ["report", "--store", str(store.path), "--rpc-url", c.anvil.url]
    argv += ["--network", str(c.manifest_path), "--key", "0x" + bytes(who.key).hex()]
    out = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert out.output.count("proven") == 1 and f"fork of {op.address} proven" in out.output
    assert node_record(c.registry, op.address)[3] is True  # jailed
    assert node_record(c.registry, op.address)[10] < pool


def test_a_call_through_a_forking_relay_is_caught_by_the_listener_and_reported(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        op, key = _with_disputes(c, "fork")
        turn = _turn_node(c, tmp_path)
        try:
            with _misbehaving_relay(c, "fork", op, key, tmp_path / "fork.sqlite") as uri:
                _register(c, op, key, uri)
                _wait(
                    "the TURN node's first heartbeat",
                    lambda: turn.status().get("chain", {}).get("heartbeats", 0) >= 1,
                )
                with _listening(c, tmp_path / "bob", tmp_path / "received") as events:
                    assert events[0]["relays"] == [uri]
                    call = _club(
                        ["call", bob.address, *_chain_args(c), "--k", "1", "--seconds", "1"],
                        _env(alice, tmp_path / "alice"),
                    )
                    report = json.loads(call.stdout)
                    assert report["connected"] is True and report["relay_endpoint"] == uri
                    assert report["head_sent"] is True
                    # The relay showed Alice her own signaling on one chain and Bob's on the other:
                    # her client sees entries that do not follow each other and warns.
                    assert report["history_problems"], report
                    assert all("relay " + uri in p for p in report["history_problems"])
                    assert "warning: relay " + uri in call.stderr
                    _wait(
                        "Bob's listener to see the fork", lambda: any(e["event"] == "history" for e in events)
                    )
                    warned = [e for e in events if e["event"] == "history"]
                    # Bob's own view breaks too (his and Alice's signaling are on different chains).
                    assert {e["problem"] for e in warned} <= {"prev-mismatch", "gap", "fork"}
                    assert all(e["relay"] == uri for e in warned)
                    bob_store = _store(c, bob, tmp_path / "bob")
                    _wait(
                        "the proof in Bob's store",
                        lambda: any("evidence" in r for r in bob_store.rows()),
                        seen=events,
                    )
                    assert any(
                        "signed two different histories" in e["message"]
                        for e in events
                        if e["event"] == "history"
                    )
            # Bob reports the fork from his store alone: the relay's operator is slashed and jailed.
            _report_slashes(c, bob_store, op, "reporter")

            # `club node probe` on the TURN node process: its coturn allocates; stopped, it fails.
            turn_op = _account("turn-op").address
            serving = _probe(c, turn_op)
            assert "turn     ok" in serving and "verdict: keep" in serving
            turn.stop()
            stopped = _probe(c, turn_op)
            assert "turn     FAIL" in stopped and "verdict: kick" in stopped
        finally:
            turn.stop()


def _probe(c: Chain, node: str) -> str:
    argv = [
        "node",
        "probe",
        node,
        "--timeout",
        "3",
        "--rpc-url",
        c.anvil.url,
        "--network",
        str(c.manifest_path),
    ]
    out = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return out.output
