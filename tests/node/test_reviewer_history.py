"""Reviewers answer a flag for withholding history with the flagger's evidence, end to end on
loopback: two `club node run` reviewers on a private anvil, and the flagged node's relay in its own
process (tests.node.misbehaving_relay). The flagger talks to a peer through the relay; on a device
without that history it sees the relay's signed entry 3 and asks for entries 1-2 with `history`.

- A withholding relay produces none of them: the refusal is kept in the flagger's store, `club
  dispute flag --attach` writes it to a file and flags with its file:// URI; each reviewer fetches
  it, checks the relay's signatures with the node's registered key, finds the relay withholding its
  own room's history too, and votes kick: the node is kicked.
- A relay that withholds ONE room only, the flagger's: `club dispute flag --attach --peer` adds the
  flagger's signed grant to read that room; the reviewers' own rooms are served, but asked with the
  grant the relay withholds the flagger's room from them too: kicked. Flagged without the grant
  (no --peer), the same relay is kept: the reviewers see only rooms of their own (what reviewers
  could do before grants).
- An honest relay, flagged with evidence that claims an entry it signed is missing (a false flag),
  with the flagger's grant: the evidence is well signed, but the relay produces its history to the
  reviewers, in their rooms and in the flagger's: the flag is rejected.
- A relay (with community rooms fed from the chain) that withholds one community room only: the
  flagger's room client keeps the refusal of `room-history`, `club dispute flag --attach --community`
  adds its grant for the room; the reviewers check the flagger is a member, ask with `room-history`
  and the grant, find the room withheld and kick the node.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from clubchat.chain.anvil import free_port
from clubchat.chain.tx import LocalSender, send_call, send_tx
from clubchat.cli import main
from clubchat.client.history import HistoryBook, HistoryStore, registry_keys
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.communities.rooms import RoomClient
from clubchat.deploy.plan import Deployment, deploy_communities
from clubchat.disputes.evidence import FlagEvidence
from clubchat.node.process import NodeProcess
from clubchat.node.reviewer import reviewing_relay_args
from clubchat.params import load
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import ANYONE, Grant, HistoryGrant, grant_domain
from clubchat.protocol.log_entry import direct_room
from clubchat.registry.words import node_record
from tests.node import misbehaving_relay
from tests.node.chain_env import Chain, chain

pytestmark = [pytest.mark.integration]

KICKED, REJECTED = 3, 4


def _account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-tests:reviewer-history:{name}"))


@contextmanager
def _reviewers(c: Chain, tmp: Path) -> Iterator[list[NodeProcess]]:
    """Short phases (a panel of 2, 8 s to commit and to reveal, no cool-down) and two reviewing
    nodes, each enlisted by its software."""
    disputes = c.manifest.contract(c.w3, "Disputes")
    p = list(disputes.functions.parameters().call())
    p[5], p[9], p[10], p[16] = 2, 8, 8, 0  # panel_size, vote_commit/reveal_seconds, cool-down
    send_call(LocalSender(c.w3, c.backend.account), disputes.functions.set_parameters(tuple(p)))
    stake = load().registry.min_self_stake_per_kind_wei * 2
    rpc = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    procs: list[NodeProcess] = []
    try:
        for i in range(2):
            op, key, port = _account(f"op{i}"), _account(f"key{i}"), free_port()
            c.register_relay(op, key, stake, f"ws://127.0.0.1:{port}")
            args = reviewing_relay_args(port, rpc, str(c.manifest_path), op.address, key)
            procs.append(NodeProcess(tmp / f"node{i}", *args))
        deadline = time.monotonic() + 60
        while not all(disputes.functions.enlisted(_account(f"op{i}").address).call() for i in range(2)):
            assert time.monotonic() < deadline, "the reviewers did not enlist"
            time.sleep(0.5)
        yield procs
    finally:
        for proc in procs:
            proc.stop()


async def _ask_below_head(
    book: HistoryBook, ask: Awaitable[None], pending: Callable[[], object]
) -> HistoryBook:
    """The book's one head is the relay's entry 3: `ask` for entries 1-2 and wait until the relay
    answered (`pending` is empty), at most 15 s; returns the book."""
    [head] = book.heads()
    assert head.entry.seq == 3
    await ask
    deadline = time.monotonic() + 15
    while pending() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return book


def _talk(c: Chain, uri: str, flagger: LocalAccount, peer: LocalAccount, store: Path) -> HistoryBook:
    """The flagger sends its peer two messages through the relay, then a third from a device that
    holds none of that history (its store starts empty): the relay's signed entry 3 shows entries
    1-2 exist, and the device asks the relay for them with `history`; returns that device's book."""
    chain_id, disputes = int(c.w3.eth.chain_id), c.manifest.address("Disputes")

    async def run() -> HistoryBook:
        a = await RelayClient.connect(uri, flagger)
        b = await RelayClient.connect(uri, peer)
        try:
            for text in ("one", "two"):
                await a.send(peer.address, m.Text(body=text))
                await b.receive(10)
            await a.close()
            book = HistoryBook(chain_id, disputes, registry_keys(c.registry), store=HistoryStore(store))
            a = await RelayClient.connect(uri, flagger, history=book)
            await a.send(peer.address, m.Text(body="three"))
            await b.receive(10)
            return await _ask_below_head(book, a.ask_history(peer.address, 1, 2), lambda: a._asked)
        finally:
            await a.close()
            await b.close()

    return asyncio.run(run())


def _club(args: list[str]) -> str:
    out = CliRunner().invoke(main, args, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return out.output


def _wait_status(c: Chain, dispute_id: int, timeout: float = 120.0) -> Any:
    disputes = c.manifest.contract(c.w3, "Disputes")
    deadline = time.monotonic() + timeout
    while True:
        d = disputes.functions.disputes(dispute_id).call()
        if d[2] in (KICKED, REJECTED, 5) or time.monotonic() > deadline:
            return d
        time.sleep(0.5)


def _reviews(procs: list[NodeProcess], dispute_id: int) -> list[dict[str, Any]]:
    out = []
    for proc in procs:
        path = proc.data_dir / "reviews.jsonl"
        if path.exists():
            out += [
                r for r in map(json.loads, path.read_text().splitlines()) if r["dispute_id"] == dispute_id
            ]
    return out


# The grant modes ("withhold-room", "withhold-room-without-grant") run from
# tests/node/test_reviewer_history_grant.py: a file of their own, so the suite's two workers share
# these slow anvil cases (pytest-xdist hands out whole files).
@pytest.mark.parametrize("mode", ["withhold", "sign"])
def test_reviewers_use_the_flaggers_evidence_of_withheld_history(mode: str, tmp_path: Path) -> None:
    review_withheld_history(mode, tmp_path)


def review_withheld_history(mode: str, tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
        c.with_disputes()
        op, key = _account("target-op"), _account("target-key")
        flagger, peer = _account("flagger"), _account("peer")
        c.fund(flagger.address, 10_000)
        store, evidence = tmp_path / "flagger-history.jsonl", tmp_path / "evidence.json"
        rpc = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        common = [
            "--rpc-url",
            rpc,
            "--network",
            str(c.manifest_path),
            "--key",
            "0x" + bytes(flagger.key).hex(),
        ]
        flag = ["dispute", "flag", op.address, "--reason", "withholding-history", *common]
        relay_mode = mode.removesuffix("-without-grant")
        room = direct_room(flagger.address, peer.address)
        with (
            _reviewers(c, tmp_path) as reviewers,
            misbehaving_relay.running(c, relay_mode, op, key, tmp_path / "relay.sqlite", room) as uri,
        ):
            c.register_relay(op, key, load().registry.min_self_stake_per_kind_wei * 2, uri)
            send_call(LocalSender(c.w3, key), c.registry.functions.heartbeat())
            book = _talk(c, uri, flagger, peer, store)
            if mode != "sign":
                # The relay signed entries 1 and 2 and produced neither when asked: a refusal, kept.
                assert [e.missing for e in book.evidence] == [(1, 2)]
                grant = ["--peer", peer.address] if mode == "withhold-room" else []
                out = _club([*flag, "--attach", str(evidence), "--store", str(store), *grant])
                assert "missing 1-2" in out
                assert ("grant: reviewers may read that room" in out) is bool(grant)
            else:
                # The honest relay produced both; a false flagger claims entry 1 is missing anyway,
                # with the relay's real signature over entry 3 and its grant to read the room.
                assert book.evidence == []
                [head] = book.heads()
                assert head.entry.seq == 3
                domain = grant_domain(int(c.w3.eth.chain_id), c.manifest.address("Disputes"))
                g = HistoryGrant(op.address, room, flagger.address, ANYONE, int(time.time()) + 3600)
                sig = bytes(flagger.sign_typed_data(full_message=g.typed_data(domain)).signature)
                FlagEvidence(op.address, head, (1, 1), (), Grant.of(g, sig), peer.address).write(evidence)
                out = _club([*flag, "--evidence", evidence.as_uri()])
            dispute_id = int(out.split("dispute ")[-1].split()[0])
            d = _wait_status(c, dispute_id)
            seen = _reviews(reviewers, dispute_id)
        assert len(seen) == 2, seen
        kicked = mode in ("withhold", "withhold-room")
        for review in seen:
            checks = {ch["check"]: ch for ch in review["checks"]}
            # Every flag carries well-signed evidence; the relay serves sign-in and envelopes either way.
            assert checks["relay"]["ok"] and checks["evidence"]["ok"], review
            # Only the relay that withholds every room withholds the reviewers' own rooms.
            assert checks["history"]["ok"] is (mode != "withhold"), review
            if mode in ("withhold-room", "sign"):  # with the grant: the flagger's room itself
                assert checks["room"]["ok"] is (mode == "sign"), review
            else:
                assert "room" not in checks
            assert review["verdict"] == ("kick" if kicked else "keep"), review
        if mode == "withhold":
            assert "withheld" in seen[0]["checks"][-1]["detail"]
        if mode == "withhold-room":
            assert "withheld: asked with the flagger's grant" in seen[0]["checks"][-1]["detail"]
        if kicked:
            assert d[2] == KICKED, d
            assert node_record(c.registry, op.address)[3] is True  # jailed
        else:
            assert d[2] == REJECTED, d


def _with_community(c: Chain, members: list[str]) -> int:
    """Communities (and Premium) deployed and saved in the manifest, and an open community of the
    deployer with `members`; returns its id."""
    dep = Deployment(treasury=c.backend.deployer, genesis_time=c.backend.timestamp())
    dep.contracts.update(ClubToken=c.token, NodeRegistry=c.registry)
    deploy_communities(c.backend, load(), dep)
    c.manifest.contracts.update(c.backend.records)
    c.manifest.save(c.manifest_path)
    communities, owner = dep.contracts["Communities"], c.backend.account
    c.fund(owner.address, 1_000)
    send_tx(c.w3, owner, c.token.functions.approve(communities.address, 2**256 - 1))
    receipt = send_tx(c.w3, owner, communities.functions.create(owner.address, 1, 0, False))
    (created,) = communities.events.CommunityCreated().process_receipt(receipt, errors=DISCARD)
    cid = int(created["args"]["community_id"])
    send_tx(c.w3, owner, communities.functions.add_members(cid, members))
    return cid


def _post_in_room(c: Chain, uri: str, flagger: LocalAccount, cid: int, store: Path) -> HistoryBook:
    """The flagger posts twice to the community room, then once from a device without that history:
    the relay's signed entry 3 shows entries 1-2 exist, and the device asks for them with
    `room-history`; returns that device's book."""
    chain_id, disputes = int(c.w3.eth.chain_id), c.manifest.address("Disputes")

    async def run() -> HistoryBook:
        deadline = time.monotonic() + 30
        while True:  # until the relay's feed knows the community
            a = await RoomClient.connect(uri, flagger)
            assert isinstance(a, RoomClient)
            try:
                await a.join(cid)
                break
            except RelayError:
                await a.close()
                assert time.monotonic() < deadline, "the relay never learned the community"
                await asyncio.sleep(0.5)
        for text in ("b25l", "dHdv"):
            await a.send_room(cid, m.RoomSealed(epoch=1, ct=text))
        await a.close()
        book = HistoryBook(chain_id, disputes, registry_keys(c.registry), store=HistoryStore(store))
        d = await RoomClient.connect(uri, flagger, history=book)
        assert isinstance(d, RoomClient)
        try:
            await d.send_room(cid, m.RoomSealed(epoch=1, ct="dGhyZWU="))
            asked = d.ask_room_history(cid, m.DEFAULT_ROOM, 1, 2)
            return await _ask_below_head(book, asked, lambda: d._room_asked)
        finally:
            await d.close()

    return asyncio.run(run())


def test_reviewers_read_a_withheld_community_room_with_the_flaggers_grant(tmp_path: Path) -> None:
    """A relay withholds one community room's history only: its refusal, kept by the flagger's room
    client, goes into `club dispute flag --attach --community`; the reviewers check that the flagger
    is a member now, ask the relay for the room with `room-history` and the grant, find it withheld
    (their own rooms are served) and kick the node."""
    with chain(tmp_path) as c:
        c.w3.provider.make_request("evm_setIntervalMining", [1])  # type: ignore[arg-type]
        c.with_disputes()
        op, key = _account("target-op"), _account("target-key")
        flagger = _account("flagger")
        c.fund(flagger.address, 10_000)
        cid = _with_community(c, [flagger.address])
        store, evidence = tmp_path / "flagger-history.jsonl", tmp_path / "evidence.json"
        rpc = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        room = m.room_id(cid, m.DEFAULT_ROOM)
        with (
            _reviewers(c, tmp_path) as reviewers,
            misbehaving_relay.running(
                c, "withhold-room", op, key, tmp_path / "relay.sqlite", room, rooms=True
            ) as uri,
        ):
            c.register_relay(op, key, load().registry.min_self_stake_per_kind_wei * 2, uri)
            send_call(LocalSender(c.w3, key), c.registry.functions.heartbeat())
            book = _post_in_room(c, uri, flagger, cid, store)
            assert [e.missing for e in book.evidence] == [(1, 2)]
            out = _club(
                [
                    *("dispute", "flag", op.address, "--reason", "withholding-history"),
                    *("--rpc-url", rpc, "--network", str(c.manifest_path)),
                    *("--key", "0x" + bytes(flagger.key).hex()),
                    *("--attach", str(evidence), "--store", str(store), "--community", str(cid)),
                ]
            )
            assert "missing 1-2" in out and "grant: reviewers may read that room" in out
            written = json.loads(evidence.read_text())
            assert (written["community"], written["room"]) == (cid, m.DEFAULT_ROOM)
            dispute_id = int(out.split("dispute ")[-1].split()[0])
            d = _wait_status(c, dispute_id)
            seen = _reviews(reviewers, dispute_id)
        assert len(seen) == 2, seen
        for review in seen:
            checks = {ch["check"]: ch for ch in review["checks"]}
            assert checks["relay"]["ok"] and checks["evidence"]["ok"], review
            assert checks["history"]["ok"], review  # the reviewers' own rooms are served
            assert not checks["room"]["ok"], review
            assert "withheld: asked with the flagger's grant" in checks["room"]["detail"], review
            assert review["verdict"] == "kick", review
        assert d[2] == KICKED, d
        assert node_record(c.registry, op.address)[3] is True  # jailed
