"""A flagger's evidence of dropped or withheld history (clubchat.disputes.evidence): built from the
wallet's history store, fetched from file:// and http:// (loopback) with a size bound, parsed as
untrusted input, and checked against the node's keys, its room chain and the evidence window; the
flagger's grant to read the room in it (signed by a key or, EIP-1271, a contract wallet), and the
reviewer's probe of the flagger's room with it against a real relay."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.chain.eip712 import Signature
from clubchat.client.history import Evidence, HistoryStore, SignedEntry, entry_of
from clubchat.client.relay_client import RelayClient
from clubchat.disputes import evidence as ev
from clubchat.disputes import probe
from clubchat.disputes.cli import granted_room
from clubchat.node.eip1271 import MAGIC_VALUE
from clubchat.node.relay import RelayConfig
from clubchat.node.rooms import Rooms
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import ANYONE, Grant, HistoryGrant, eoa_signer, grant_domain
from clubchat.protocol.log_entry import LogEntry, direct_room, log_domain, log_entry_signer, sign_log_entry
from tests.crypto.test_rooms_e2e import ALICE, OWNER
from tests.crypto.test_rooms_e2e import CID as ROOMS_CID
from tests.crypto.test_rooms_e2e import _view as members_view
from tests.node.harness import LOG_CHAIN_ID, LOG_DISPUTES, LOG_OPERATOR, LOG_SIGNER, relay, run
from tests.node.misbehaving_relay import OneRoomWithheld
from tests.node.test_room_history import ROOM as ROOMS_ROOM
from tests.node.test_room_history import ask_posts, room_grant

DOMAIN = log_domain(31337, "0x" + "ab" * 20)
KEY = Account.from_key(keccak(text="clubchat-tests:evidence:key"))
OTHER = Account.from_key(keccak(text="clubchat-tests:evidence:other"))
NODE = Account.from_key(keccak(text="clubchat-tests:evidence:node")).address
ROOM = keccak(text="room")
NOW = 1_800_000_000
WINDOW = 7 * 86_400


def _chain(
    n: int, key: Any = KEY, node: str = NODE, t: int = NOW - 60, room: bytes = ROOM
) -> list[SignedEntry]:
    """Entries 1..n of `room`, chained, each signed by `key`."""
    out: list[SignedEntry] = []
    prev = b"\x00" * 32
    for seq in range(1, n + 1):
        e = LogEntry(node, room, seq, prev, keccak(text=f"body {seq}"), t)
        out.append(SignedEntry(e, sign_log_entry(bytes(key.key), DOMAIN, e).packed()))
        prev = e.struct_hash()
    return out


def signed_by(entry: LogEntry, sig: bytes) -> bool:
    """The node's only key is KEY."""
    try:
        signer = log_entry_signer(DOMAIN, entry, Signature(sig[64], sig[:32], sig[32:64]))
    except ValueError:
        return False
    return entry.node == NODE and signer == KEY.address


def _roundtrip(e: ev.FlagEvidence) -> ev.FlagEvidence:
    return ev.parse(json.dumps(e.to_json()).encode())


def test_a_refusal_below_a_signed_head_holds() -> None:
    entries = _chain(5)
    e = ev.FlagEvidence(NODE, entries[4], (3, 4), (entries[0], entries[1]))
    said = ev.check(_roundtrip(e), NODE, signed_by, WINDOW, now=NOW)
    assert "seq 5" in said and "seqs 3-4 exist" in said


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda c: ev.FlagEvidence(NODE, _chain(5, key=OTHER)[4], (3, 4)), "not signed by a node key"),
        (lambda c: ev.FlagEvidence(NODE, c[4], (3, 5)), "not below the signed head"),
        (lambda c: ev.FlagEvidence(NODE, c[4], (0, 2)), "not below the signed head"),
        (lambda c: ev.FlagEvidence(NODE, c[4], (4, 3)), "not below the signed head"),
        (lambda c: ev.FlagEvidence(NODE, c[4], (2, 3), (c[2],)), "given, yet called missing"),
        (
            lambda c: ev.FlagEvidence(NODE, _chain(5, t=NOW - WINDOW - 1)[4], (1, 2)),
            "older than the evidence",
        ),
        (lambda c: ev.FlagEvidence(NODE, _chain(5, t=NOW + 3600)[4], (1, 2)), "in the future"),
        (lambda c: ev.FlagEvidence(OTHER.address, c[4], (1, 2)), "not the flagged node"),
        (lambda c: ev.FlagEvidence(NODE, _chain(5, node=OTHER.address)[4], (1, 2)), "not of the flagged"),
        # Entry 4 of another chain does not lead to the head's entry 5.
        (lambda c: ev.FlagEvidence(NODE, c[4], (1, 2), (_fake4(),)), "does not follow"),
    ],
)
def test_evidence_that_does_not_hold_is_refused(build: Any, why: str) -> None:
    with pytest.raises(ev.EvidenceError, match=why):
        ev.check(_roundtrip(build(_chain(5))), NODE, signed_by, WINDOW, now=NOW)


def _fake4() -> SignedEntry:
    e = LogEntry(NODE, ROOM, 4, keccak(text="elsewhere"), keccak(text="forged"), NOW - 60)
    return SignedEntry(e, sign_log_entry(bytes(KEY.key), DOMAIN, e).packed())


def _good() -> dict[str, Any]:
    c = _chain(3)
    return ev.FlagEvidence(NODE, c[2], (1, 2)).to_json()


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda j: j.update(version=2), "version-1"),
        (lambda j: j.pop("node"), "malformed"),
        (lambda j: j.update(missing=[1]), "missing"),
        (lambda j: j.update(missing=[1, "2"]), "missing"),
        (lambda j: j["head"].update(sig="0x1234"), "130 hex"),
        (lambda j: j["head"]["entry"].update(room="0x12"), "'room'"),
        (lambda j: j["head"]["entry"].update(seq=2**64), "'seq'"),
        (lambda j: j["head"]["entry"].update(seq="3"), "'seq'"),
        (lambda j: j["head"]["entry"].update(time=1.5), "'time'"),
        (lambda j: j["head"]["entry"].update(seq=0), "start at 1"),
        (lambda j: j["head"]["entry"].update(node="0xnot"), "'node'"),
        (lambda j: j.update(head=[]), "must be an object"),
        (lambda j: j.update(entries=[j["head"]] * (ev.MAX_ENTRIES + 1)), "more than"),
    ],
)
def test_untrusted_input_is_parsed_defensively(mutate: Any, why: str) -> None:
    raw = _good()
    mutate(raw)
    with pytest.raises(ev.EvidenceError, match=why):
        ev.parse(json.dumps(raw).encode())


@pytest.mark.parametrize("data", [b"\xff\xfe", b"not json", b"[]", b"null", b'"x"'])
def test_non_objects_are_refused(data: bytes) -> None:
    with pytest.raises(ev.EvidenceError):
        ev.parse(data)


def test_fetch_reads_files_and_bounds_their_size(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    path.write_bytes(b"x" * 100)
    assert ev.fetch(path.as_uri(), max_bytes=100) == b"x" * 100
    with pytest.raises(ev.EvidenceError, match="larger than 99 bytes"):
        ev.fetch(path.as_uri(), max_bytes=99)
    with pytest.raises(ev.EvidenceError, match="cannot read"):
        ev.fetch((tmp_path / "absent.json").as_uri())
    with pytest.raises(ev.EvidenceError, match="only file://"):
        ev.fetch("ftp://127.0.0.1/evidence.json")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server over tmp_path (port 0: the OS picks a free one)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_over_http_on_loopback(tmp_path: Path, server: str) -> None:
    c = _chain(3)
    ev.FlagEvidence(NODE, c[2], (1, 2)).write(tmp_path / "ok.json")
    (tmp_path / "big.json").write_bytes(b" " * (ev.MAX_EVIDENCE_BYTES + 1))
    got = ev.parse(ev.fetch(f"{server}/ok.json"))
    assert ev.check(got, NODE, signed_by, WINDOW, now=NOW).startswith("the node signed seq 3")
    with pytest.raises(ev.EvidenceError, match="larger than"):
        ev.fetch(f"{server}/big.json")
    with pytest.raises(ev.EvidenceError, match="cannot fetch"):
        ev.fetch(f"{server}/absent.json")


def test_from_store_takes_the_latest_refusal_and_the_entries_below_it(tmp_path: Path) -> None:
    c = _chain(6)
    store = HistoryStore(tmp_path / "history.jsonl")
    for s in c[:2]:
        store.keep("ws://relay", s)
    store.keep_evidence(Evidence("refusal", NODE, c[3], missing=(3, 3)))
    store.keep("ws://relay", c[5])
    store.keep_evidence(Evidence("refusal", NODE, c[5], missing=(4, 5)))
    store.keep_evidence(Evidence("refusal", OTHER.address, c[5], missing=(1, 5)))  # another node's
    got = ev.from_store(store, NODE)
    assert (got.head, got.missing, got.entries) == (c[5], (4, 5), (c[0], c[1]))
    assert "seqs 4-5 exist" in ev.check(_roundtrip(got), NODE, signed_by, WINDOW, now=NOW)
    with pytest.raises(ev.EvidenceError, match="no refusal by"):
        ev.from_store(HistoryStore(tmp_path / "empty.jsonl"), NODE)


def test_a_refusal_seen_now_is_evidence() -> None:
    c = _chain(2)
    got = ev.evidence_of(Evidence("refusal", NODE, c[1], missing=(1, 1)))
    assert got == ev.FlagEvidence(NODE, c[1], (1, 1))
    with pytest.raises(ev.EvidenceError, match="club report"):
        ev.evidence_of(Evidence("equivocation", NODE, c[0], c[1]))


@pytest.mark.parametrize(
    ("service_ok", "evidence_ok", "history_ok", "room_ok", "kick"),
    [
        (True, True, True, None, False),  # an honest relay, whatever the flagger says
        (True, True, False, None, True),  # the evidence holds and the relay withholds from the reviewer too
        (True, False, False, None, False),  # no evidence that holds: a history failure alone upholds nothing
        (True, False, True, None, False),
        (False, False, True, None, True),  # a registered service fails: kick, as for every reason
        # With the flagger's grant the reviewer asks for the flagger's room too (room_ok):
        (True, True, True, True, False),  # both rooms served: keep
        (True, True, True, False, True),  # the flagger's room only is withheld: kick
        (True, True, False, True, True),
    ],
)
def test_review_history_verdict(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    service_ok: bool,
    evidence_ok: bool,
    history_ok: bool,
    room_ok: bool | None,
    kick: bool,
) -> None:
    # review_history checks against the clock: entries of a minute ago.
    t = int(time.time()) - 60
    c = _chain(3, room=FLAGGER_ROOM, t=t)
    head = c[2] if evidence_ok else _chain(3, key=OTHER, t=t)[2]
    grant, peer = None, None
    if room_ok is not None:
        g = HistoryGrant(NODE, FLAGGER_ROOM, FLAGGER.address, ANYONE, int(time.time()) + 600)
        grant, peer = _signed_grant(g), PEER
        head = c[2] if evidence_ok else SignedEntry(c[2].entry, _chain(3, key=OTHER, t=t)[2].sig)
    path = tmp_path / "evidence.json"
    ev.FlagEvidence(NODE, head, (1, 2), (), grant, peer).write(path)
    asked: list[ev.FlagEvidence] = []

    async def service(ep: probe.Endpoints, timeout: float = 0) -> probe.ProbeReport:
        return probe.ProbeReport(ep.node, (probe.Check("relay", service_ok, "", 1.0),), 0.0)

    async def history(uri: str, signed: Any, timeout: float = 0) -> str:
        if not history_ok:
            raise RuntimeError("withheld: asked for entries 1-3 it signed, got none")
        return "3 envelopes received"

    async def room(uri: str, evidence: ev.FlagEvidence, signed: Any, timeout: float = 0) -> str:
        asked.append(evidence)
        if not room_ok:
            raise RuntimeError("withheld: asked with the flagger's grant for entries 1-3 of its room")
        return "entries 1-3 of the flagger's room produced"

    monkeypatch.setattr(probe, "probe", service)
    monkeypatch.setattr(probe, "probe_history", history)
    monkeypatch.setattr(probe, "probe_granted_history", room)
    ep = probe.Endpoints(NODE, 1, relay="ws://127.0.0.1:1")
    report = asyncio.run(probe.review_history(ep, path.as_uri(), signed_by, WINDOW, granted_by))
    checks = {ch.name: ch.ok for ch in report.checks}
    expected = {"relay": service_ok, "evidence": evidence_ok, "history": history_ok}
    if room_ok is not None and evidence_ok:  # the flagger's room is asked for only with evidence that holds
        expected["room"] = room_ok
        assert [e.grant for e in asked] == [grant]
    assert checks == expected
    assert report.kick is kick
    assert report.to_json()["verdict"] == ("kick" if kick else "keep")


# -- the flagger's grant ---------------------------------------------------------------------------

FLAGGER = Account.from_key(keccak(text="clubchat-tests:evidence:flagger"))
PEER = Account.from_key(keccak(text="clubchat-tests:evidence:peer")).address
GRANT_DOMAIN = grant_domain(31337, "0x" + "ab" * 20)
FLAGGER_ROOM = direct_room(FLAGGER.address, PEER)


def _signed_grant(g: HistoryGrant, key: Any = FLAGGER) -> Grant:
    return Grant.of(g, bytes(key.sign_typed_data(full_message=g.typed_data(GRANT_DOMAIN)).signature))


def _granted(
    room: bytes = FLAGGER_ROOM,
    node: str = NODE,
    expiry: int = NOW + 3600,
    key: Any = FLAGGER,
    peer: str = PEER,
) -> ev.FlagEvidence:
    """Evidence of FLAGGER_ROOM (entries 1..5, 3-4 missing) with a grant to anyone."""
    c = _chain(5, room=FLAGGER_ROOM)
    grant = _signed_grant(HistoryGrant(node, room, FLAGGER.address, ANYONE, expiry), key)
    return ev.FlagEvidence(NODE, c[4], (3, 4), (c[0],), grant, peer)


def granted_by(grant: HistoryGrant, sig: bytes) -> bool:
    return eoa_signer(grant, GRANT_DOMAIN, sig) == grant.granter


def test_a_grant_in_the_evidence_is_kept_and_checked() -> None:
    got = _roundtrip(_granted())
    assert got == _granted()
    said = ev.check(got, NODE, signed_by, WINDOW, now=NOW, granted_by=granted_by)
    assert f"lets reviewers ask for them until {NOW + 3600}" in said


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda: _granted(node=OTHER.address), "not for the flagged node's room"),
        (lambda: _granted(room=ROOM), "not for the flagged node's room"),
        (lambda: _granted(peer=OTHER.address), "is not a member of the room with"),
        (lambda: _granted(expiry=NOW), "the grant expired at"),
        (lambda: _granted(key=OTHER), "not signed by its granter"),
    ],
)
def test_a_grant_that_does_not_hold_voids_the_evidence(build: Any, why: str) -> None:
    with pytest.raises(ev.EvidenceError, match=why):
        ev.check(_roundtrip(build()), NODE, signed_by, WINDOW, now=NOW, granted_by=granted_by)


def test_a_grant_cannot_be_taken_on_trust() -> None:
    with pytest.raises(ev.EvidenceError, match="not signed by its granter"):
        ev.check(_granted(), NODE, signed_by, WINDOW, now=NOW)  # no way to check its signature given


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda j: j.pop("peer"), 'comes with "peer"'),
        (lambda j: j.update(peer="0x12"), 'comes with "peer"'),
        (lambda j: j["grant"].update(expiry=-1), "malformed grant"),
        (lambda j: j["grant"].update(sig="0x12"), "malformed grant"),
        (lambda j: j["grant"].pop("room"), "malformed grant"),
        (lambda j: j.update(grant=[]), "malformed grant"),
    ],
)
def test_an_untrusted_grant_is_parsed_defensively(mutate: Any, why: str) -> None:
    raw = _granted().to_json()
    mutate(raw)
    with pytest.raises(ev.EvidenceError, match=why):
        ev.parse(json.dumps(raw).encode())


class _Fn:
    def __init__(self, value: Any) -> None:
        self.value = value

    def call(self) -> Any:
        return self.value


def _client(sender: str) -> Any:
    """What `attach` reads of a DisputesClient: chain id, Disputes address and vote phases, sender."""
    params = [0] * 17
    params[9], params[10] = 600, 300
    return SimpleNamespace(
        w3=SimpleNamespace(eth=SimpleNamespace(chain_id=31337)),
        disputes=SimpleNamespace(
            address=GRANT_DOMAIN.verifying_contract,
            functions=SimpleNamespace(parameters=lambda: _Fn(tuple(params))),
        ),
        sender=SimpleNamespace(address=sender),
    )


def test_attach_writes_the_refusal_with_the_flaggers_grant(tmp_path: Path) -> None:
    c = _chain(4, room=FLAGGER_ROOM, t=int(time.time()) - 60)
    store = HistoryStore(tmp_path / "history.jsonl")
    store.keep("ws://relay", c[0])
    store.keep_evidence(Evidence("refusal", NODE, c[3], missing=(2, 3)))
    out = tmp_path / "evidence.json"
    before = int(time.time())
    got = ev.attach(_client(FLAGGER.address), NODE, out, store.path, PEER, FLAGGER)
    assert got.grant is not None and got.peer == PEER
    g = got.grant.grant
    assert (g.node, g.room, g.granter, g.grantee) == (NODE, FLAGGER_ROOM, FLAGGER.address, ANYONE)
    assert before + 900 + ev.GRANT_SLACK <= g.expiry <= int(time.time()) + 900 + ev.GRANT_SLACK
    written = ev.parse(out.read_bytes())
    assert written == got
    assert "until" in ev.check(written, NODE, signed_by, WINDOW, granted_by=granted_by)
    # Without a peer: the refusal alone, no grant.
    assert ev.attach(_client(FLAGGER.address), NODE, out, store.path).grant is None
    with pytest.raises(ev.EvidenceError, match="not your conversation with"):
        ev.attach(_client(FLAGGER.address), NODE, out, store.path, OTHER.address, FLAGGER)
    with pytest.raises(ev.EvidenceError, match="signed by the flagging wallet"):
        ev.attach(_client(FLAGGER.address), NODE, out, store.path, PEER, OTHER)


@pytest.mark.parametrize("withhold", [False, True])
def test_the_granted_probe_asks_for_the_flaggers_room(tmp_path: Path, withhold: bool) -> None:
    """A real relay; the flagger's evidence of its room with the peer, with its grant; a fresh wallet
    asks for the room: an honest relay produces the seqs up to the head, one that withholds that
    room only is caught (while a room of the reviewer's would have been served)."""
    flagger, peer = FLAGGER, Account.from_key(keccak(text="clubchat-tests:evidence:peer"))
    domain = grant_domain(LOG_CHAIN_ID, LOG_DISPUTES)

    def node_signed(entry: LogEntry, sig: bytes) -> bool:
        signer = log_entry_signer(LOG_SIGNER.domain, entry, Signature(sig[64], sig[:32], sig[32:64]))
        return signer == LOG_SIGNER.key_address

    async def scenario() -> str:
        log = OneRoomWithheld(tmp_path / "log.sqlite", LOG_SIGNER)
        log.withheld = direct_room(flagger.address, peer.address) if withhold else b""
        await log.open()
        try:
            async with relay(RelayConfig(), log=log) as server:
                a = await RelayClient.connect(server.uri, flagger)
                b = await RelayClient.connect(server.uri, peer)
                sent = [await a.send(peer.address, m.Text(body=f"t{i}")) for i in range(3)]
                await a.close()
                await b.close()
                head = sent[-1]
                assert head.entry is not None and head.sig is not None
                signed = SignedEntry(entry_of(head.entry), bytes.fromhex(head.sig[2:]))
                g = HistoryGrant(
                    LOG_OPERATOR.address, signed.entry.room, flagger.address, ANYONE, int(time.time()) + 600
                )
                grant = Grant.of(
                    g, bytes(flagger.sign_typed_data(full_message=g.typed_data(domain)).signature)
                )
                evidence = ev.FlagEvidence(LOG_OPERATOR.address, signed, (1, 2), (), grant, peer.address)
                return await probe.probe_granted_history(server.uri, evidence, node_signed, 5.0)
        finally:
            await log.close()

    if withhold:
        with pytest.raises(RuntimeError, match="withheld: asked with the flagger's grant for entries 1-3"):
            run(scenario())
    else:
        assert "entries 1-3 of the flagger's room produced" in run(scenario())


class _Wallet:
    """A web3 stand-in: `code` at every address, `isValidSignature` answering `answer` (or raising)."""

    def __init__(self, code: bytes, answer: bytes | Exception) -> None:
        self.calls: list[dict[str, Any]] = []
        self.eth = SimpleNamespace(get_code=lambda address: code, call=self._call)
        self.answer = answer

    def _call(self, tx: dict[str, Any]) -> bytes:
        self.calls.append(tx)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("code", "answer", "ok"),
    [
        (b"\x60\x80", MAGIC_VALUE + b"\x00" * 28, True),  # the wallet says yes
        (b"\x60\x80", b"\xff" * 32, False),  # another answer
        (b"\x60\x80", ValueError("execution reverted"), False),
        (b"", MAGIC_VALUE + b"\x00" * 28, False),  # no code: an EOA whose signature did not recover
    ],
)
def test_a_contract_wallets_grant_is_checked_with_eip1271(code: bytes, answer: Any, ok: bool) -> None:
    g = HistoryGrant(NODE, FLAGGER_ROOM, OTHER.address, ANYONE, NOW)
    w3 = _Wallet(code, answer)
    assert ev.granter_signed(w3, GRANT_DOMAIN, g, b"\x07" * 130) is ok
    if code:
        [tx] = w3.calls
        assert tx["to"] == OTHER.address
        assert tx["data"] == MAGIC_VALUE + encode(
            ["bytes32", "bytes"], [g.digest(GRANT_DOMAIN), b"\x07" * 130]
        )
    # A key's signature needs no chain read.
    signed = _signed_grant(HistoryGrant(NODE, FLAGGER_ROOM, FLAGGER.address, ANYONE, NOW))
    assert ev.granter_signed(
        _Wallet(b"", ValueError("no chain read")), GRANT_DOMAIN, signed.grant, signed.signature
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=12,
)
_GRANT_KEYS = ("node", "room", "granter", "grantee", "expiry", "sig")


@settings(max_examples=200, deadline=None)
@given(
    grant=st.one_of(_JSON, st.fixed_dictionaries({k: _JSON for k in _GRANT_KEYS})),
    peer=st.one_of(_JSON, st.just(PEER)),
    keep=st.sets(st.sampled_from(_GRANT_KEYS)),
)
def test_any_grant_json_parses_or_is_refused_in_one_sentence(grant: Any, peer: Any, keep: set[str]) -> None:
    """Whatever a flagger writes as its grant: a well-formed grant, or EvidenceError, nothing else."""
    raw = _granted().to_json()
    raw["peer"] = peer
    if isinstance(grant, dict) and keep:  # some fields of a good grant kept, the rest arbitrary
        grant = {**grant, **{k: raw["grant"][k] for k in keep}}
    raw["grant"] = grant
    try:
        got = ev.parse(json.dumps(raw).encode())
    except ev.EvidenceError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert got.grant is not None and got.peer is not None
    assert len(got.grant.signature) >= 65 and len(got.grant.grant.room) == 32


# -- a community room's grant ----------------------------------------------------------------------

CID = 7
CROOM = m.room_id(CID, "general")


def member_of(community: int, account: str) -> bool:
    """FLAGGER is a member of community CID, nobody else of anything."""
    return (community, account) == (CID, FLAGGER.address)


def _in_community(
    room: bytes = CROOM, community: int = CID, name: str = "general", key: Any = FLAGGER
) -> ev.FlagEvidence:
    """Evidence of the community room (entries 1..5, 3-4 missing) with FLAGGER's grant to anyone."""
    c = _chain(5, room=CROOM)
    grant = _signed_grant(HistoryGrant(NODE, room, FLAGGER.address, ANYONE, NOW + 3600), key)
    return ev.FlagEvidence(NODE, c[4], (3, 4), (c[0],), grant, None, community, name)


def test_a_community_rooms_grant_is_kept_and_checked() -> None:
    raw = _in_community().to_json()
    assert (raw["community"], raw["room"]) == (CID, "general") and "peer" not in raw
    got = _roundtrip(_in_community())
    assert got == _in_community() and got.community_room == (CID, "general")
    said = ev.check(got, NODE, signed_by, WINDOW, now=NOW, granted_by=granted_by, member_of=member_of)
    assert f"lets reviewers ask for them until {NOW + 3600}" in said


@pytest.mark.parametrize(
    ("build", "member", "why"),
    [
        # The grant and the file name different rooms: the relay would refuse it for this room.
        (lambda: _in_community(name="other"), member_of, f"not community {CID}'s room other"),
        (lambda: _in_community(community=CID + 1), member_of, f"not community {CID + 1}'s room general"),
        (lambda: _in_community(room=m.room_id(CID, "other")), member_of, "not for the flagged node's room"),
        (lambda: _in_community(key=OTHER), member_of, "not signed by its granter"),
        # The granter left the community, or the reviewer cannot tell: the relay rightly refuses it.
        (lambda: _in_community(), lambda c, a: False, f"not a member of community {CID} now"),
        (lambda: _in_community(), None, f"not a member of community {CID} now"),
    ],
)
def test_a_community_rooms_grant_that_does_not_hold_voids_the_evidence(
    build: Any, member: Any, why: str
) -> None:
    with pytest.raises(ev.EvidenceError, match=why):
        ev.check(
            _roundtrip(build()), NODE, signed_by, WINDOW, now=NOW, granted_by=granted_by, member_of=member
        )


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda j: j.update(peer=PEER), "not both"),
        (lambda j: j.pop("community"), '"community", the community id'),
        (lambda j: j.update(community=0), '"community", the community id'),
        (lambda j: j.update(community="7"), '"community", the community id'),
        (lambda j: j.update(community=True), '"community", the community id'),
        (lambda j: j.pop("room"), '"room", the room\'s name'),
        (lambda j: j.update(room="General!"), '"room", the room\'s name'),
        (lambda j: j.update(room=7), '"room", the room\'s name'),
        (lambda j: j.pop("grant"), "malformed grant"),
    ],
)
def test_an_untrusted_community_room_is_parsed_defensively(mutate: Any, why: str) -> None:
    raw = _in_community().to_json()
    mutate(raw)
    with pytest.raises(ev.EvidenceError, match=why):
        ev.parse(json.dumps(raw).encode())


def test_attach_writes_a_community_rooms_refusal_with_the_flaggers_grant(tmp_path: Path) -> None:
    """The store holds refusals of a conversation and of a community room (as RoomClient keeps them:
    a refusal whose head is of the room id's chain); --community picks the room's."""
    t = int(time.time()) - 60
    room, direct = _chain(4, room=CROOM, t=t), _chain(4, room=FLAGGER_ROOM, t=t)
    store = HistoryStore(tmp_path / "history.jsonl")
    store.keep("ws://relay", room[0])
    store.keep_evidence(Evidence("refusal", NODE, room[3], missing=(2, 3)))
    store.keep_evidence(Evidence("refusal", NODE, direct[3], missing=(1, 3)))  # the latest, not this room's
    out = tmp_path / "evidence.json"
    got = ev.attach(_client(FLAGGER.address), NODE, out, store.path, None, FLAGGER, (CID, "general"))
    assert (got.head, got.missing, got.entries) == (room[3], (2, 3), (room[0],))
    assert got.grant is not None and (got.peer, got.community, got.room) == (None, CID, "general")
    g = got.grant.grant
    assert (g.node, g.room, g.granter, g.grantee) == (NODE, CROOM, FLAGGER.address, ANYONE)
    written = ev.parse(out.read_bytes())
    assert written == got
    assert "until" in ev.check(written, NODE, signed_by, WINDOW, granted_by=granted_by, member_of=member_of)
    with pytest.raises(ev.EvidenceError, match=r"holds no refusal by .* of room 0x"):
        ev.attach(_client(FLAGGER.address), NODE, out, store.path, None, FLAGGER, (CID, "other"))
    with pytest.raises(ev.EvidenceError, match="not both"):
        ev.attach(_client(FLAGGER.address), NODE, out, store.path, PEER, FLAGGER, (CID, "general"))
    with pytest.raises(ev.EvidenceError, match="signed by the flagging wallet"):
        ev.attach(_client(FLAGGER.address), NODE, out, store.path, None, None, (CID, "general"))


@pytest.mark.parametrize(
    ("attach", "peer", "community", "room", "why"),
    [
        (None, PEER, None, None, "--peer names the room of the evidence --attach writes"),
        (None, None, CID, None, "--community names the room of the evidence --attach writes"),
        (None, None, None, "general", "--room names the room of the evidence --attach writes"),
        (Path("e.json"), None, None, "general", "names a room of --community"),
        (Path("e.json"), PEER, CID, None, "or a community room"),
        (Path("e.json"), None, CID, "No Such Room", "is not a room name"),
    ],
)
def test_the_grant_options_go_together(attach: Any, peer: Any, community: Any, room: Any, why: str) -> None:
    with pytest.raises(click.UsageError, match=why):
        granted_room(attach, peer, community, room)
    assert granted_room(Path("e.json"), None, CID, None) == (CID, "general")
    assert granted_room(Path("e.json"), None, CID, "broadcast:news") == (CID, "broadcast:news")
    assert granted_room(Path("e.json"), PEER, None, None) is None


@pytest.mark.parametrize(
    ("mode", "refused"),
    [
        ("honest", None),
        ("withhold", "withheld: asked with the flagger's grant for entries 1-3"),
        ("banned", r"refused the flagger's grant: bad-grant: .* banned"),
    ],
)
def test_the_granted_probe_asks_for_the_flaggers_community_room(
    tmp_path: Path, mode: str, refused: str | None
) -> None:
    """A real relay with rooms; a member's evidence of the community room with its grant; a fresh
    wallet, no member, asks for the room with `room-history`: an honest relay produces the seqs up to
    the head, one that withholds that room only is caught, and a grant the relay refuses (its
    granter was banned since) is named with the relay's code."""

    async def scenario() -> str:
        log = OneRoomWithheld(tmp_path / "log.sqlite", LOG_SIGNER)
        log.withheld = ROOMS_ROOM if mode == "withhold" else b""
        await log.open()
        try:
            async with relay(RelayConfig(), log=log) as server:
                rooms = Rooms(server, members_view())
                head = await ask_posts(server.uri, ALICE, 3)
                if mode == "banned":
                    banned = {"community_id": ROOMS_CID, "account": ALICE.address, "by": OWNER.address}
                    rooms.view.membership.apply("Banned", banned)
                evidence = ev.FlagEvidence(
                    LOG_OPERATOR.address, head, (1, 2), (), room_grant(ALICE), None, ROOMS_CID, "general"
                )
                return await probe.probe_granted_history(server.uri, evidence, _node_signed, 5.0)
        finally:
            await log.close()

    if refused is None:
        assert "entries 1-3 of the flagger's room produced" in run(scenario())
        return
    with pytest.raises(RuntimeError, match=refused):
        run(scenario())


def _node_signed(entry: LogEntry, sig: bytes) -> bool:
    signer = log_entry_signer(LOG_SIGNER.domain, entry, Signature(sig[64], sig[:32], sig[32:64]))
    return signer == LOG_SIGNER.key_address


@pytest.mark.parametrize(
    ("member", "room_ok", "kick"),
    [
        (True, True, False),  # the community room served with the grant: keep
        (True, False, True),  # the evidence holds and the relay withholds that room only: kick
        # The granter is no member any more: the relay may refuse its grant, so the evidence does not
        # hold and the room is not asked for; an honest-looking relay is kept.
        (False, False, False),
    ],
)
def test_review_history_asks_for_a_community_room_with_a_members_grant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, member: bool, room_ok: bool, kick: bool
) -> None:
    t = int(time.time()) - 60
    c = _chain(3, room=CROOM, t=t)
    grant = _signed_grant(HistoryGrant(NODE, CROOM, FLAGGER.address, ANYONE, int(time.time()) + 600))
    path = tmp_path / "evidence.json"
    ev.FlagEvidence(NODE, c[2], (1, 2), (), grant, None, CID, "general").write(path)
    asked: list[tuple[int, str] | None] = []
    members: list[tuple[int, str]] = []

    async def service(ep: probe.Endpoints, timeout: float = 0) -> probe.ProbeReport:
        return probe.ProbeReport(ep.node, (probe.Check("relay", True, "", 1.0),), 0.0)

    async def history(uri: str, signed: Any, timeout: float = 0) -> str:
        return "3 envelopes received"

    async def room(uri: str, evidence: ev.FlagEvidence, signed: Any, timeout: float = 0) -> str:
        asked.append(evidence.community_room)
        if not room_ok:
            raise RuntimeError("withheld: asked with the flagger's grant for entries 1-3 of its room")
        return "entries 1-3 of the flagger's room produced"

    def membership(community: int, account: str) -> bool:
        members.append((community, account))
        return member

    monkeypatch.setattr(probe, "probe", service)
    monkeypatch.setattr(probe, "probe_history", history)
    monkeypatch.setattr(probe, "probe_granted_history", room)
    ep = probe.Endpoints(NODE, 1, relay="ws://127.0.0.1:1")
    report = asyncio.run(probe.review_history(ep, path.as_uri(), signed_by, WINDOW, granted_by, membership))
    assert members == [(CID, FLAGGER.address)]
    assert asked == ([(CID, "general")] if member else [])
    checks = {ch.name: ch.ok for ch in report.checks}
    assert checks["evidence"] is member
    assert checks.get("room") == (room_ok if member else None)
    assert report.kick is kick
