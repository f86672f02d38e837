"""Client-side checks of signed relay history: what a relay signed for a room must be one chain.

A relay that keeps a signed history (clubchat.node.relay_log) sends every envelope's `LogEntry` with
the sender's `sent` and the recipient's `logged`, signing each room's last entry of a batch. A
`HistoryBook` checks each entry as it arrives and keeps, per (relay node, room), the entries it saw
and the latest signed head:

- signature: recovered over the EIP-712 digest in the Disputes domain, it must be a node key of the
  operator named in the entry (`NodeKeys`: the registered key now, and every key seen before — a
  rotated key still signs evidence);
- body: keccak256 of the envelope text this client sent or received;
- continuity: `prev` is the struct hash of the entry before it; an entry further on than the next one
  is a gap (ask the relay with `history`); a `prev` naming another entry than the one held is a
  prev mismatch (ask for the entry before again: a different signed answer is a fork); a different
  entry for a seq already seen is a fork.

Two members compare heads (`compare_head`, a `head` payload sent through any relay): the relay's
signatures over two different entries for one (node, room, seq) are equivocation `Evidence`, the
input of `Disputes.prove_equivocation`. A relay that cannot or will not fill a gap (`answered`) is
evidence for a flag. Every problem is told to the user in one sentence (`on_problem`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import Signature
from clubchat.protocol import messages as m
from clubchat.protocol.log_entry import LogEntry, log_domain, log_entry_signer

ProblemKind = Literal["bad-signature", "body-mismatch", "gap", "prev-mismatch", "fork", "refused"]
MAX_KEPT = 4_096  # entries kept per room (the newest); heads and evidence are kept apart
CURRENT_KEY_SECONDS = 60.0  # how long an operator's current node key is taken as read


@dataclass(frozen=True)
class SignedEntry:
    """An entry and the relay's 65-byte signature (r || s || v) over it."""

    entry: LogEntry
    sig: bytes

    def signature(self) -> Signature:
        return Signature(self.sig[64], self.sig[:32], self.sig[32:64])

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry.to_json(), "sig": "0x" + self.sig.hex()}

    def record(self) -> m.LogRecord:
        j = self.entry.to_json()
        return m.LogRecord(j["node"], j["room"], j["seq"], j["prev"], j["body"], j["time"])


@dataclass(frozen=True)
class Evidence:
    """What a relay cannot deny. `equivocation`: two signed entries of one (node, room, seq) with
    different struct hashes (the arguments of `Disputes.prove_equivocation`); `refusal`: the relay
    showed a later signed entry but did not produce the entries before it when asked."""

    kind: Literal["equivocation", "refusal"]
    node: str
    a: SignedEntry
    b: SignedEntry | None = None
    missing: tuple[int, int] | None = None  # refusal: the seqs asked for and not given

    def prove_args(self) -> tuple[Any, bytes, Any, bytes]:
        """(a, sig_a, b, sig_b) as `prove_equivocation` takes them (add your salt)."""
        if self.kind != "equivocation" or self.b is None:
            raise ValueError("only equivocation evidence proves on chain; a refusal is for a flag")
        return self.a.entry.as_tuple(), self.a.sig, self.b.entry.as_tuple(), self.b.sig

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "node": self.node, "a": self.a.to_json()}
        if self.b is not None:
            out["b"] = self.b.to_json()
        if self.missing is not None:
            out["missing"] = list(self.missing)
        return out


@dataclass(frozen=True)
class Problem:
    """Something wrong with what a relay signed, with the sentence the user is shown."""

    kind: ProblemKind
    relay: str  # the relay's URI (or its operator address when the URI is unknown)
    room: bytes
    seq: int
    message: str
    missing: tuple[int, int] | None = None  # a gap: ask `history` for these seqs
    evidence: Evidence | None = None


class NodeKeys:
    """The node keys an operator signs with: the one registered now (`current(operator)`, e.g.
    `Discovery.node_key`), every key seen or given before (`retired`), and any key the registry
    says was ever bound to it (`owner(key)`, the operator of `NodeRegistry.key_record`), because
    evidence signed with a key that was rotated away still counts."""

    def __init__(
        self,
        current: Callable[[str], str] | None = None,
        retired: Iterable[tuple[str, str]] = (),
        owner: Callable[[str], str] | None = None,
    ) -> None:
        self.current = current
        self.owner = owner
        self._known: dict[str, set[str]] = {}
        self._asked: set[str] = set()  # keys whose owner was looked up (once each)
        # operator -> when its current key was last read: a registry call per checked entry would
        # block the client's event loop once per envelope
        self._read: dict[str, float] = {}
        for operator, key in retired:
            self.add(operator, key)

    def signs_for(self, operator: str, key: str) -> bool:
        """Whether `key` is (or was) a node key of `operator`."""
        key = to_checksum_address(key)
        if key in self.keys(operator):
            return True
        self._read.pop(to_checksum_address(operator), None)  # rotated since the last read?
        if key in self.keys(operator):
            return True
        if self.owner is None or key in self._asked:
            return False
        self._asked.add(key)
        with contextlib.suppress(Exception):  # an unreachable registry: only the known keys count
            bound = self.owner(key)
            if int(bound, 16) != 0:
                self.add(bound, key)
        return key in self.keys(operator)

    def add(self, operator: str, key: str) -> None:
        self._known.setdefault(to_checksum_address(operator), set()).add(to_checksum_address(key))

    def keys(self, operator: str) -> frozenset[str]:
        op = to_checksum_address(operator)
        now = time.monotonic()
        if self.current is not None and now - self._read.get(op, -CURRENT_KEY_SECONDS) >= CURRENT_KEY_SECONDS:
            with contextlib.suppress(Exception):  # an unreachable registry: the known keys still count
                self.add(op, self.current(op))
                self._read[op] = now
        return frozenset(self._known.get(op, ()))


@dataclass
class _Room:
    hashes: dict[int, bytes] = field(default_factory=dict)  # seq -> struct hash (seen)
    entries: dict[int, LogEntry] = field(default_factory=dict)
    signed: dict[int, SignedEntry] = field(default_factory=dict)  # seq -> the relay's signed entry
    foreign: dict[int, SignedEntry] = field(default_factory=dict)  # other members' signed heads
    head: SignedEntry | None = None  # latest signed entry seen here


def _sig_bytes(sig: str | bytes | None) -> bytes | None:
    if sig is None or isinstance(sig, bytes):
        return sig
    return bytes.fromhex(sig.removeprefix("0x"))


def entry_of(record: m.LogRecord) -> LogEntry:
    return LogEntry.from_json(
        {
            "node": record.node,
            "room": record.room,
            "seq": record.seq,
            "prev": record.prev,
            "body": record.body,
            "time": record.time,
        }
    )


class HistoryBook:
    """Checks and keeps the signed history one client sees, per (relay node, room)."""

    def __init__(
        self,
        chain_id: int,
        disputes: str,
        keys: NodeKeys,
        on_problem: Callable[[Problem], None] | None = None,
        store: HistoryStore | None = None,
    ) -> None:
        self.store = store  # keeps what is signed across runs (`club report` finds forks in it)
        self.domain = log_domain(chain_id, disputes)
        self.keys = keys
        self.on_problem = on_problem or (lambda problem: None)
        self.problems: list[Problem] = []
        self.evidence: list[Evidence] = []
        self.relays: dict[str, str] = {}  # node (operator) -> the relay URI it was seen through
        self._rooms: dict[tuple[str, bytes], _Room] = {}

    # -- what arrives -----------------------------------------------------------------------------

    def record(
        self, relay: str, entry: LogEntry, sig: str | bytes | None, text: str | None = None
    ) -> list[Problem]:
        """Check one entry from `relay` (the envelope `text` when this client has it); returns the
        problems found (also kept in `problems` and told through `on_problem`)."""
        node = to_checksum_address(entry.node)
        self.relays.setdefault(node, relay)
        raw = _sig_bytes(sig)
        found: list[Problem] = []
        if raw is not None and not self._signed_by_node(entry, raw):
            return self._tell(
                [self._problem("bad-signature", relay, entry, "its signature is not the node's key")]
            )
        if text is not None and keccak(text=text) != entry.body:
            found.append(
                self._problem("body-mismatch", relay, entry, "it names a different message than arrived")
            )
        room = self._rooms.setdefault((node, entry.room), _Room())
        h = entry.struct_hash()
        signed = SignedEntry(entry, raw) if raw is not None else None
        known = room.hashes.get(entry.seq)
        if known is not None and known != h:
            found.append(self._fork(relay, room, entry, signed))
            return self._tell(found)
        if signed is not None:
            if self.store is not None:
                self.store.keep(relay, signed)
            room.signed[entry.seq] = signed
            if room.head is None or entry.seq > room.head.entry.seq:
                room.head = signed
            theirs = room.foreign.get(entry.seq)
            if theirs is not None and theirs.entry.struct_hash() != h:
                found.append(self._equivocation(relay, entry, signed, theirs))
        if known is None:
            room.hashes[entry.seq] = h
            room.entries[entry.seq] = entry
            found += self._continuity(relay, room, entry, h)
            self._trim(room)
        return self._tell(found)

    def compare_head(self, relay: str, entry: LogEntry, sig: str | bytes) -> list[Problem]:
        """Another member's latest signed entry of a room at a relay (a `head` payload): a different
        signed entry for a seq this client holds signed is equivocation evidence; one this client
        has unsigned or not at all is kept until the relay's signature for that seq arrives (ask it
        with `history` for that seq: `wanted`)."""
        raw = _sig_bytes(sig)
        assert raw is not None
        if not self._signed_by_node(entry, raw):
            return self._tell(
                [
                    self._problem(
                        "bad-signature", relay, entry, "the head a member sent is not signed by the node"
                    )
                ]
            )
        node = to_checksum_address(entry.node)
        room = self._rooms.setdefault((node, entry.room), _Room())
        theirs = SignedEntry(entry, raw)
        if self.store is not None and room.foreign.get(entry.seq) != theirs:  # a head sent again: kept once
            self.store.keep(relay, theirs, foreign=True)
        room.foreign[entry.seq] = theirs
        mine = room.signed.get(entry.seq)
        if mine is not None and mine.entry.struct_hash() != entry.struct_hash():
            return self._tell([self._equivocation(relay, mine.entry, mine, theirs)])
        known = room.hashes.get(entry.seq)
        if known is not None and known != entry.struct_hash():
            return self._tell(
                [
                    self._problem(
                        "fork",
                        relay,
                        entry,
                        "another member was shown a different history; asking the relay to sign ours",
                        missing=(entry.seq, entry.seq),
                    )
                ]
            )
        last = max(room.hashes, default=0)
        if entry.seq > last:
            return self._tell(
                [
                    self._problem(
                        "gap",
                        relay,
                        entry,
                        "another member has seen more of this room",
                        missing=(last + 1, entry.seq),
                    )
                ]
            )
        return []

    def answered(
        self, relay: str, node: str, room_id: bytes, start: int, end: int, got: list[int]
    ) -> list[Problem]:
        """The relay answered `history` start..end with the seqs `got`: any seq it did not give,
        below a signed head it showed, is a refusal (evidence for a flag)."""
        room = self._rooms.get((to_checksum_address(node), room_id))
        if room is None or room.head is None:
            return []
        top = min(end, room.head.entry.seq)
        missing = [s for s in range(start, top + 1) if s not in got and s not in room.hashes]
        if not missing:
            return []
        head = room.head
        evidence = Evidence("refusal", head.entry.node, head, missing=(missing[0], missing[-1]))
        self.evidence.append(evidence)
        if self.store is not None:  # kept for a flag (withholding history): `club report` skips it
            self.store.keep_evidence(evidence)
        problem = Problem(
            "refused",
            relay,
            room_id,
            missing[0],
            f"relay {relay} did not produce messages {missing[0]}-{missing[-1]} of a conversation it signed"
            " a later message of; that is evidence against it",
            (missing[0], missing[-1]),
            evidence,
        )
        return self._tell([problem])

    # -- what the client asks ---------------------------------------------------------------------

    def head(self, node: str, room: bytes) -> SignedEntry | None:
        """This client's latest signed entry of `room` at `node`."""
        r = self._rooms.get((to_checksum_address(node), room))
        return r.head if r is not None else None

    def heads(self) -> list[SignedEntry]:
        return [r.head for r in self._rooms.values() if r.head is not None]

    # -- internals --------------------------------------------------------------------------------

    def _signed_by_node(self, entry: LogEntry, sig: bytes) -> bool:
        if len(sig) != 65:
            return False
        try:
            signer = log_entry_signer(self.domain, entry, Signature(sig[64], sig[:32], sig[32:64]))
        except Exception:  # high-s, bad v, not on the curve
            return False
        return self.keys.signs_for(entry.node, signer)

    def _continuity(self, relay: str, room: _Room, entry: LogEntry, h: bytes) -> list[Problem]:
        out = []
        before = room.hashes.get(entry.seq - 1)
        if entry.seq > 1 and before is None:
            lower = [s for s in room.hashes if s < entry.seq]
            if lower:  # a hole after entries this client already holds
                out.append(
                    self._problem(
                        "gap",
                        relay,
                        entry,
                        "messages are missing before this one",
                        missing=(max(lower) + 1, entry.seq - 1),
                    )
                )
        elif entry.seq > 1 and before != entry.prev:
            # Ask for the entry before again: the relay's signed answer for that seq is either the
            # one held (its `prev` lied) or another one (a fork, with both signed: evidence).
            why = "it does not follow the message before it"
            before_seq = (entry.seq - 1, entry.seq - 1)
            out.append(self._problem("prev-mismatch", relay, entry, why, missing=before_seq))
        elif entry.seq == 1 and entry.prev != b"\x00" * 32:
            out.append(
                self._problem(
                    "prev-mismatch", relay, entry, "the first message of a room names a predecessor"
                )
            )
        after = room.entries.get(entry.seq + 1)
        if after is not None and after.prev != h:
            why = "it does not follow the message before it"
            out.append(self._problem("prev-mismatch", relay, after, why, missing=(entry.seq, entry.seq)))
        return out

    def _fork(self, relay: str, room: _Room, entry: LogEntry, signed: SignedEntry | None) -> Problem:
        mine = room.signed.get(entry.seq)
        if signed is not None and mine is not None:
            return self._equivocation(relay, mine.entry, mine, signed)
        return self._problem(
            "fork",
            relay,
            entry,
            "the relay showed two different messages at one place",
            missing=(entry.seq, entry.seq),
        )

    def _equivocation(self, relay: str, entry: LogEntry, a: SignedEntry, b: SignedEntry) -> Problem:
        evidence = Evidence("equivocation", to_checksum_address(entry.node), a, b)
        pair = {a.entry.struct_hash(), b.entry.struct_hash()}
        known = any(  # the same fork seen again (an entry asked for again, a head sent twice)
            e.kind == "equivocation"
            and e.b is not None
            and {e.a.entry.struct_hash(), e.b.entry.struct_hash()} == pair
            for e in self.evidence  # bound: the forks this client holds
        )
        if not known:
            self.evidence.append(evidence)
            if self.store is not None:
                self.store.keep_evidence(evidence)
        return Problem(
            "fork",
            relay,
            entry.room,
            entry.seq,
            f"relay {relay} signed two different histories of a conversation (message {entry.seq});"
            " the proof is saved: report it with `club report`",
            evidence=evidence,
        )

    def _problem(
        self, kind: ProblemKind, relay: str, entry: LogEntry, why: str, missing: tuple[int, int] | None = None
    ) -> Problem:
        return Problem(
            kind, relay, entry.room, entry.seq, f"relay {relay}, message {entry.seq}: {why}", missing
        )

    def _tell(self, problems: list[Problem]) -> list[Problem]:
        for p in problems:  # bound: a few per entry
            self.problems.append(p)
            self.on_problem(p)
        return problems

    def _trim(self, room: _Room) -> None:
        if len(room.hashes) <= MAX_KEPT:
            return
        for seq in sorted(room.hashes)[: len(room.hashes) - MAX_KEPT]:  # bound: the excess
            room.hashes.pop(seq, None)
            room.entries.pop(seq, None)
            if room.head is None or seq != room.head.entry.seq:
                room.signed.pop(seq, None)


def default_store_path(chain_id: int, disputes: str, account: str) -> Path:
    """Where a client keeps the signed history it saw (CLUB_HISTORY_DIR, else ~/.clubchat/history)."""
    base = Path(os.environ.get("CLUB_HISTORY_DIR", Path.home() / ".clubchat" / "history"))
    return base / f"{chain_id}-{to_checksum_address(disputes)}-{to_checksum_address(account)}.jsonl"


class HistoryStore:
    """The client's store of signed history: one JSON line per signed entry it saw (its own, and
    other members' heads) and per piece of equivocation evidence, appended as they arrive (a
    process that dies keeps what it wrote). Replaying it into a `HistoryBook` finds forks across
    runs too: an entry a relay signed yesterday and a different one for the same place today.
    At most `max_lines` are kept: past that the oldest entries are dropped (evidence always stays)."""

    def __init__(self, path: Path, max_lines: int = 200_000) -> None:
        self.path = path
        self.max_lines = max_lines
        self._replaying = False
        self._written = 0

    def _append(self, row: dict[str, Any]) -> None:
        if self._replaying:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        self._written += 1
        if self._written % 1_000 == 0:
            self._compact()

    def keep(self, relay: str, signed: SignedEntry, foreign: bool = False) -> None:
        self._append({"relay": relay, "foreign": foreign, **signed.to_json()})

    def keep_evidence(self, evidence: Evidence) -> None:
        self._append({"evidence": evidence.to_json()})

    def rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line cut by a crash mid-write
                out.append(json.loads(line))
        return out

    def _compact(self) -> None:
        rows = self.rows()
        if len(rows) <= self.max_lines:
            return
        evidence = [r for r in rows if "evidence" in r]
        entries = [r for r in rows if "evidence" not in r][-(self.max_lines - len(evidence)) :]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in evidence + entries))
        tmp.replace(self.path)

    def replay(self, book: HistoryBook) -> list[Evidence]:
        """Feeds every stored entry to `book` (problems other than forks are not told again) and
        returns the equivocation evidence: stored, and found by the replay."""
        found: list[Evidence] = []
        for row in self.rows():
            if "evidence" in row and row["evidence"].get("kind") == "equivocation":
                ev = row["evidence"]
                e = Evidence("equivocation", ev["node"], _signed_of(ev["a"]), _signed_of(ev["b"]))
                if e not in found:  # kept twice by an older client: one fork, one proof
                    found.append(e)
        told, book.on_problem = book.on_problem, lambda problem: None
        self._replaying = True
        try:
            for row in self.rows():
                if "entry" not in row:
                    continue
                signed = _signed_of(row)
                if row.get("foreign"):
                    book.compare_head(row["relay"], signed.entry, signed.sig)
                else:
                    book.record(row["relay"], signed.entry, signed.sig)
        finally:
            self._replaying = False
            book.on_problem = told
        seen = {(e.a.entry.struct_hash(), e.b.entry.struct_hash()) for e in found if e.b is not None}
        for e in book.evidence:
            if e.kind == "equivocation" and e.b is not None:
                pair = (e.a.entry.struct_hash(), e.b.entry.struct_hash())
                if pair not in seen and pair[::-1] not in seen:
                    seen.add(pair)
                    found.append(e)
        return found


def _signed_of(row: dict[str, Any]) -> SignedEntry:
    return SignedEntry(LogEntry.from_json(row["entry"]), bytes.fromhex(str(row["sig"]).removeprefix("0x")))


def client_book(
    w3: Any, deployment: Any, account: str, on_problem: Callable[[Problem], None]
) -> HistoryBook | None:
    """The HistoryBook a `club` client command checks relays with: node keys from the registry,
    problems told through `on_problem`, signed entries kept in this wallet's store (None when the
    deployment has no Disputes: there is no signed history then)."""
    if "Disputes" not in deployment.contracts:
        return None
    chain_id, disputes = int(w3.eth.chain_id), deployment.address("Disputes")
    registry = deployment.contract(w3, "NodeRegistry")
    keys = registry_keys(registry)
    store = HistoryStore(default_store_path(chain_id, disputes, account))
    return HistoryBook(chain_id, disputes, keys, on_problem, store)


def registry_keys(registry: Any) -> NodeKeys:
    """NodeKeys read from a web3.py NodeRegistry: the current key, and the operator any other key
    was bound to (a key rotated away still signs evidence)."""
    return NodeKeys(
        lambda op: str(registry.functions.node_key(op).call()),
        owner=lambda key: str(registry.functions.key_record(key).call()[0]),
    )
