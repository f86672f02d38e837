"""`club message` sends the wallet's signed head of the conversation after the text, sealed, and the
recipient's `club listen` compares it with its own, as processes on a private anvil with the registry
and Disputes and a relay that forks every room (tests.node.misbehaving_relay, in its own process).

In a one-way conversation each side's own chain is consistent (the relay shows Alice her entries and
Bob another chain of his), so the fork is caught only by comparing heads: the text sent with
`--no-head` leaves no trace in Bob's store, the next text's head gives Bob the two signed entries of
its place, kept once, from which `club report` proves the fork on chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.client.test_listen_call_history import (
    _chain_args,
    _club,
    _env,
    _listening,
    _misbehaving_relay,
    _register,
    _report_slashes,
    _store,
    _wait,
    _with_disputes,
    alice,
    bob,
)
from tests.node.chain_env import chain

pytestmark = [pytest.mark.integration]


def test_a_forking_relay_between_two_club_message_users_is_caught_through_the_head(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        op, key = _with_disputes(c, "message-fork")
        with _misbehaving_relay(c, "fork", op, key, tmp_path / "fork.sqlite") as uri:
            _register(c, op, key, uri)
            bob_store = _store(c, bob, tmp_path / "bob")
            with _listening(c, tmp_path / "bob", tmp_path / "received") as events:
                assert events[0]["relays"] == [uri]
                quiet = _club(
                    ["message", bob.address, "first", "--no-head", *_chain_args(c), "--k", "1"],
                    _env(alice, tmp_path / "alice"),
                )
                assert json.loads(quiet.stdout) == {
                    "id": json.loads(quiet.stdout)["id"],
                    "status": "delivered",
                    "relay": uri,
                    "head_seq": None,
                }
                _wait("the first text", lambda: any(e["event"] == "message" for e in events), seen=events)
                sent = _club(
                    ["message", bob.address, "second", *_chain_args(c), "--k", "1"],
                    _env(alice, tmp_path / "alice"),
                )
                out = json.loads(sent.stdout)
                assert (out["status"], out["relay"], out["head_seq"]) == ("delivered", uri, 2)
                assert "warning" not in sent.stderr  # Alice's own view of the room is consistent
                _wait(
                    "the proof in Bob's store",
                    lambda: any("evidence" in r for r in bob_store.rows()),
                    seen=events,
                )
                _wait("both texts", lambda: sum(e["event"] == "message" for e in events) == 2, seen=events)
                # The head went to the history check, not to Bob as a message.
                assert [e["text"] for e in events if e["event"] == "message"] == ["first", "second"]
                warned = [e for e in events if e["event"] == "history"]
                assert [(e["problem"], e["relay"], e["seq"]) for e in warned] == [("fork", uri, 2)]
                assert "signed two different histories" in warned[0]["message"]
            rows = bob_store.rows()
            # One head reached Bob (the `--no-head` text sent none; envelopes through one relay keep
            # their order, so it would have come before this one), and its fork is kept once.
            assert [r["entry"]["seq"] for r in rows if r.get("foreign")] == [2]
            (evidence,) = [r["evidence"] for r in rows if "evidence" in r]
            assert evidence["kind"] == "equivocation" and evidence["node"] == op.address
            assert evidence["a"]["entry"]["seq"] == evidence["b"]["entry"]["seq"] == 2
            assert evidence["a"]["entry"] != evidence["b"]["entry"]
        # Bob reports the fork from his store alone: the relay's operator is slashed and jailed.
        _report_slashes(c, bob_store, op, "message-reporter")
