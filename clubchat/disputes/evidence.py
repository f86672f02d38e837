"""A flagger's evidence for dropping messages (reason 3) and withholding history (reason 6).

What a flagger holds is what the relay signed: its `LogEntry`s of a direct room the flagger is a member
of (clubchat.client.history keeps them in the wallet's `HistoryStore`), and, when the flagger asked for
a gap with `history` and the relay did not produce it, a refusal: the relay's signed head of the room
and the seqs it did not give. The evidence file is that, as JSON (`FlagEvidence.to_json`):

    {"version": 1, "node": operator, "head": {"entry": {...}, "sig": "0x…"},
     "entries": [{"entry": …, "sig": …}, …], "missing": [from, to]}

`club dispute flag --attach FILE` writes it from the wallet's store (the latest refusal by the node)
and flags with its URI (`file://` for a local reviewer, or wherever the flagger publishes the file:
`http(s)://`). A reviewer fetches it (`fetch`, at most MAX_EVIDENCE_BYTES; untrusted: `parse` checks
every field) and checks it (`check`): every entry is the flagged node's, signed by a node key of it
(a key rotated away still counts), of one room, chained where consecutive, the head no older than the
evidence window, and the missing seqs below the head, so the relay's own signature on the head proves
they exist (its `prev` chain commits to every entry before it). A relay serves a direct room's history
only to the room's members, so the reviewer cannot ask for the flagger's room itself: it asks the relay
for a room of its own (clubchat.disputes.probe.probe_history) and votes kick when the evidence holds and
the relay drops or withholds there too.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from eth_utils import to_checksum_address

from clubchat.client.history import Evidence, HistoryStore, SignedEntry
from clubchat.disputes.client import DisputeError
from clubchat.protocol.log_entry import LogEntry

VERSION = 1
MAX_EVIDENCE_BYTES = 64 * 1024  # a head, up to MAX_ENTRIES entries and the range fit in far less
MAX_ENTRIES = 64
FETCH_TIMEOUT = 10.0
CLOCK_TOLERANCE = 300  # seconds an entry's time may be ahead of the reviewer's clock

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_SIG = re.compile(r"0x[0-9a-fA-F]{130}")

SignedBy = Callable[[LogEntry, bytes], bool]  # True when the signature is by a key of entry.node


class EvidenceError(DisputeError):
    """Evidence that cannot be fetched, parsed or does not hold; the message says why."""


@dataclass(frozen=True)
class FlagEvidence:
    node: str
    head: SignedEntry
    missing: tuple[int, int]
    entries: tuple[SignedEntry, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "node": self.node,
            "head": self.head.to_json(),
            "entries": [e.to_json() for e in self.entries],
            "missing": list(self.missing),
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def from_store(store: HistoryStore, node: str) -> FlagEvidence:
    """The latest refusal by `node` in the wallet's store, with the signed entries of that room the
    store holds below the gap (the newest MAX_ENTRIES)."""
    node = to_checksum_address(node)
    rows = store.rows()
    kept = [r["evidence"] for r in rows if "evidence" in r]
    refusals = [e for e in kept if e.get("kind") == "refusal" and _same(e.get("node"), node)]
    if not refusals:
        raise EvidenceError(f"the history store {store.path} holds no refusal by {node}")
    last = refusals[-1]
    head = _signed(last["a"])
    lo, hi = (int(x) for x in last["missing"])
    below: dict[int, SignedEntry] = {}
    for r in rows:
        if "entry" in r and not r.get("foreign"):
            s = _signed(r)
            if s.entry.room == head.entry.room and _same(s.entry.node, node) and s.entry.seq < lo:
                below[s.entry.seq] = s
    return FlagEvidence(node, head, (lo, hi), tuple(below[seq] for seq in sorted(below)[-MAX_ENTRIES:]))


def fetch(uri: str, max_bytes: int = MAX_EVIDENCE_BYTES, timeout: float = FETCH_TIMEOUT) -> bytes:
    """The bytes at `uri` (file://, http:// or https://), refused past `max_bytes`."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise EvidenceError(f"cannot read {uri}: {exc.strerror or exc}") from None
    elif parts.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(uri, timeout=timeout) as resp:  # the scheme is checked above
                data = resp.read(max_bytes + 1)
        except Exception as exc:  # unreachable, refused, HTTP error, timeout: the evidence is not there
            raise EvidenceError(f"cannot fetch {uri}: {exc}") from None
    else:
        raise EvidenceError(f"evidence URI {uri!r}: only file://, http:// and https:// are fetched")
    if len(data) > max_bytes:
        raise EvidenceError(f"evidence at {uri} is larger than {max_bytes} bytes")
    return data


def parse(data: bytes) -> FlagEvidence:
    """Evidence from untrusted bytes: every field checked, anything else refused."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EvidenceError("the evidence is not JSON") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise EvidenceError(f"the evidence is not a version-{VERSION} evidence object")
    try:
        node = to_checksum_address(str(raw["node"]))
        head = _signed(raw["head"])
        entries_raw = raw.get("entries", [])
        if not isinstance(entries_raw, list) or len(entries_raw) > MAX_ENTRIES:
            raise EvidenceError(f"the evidence holds more than {MAX_ENTRIES} entries")
        entries = tuple(_signed(e) for e in entries_raw)
        missing = raw["missing"]
        if not isinstance(missing, list) or len(missing) != 2 or not all(type(x) is int for x in missing):
            raise EvidenceError('"missing" must be [from, to]')
    except EvidenceError:
        raise
    except Exception as exc:  # a field of the wrong type or shape
        raise EvidenceError(f"malformed evidence: {type(exc).__name__}: {exc}") from None
    return FlagEvidence(node, head, (missing[0], missing[1]), entries)


def check(ev: FlagEvidence, node: str, signed_by: SignedBy, window: int, now: float | None = None) -> str:
    """What the evidence proves about `node` (one sentence), or EvidenceError saying why it does not."""
    node = to_checksum_address(node)
    now = time.time() if now is None else now
    if not _same(ev.node, node):
        raise EvidenceError(f"the evidence is about {ev.node}, not the flagged node {node}")
    head = ev.head.entry
    lo, hi = ev.missing
    if not 1 <= lo <= hi < head.seq:
        raise EvidenceError(f"missing seqs {lo}-{hi} are not below the signed head (seq {head.seq})")
    if head.time + window < now:
        raise EvidenceError(f"the signed head is older than the evidence window ({window} s)")
    if head.time > now + CLOCK_TOLERANCE:
        raise EvidenceError("the signed head is dated in the future")
    by_seq: dict[int, LogEntry] = {head.seq: head}
    for s in (ev.head, *ev.entries):
        e = s.entry
        if not _same(e.node, node) or e.room != head.room:
            raise EvidenceError(f"entry {e.seq} is not of the flagged node's room {head.room.hex()}")
        if not signed_by(e, s.sig):
            raise EvidenceError(f"entry {e.seq} is not signed by a node key of {node}")
        if by_seq.setdefault(e.seq, e) != e:
            raise EvidenceError(f"two different signed entries for seq {e.seq}: that is a fork (prove it)")
        if lo <= e.seq <= hi:
            raise EvidenceError(f"entry {e.seq} is given, yet called missing")
    for seq, e in by_seq.items():  # bound: MAX_ENTRIES + 1
        before = by_seq.get(seq - 1)
        if before is not None and e.prev != before.struct_hash():
            raise EvidenceError(f"entry {seq} does not follow entry {seq - 1}")
    return (
        f"the node signed seq {head.seq} of room 0x{head.room.hex()[:12]}…, so seqs {lo}-{hi} exist;"
        f" the flagger says the relay did not produce them"
    )


def _same(a: Any, b: str) -> bool:
    try:
        return to_checksum_address(str(a)) == b
    except ValueError:
        return False


def _signed(raw: Any) -> SignedEntry:
    """A signed entry from untrusted JSON: 32-byte hashes, 64-bit integers, a 65-byte signature."""
    if not isinstance(raw, dict) or not isinstance(raw.get("entry"), dict):
        raise EvidenceError("a signed entry must be an object with an entry")
    e = raw["entry"]
    if not isinstance(e.get("node"), str) or not _ADDRESS.fullmatch(e["node"]):
        raise EvidenceError("entry field 'node' must be an address")
    for name in ("room", "prev", "body"):
        if not isinstance(e.get(name), str) or not _HASH.fullmatch(e[name]):
            raise EvidenceError(f"entry field {name!r} must be 0x and 64 hex digits")
    for name in ("seq", "time"):
        if type(e.get(name)) is not int or not 0 <= e[name] < 2**64:
            raise EvidenceError(f"entry field {name!r} must be an integer below 2**64")
    if e["seq"] == 0:
        raise EvidenceError("entry seqs start at 1")
    sig = raw.get("sig")
    if not isinstance(sig, str) or not _SIG.fullmatch(sig):
        raise EvidenceError("a signed entry's sig must be 0x and 130 hex digits (r || s || v)")
    try:
        entry = LogEntry.from_json(e)
    except ValueError as exc:
        raise EvidenceError(str(exc)) from None
    return SignedEntry(entry, bytes.fromhex(sig[2:]))


def evidence_of(refusal: Evidence) -> FlagEvidence:
    """A refusal the client just saw (clubchat.client.history.Evidence) as flag evidence."""
    if refusal.kind != "refusal" or refusal.missing is None:
        raise EvidenceError("only a refusal is evidence for a flag; prove a fork with `club report`")
    return FlagEvidence(to_checksum_address(refusal.node), refusal.a, refusal.missing)
