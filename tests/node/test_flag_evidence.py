"""A flagger's evidence of dropped or withheld history (clubchat.disputes.evidence): built from the
wallet's history store, fetched from file:// and http:// (loopback) with a size bound, parsed as
untrusted input, and checked against the node's keys, its room chain and the evidence window."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from clubchat.chain.eip712 import Signature
from clubchat.client.history import Evidence, HistoryStore, SignedEntry
from clubchat.disputes import evidence as ev
from clubchat.protocol.log_entry import LogEntry, log_domain, log_entry_signer, sign_log_entry

DOMAIN = log_domain(31337, "0x" + "ab" * 20)
KEY = Account.from_key(keccak(text="clubchat-tests:evidence:key"))
OTHER = Account.from_key(keccak(text="clubchat-tests:evidence:other"))
NODE = Account.from_key(keccak(text="clubchat-tests:evidence:node")).address
ROOM = keccak(text="room")
NOW = 1_800_000_000
WINDOW = 7 * 86_400


def _chain(n: int, key: Any = KEY, node: str = NODE, t: int = NOW - 60) -> list[SignedEntry]:
    """Entries 1..n of ROOM, chained, each signed by `key`."""
    out: list[SignedEntry] = []
    prev = b"\x00" * 32
    for seq in range(1, n + 1):
        e = LogEntry(node, ROOM, seq, prev, keccak(text=f"body {seq}"), t)
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
    ("service_ok", "evidence_ok", "history_ok", "kick"),
    [
        (True, True, True, False),  # an honest relay, whatever the flagger says
        (True, True, False, True),  # the evidence holds and the relay withholds from the reviewer too
        (True, False, False, False),  # no evidence that holds: a history failure alone upholds nothing
        (True, False, True, False),
        (False, False, True, True),  # a registered service fails: kick, as for every reason
    ],
)
def test_review_history_verdict(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    service_ok: bool,
    evidence_ok: bool,
    history_ok: bool,
    kick: bool,
) -> None:
    from clubchat.disputes import probe as p

    # review_history checks against the clock: entries of a minute ago.
    t = int(time.time()) - 60
    head = _chain(3, t=t)[2] if evidence_ok else _chain(3, key=OTHER, t=t)[2]
    path = tmp_path / "evidence.json"
    ev.FlagEvidence(NODE, head, (1, 2)).write(path)

    async def service(ep: p.Endpoints, timeout: float = 0) -> p.ProbeReport:
        return p.ProbeReport(ep.node, (p.Check("relay", service_ok, "", 1.0),), 0.0)

    async def history(uri: str, signed: Any, timeout: float = 0) -> str:
        if not history_ok:
            raise RuntimeError("withheld: asked for entries 1-3 it signed, got none")
        return "3 envelopes received"

    monkeypatch.setattr(p, "probe", service)
    monkeypatch.setattr(p, "probe_history", history)
    ep = p.Endpoints(NODE, 1, relay="ws://127.0.0.1:1")
    report = asyncio.run(p.review_history(ep, path.as_uri(), signed_by, WINDOW))
    checks = {ch.name: ch.ok for ch in report.checks}
    assert checks == {"relay": service_ok, "evidence": evidence_ok, "history": history_ok}
    assert report.kick is kick
    assert report.to_json()["verdict"] == ("kick" if kick else "keep")
