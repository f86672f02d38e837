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
they exist (its `prev` chain commits to every entry before it).

A relay serves a room's history only to the room's members. So that reviewers can ask for the
flagger's room itself, the file carries the flagger's signed grant (clubchat.protocol.history_grant:
this relay, this room, any holder, until the review is over) and where the relay finds the flagger's
membership: for a direct room `peer`, the room's other member (`--peer` on the flag commands); for a
community room (the refusal the client keeps when a relay did not fill a gap of `room-history`)
`community` and `room`, the room's community id and name, whose id `room_id(community, room)` is the
entries' `room` (`--community` and `--room`):

    {…, "grant": {"node", "room", "granter", "grantee", "expiry", "sig"}, "peer": "0x…"}
    {…, "grant": {…}, "community": 7, "room": "general"}

`attach` builds either. `check` checks the grant too (for the flagged node and the head's room,
signed by its granter, not expired, and for a community room its granter a member of the community
now, read from Communities by the reviewer: the relay would rightly refuse a grant whose granter left
or was banned); the reviewer then asks the relay for the missing seqs with it
(clubchat.disputes.probe.probe_granted_history: `history` or `room-history` with the grant) besides a
room of its own (`probe_history`), and votes kick when the evidence holds and the relay drops or
withholds in either. The file names `peer` or the community room: a flagger who will not publish them
flags without a grant, and reviewers then probe only rooms of their own.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from eth_abi import encode
from eth_utils import to_checksum_address

from clubchat.chain.eip712 import Domain
from clubchat.client.history import Evidence, HistoryStore, SignedEntry, default_store_path
from clubchat.disputes.client import DisputeError, DisputesClient
from clubchat.node.eip1271 import MAGIC_VALUE
from clubchat.protocol.codec import DecodeError, decode_object, encode_object
from clubchat.protocol.history_grant import ANYONE, Grant, HistoryGrant, eoa_signer, grant_domain
from clubchat.protocol.log_entry import LogEntry, direct_room
from clubchat.protocol.room_frames import ROOM_NAME_PATTERN, room_id

VERSION = 1
MAX_EVIDENCE_BYTES = 64 * 1024  # a head, up to MAX_ENTRIES entries and the range fit in far less
MAX_ENTRIES = 64
FETCH_TIMEOUT = 10.0
CLOCK_TOLERANCE = 300  # seconds an entry's time may be ahead of the reviewer's clock
GRANT_SLACK = 86_400  # a flag's grant lasts the vote phases plus this (the draw waits for its seed block)

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_SIG = re.compile(r"0x[0-9a-fA-F]{130}")
_ROOM_NAME = re.compile(ROOM_NAME_PATTERN)

SignedBy = Callable[[LogEntry, bytes], bool]  # True when the signature is by a key of entry.node
GrantedBy = Callable[[HistoryGrant, bytes], bool]  # True when the grant is signed by its granter
MemberOf = Callable[[int, str], bool]  # True when the account is a member of the community now
CommunityRoom = tuple[int, str]  # (community id, room name)


class TypedSigner(Protocol):
    """A wallet that signs EIP-712 typed data: an eth_account `LocalAccount`, or an ape account
    through clubchat.chain.ape_sender.ApeTypedSigner."""

    @property
    def address(self) -> str: ...

    def sign_typed_data(self, *args: Any, **kwargs: Any) -> Any: ...  # full_message=: has v, r, s


class EvidenceError(DisputeError):
    """Evidence that cannot be fetched, parsed or does not hold; the message says why."""


@dataclass(frozen=True)
class FlagEvidence:
    node: str
    head: SignedEntry
    missing: tuple[int, int]
    entries: tuple[SignedEntry, ...] = ()
    grant: Grant | None = None  # the flagger's grant to read the room, with `peer` or `community` + `room`
    peer: str | None = None  # a direct room: its other member
    community: int | None = None  # a community room: its community id ...
    room: str | None = None  # ... and name

    @property
    def community_room(self) -> CommunityRoom | None:
        return None if self.community is None or self.room is None else (self.community, self.room)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": VERSION,
            "node": self.node,
            "head": self.head.to_json(),
            "entries": [e.to_json() for e in self.entries],
            "missing": list(self.missing),
        }
        if self.grant is not None:
            out["grant"] = encode_object(self.grant)
            if self.peer is not None:
                out["peer"] = self.peer
            else:
                out["community"], out["room"] = self.community, self.room
        return out

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")


def from_store(store: HistoryStore, node: str, room: bytes | None = None) -> FlagEvidence:
    """The latest refusal by `node` in the wallet's store (of `room` when given), with the signed
    entries of that room the store holds below the gap (the newest MAX_ENTRIES)."""
    node = to_checksum_address(node)
    rows = store.rows()
    kept = [r["evidence"] for r in rows if "evidence" in r]
    refusals = [e for e in kept if e.get("kind") == "refusal" and _same(e.get("node"), node)]
    if room is not None:
        refusals = [e for e in refusals if _signed(e["a"]).entry.room == room]
    if not refusals:
        where = "" if room is None else f" of room 0x{room.hex()}"
        raise EvidenceError(f"the history store {store.path} holds no refusal by {node}{where}")
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
        grant, peer, place = _grant(raw)
    except EvidenceError:
        raise
    except Exception as exc:  # a field of the wrong type or shape
        raise EvidenceError(f"malformed evidence: {type(exc).__name__}: {exc}") from None
    community, room = place if place is not None else (None, None)
    return FlagEvidence(node, head, (missing[0], missing[1]), entries, grant, peer, community, room)


def _grant(raw: dict[str, Any]) -> tuple[Grant | None, str | None, CommunityRoom | None]:
    """The evidence's grant with its `peer` (a direct room) or its `community` and `room` (a
    community room), or none of them, from untrusted JSON."""
    if not any(k in raw for k in ("grant", "peer", "community", "room")):
        return None, None, None
    peer, place = raw.get("peer"), None
    if "community" in raw or "room" in raw:
        community, name = raw.get("community"), raw.get("room")
        if "peer" in raw:
            raise EvidenceError('a grant opens a direct room ("peer") or a community room, not both')
        if type(community) is not int or not 1 <= community <= 2**53:
            raise EvidenceError('a community room\'s grant comes with "community", the community id')
        if not isinstance(name, str) or not _ROOM_NAME.fullmatch(name):
            raise EvidenceError("a community room's grant comes with \"room\", the room's name")
        place = (community, name)
    elif not isinstance(peer, str) or not _ADDRESS.fullmatch(peer):
        raise EvidenceError(
            'a grant comes with "peer", the address of the room\'s other member (or "community" and'
            ' "room" for a community room)'
        )
    try:
        grant = decode_object(Grant, raw.get("grant"), "grant")
    except DecodeError as exc:
        raise EvidenceError(f"malformed grant: {exc}") from None
    return grant, None if place is not None else to_checksum_address(peer), place


def check(
    ev: FlagEvidence,
    node: str,
    signed_by: SignedBy,
    window: int,
    now: float | None = None,
    granted_by: GrantedBy | None = None,
    member_of: MemberOf | None = None,
) -> str:
    """What the evidence proves about `node` (one sentence), or EvidenceError saying why it does not.
    Evidence with a grant needs `granted_by` to check the grant's signature, and a community room's
    grant `member_of` to check that its granter is a member of the community now."""
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
    said = (
        f"the node signed seq {head.seq} of room 0x{head.room.hex()[:12]}…, so seqs {lo}-{hi} exist;"
        f" the flagger says the relay did not produce them"
    )
    if ev.grant is None:
        return said
    _check_grant(ev, node, now, granted_by, member_of)
    return said + f"; the flagger lets reviewers ask for them until {ev.grant.expiry}"


def _check_grant(
    ev: FlagEvidence, node: str, now: float, granted_by: GrantedBy | None, member_of: MemberOf | None
) -> None:
    assert ev.grant is not None
    grant = ev.grant.grant
    place = ev.community_room
    if grant.node != node or grant.room != ev.head.entry.room:
        raise EvidenceError("the grant is not for the flagged node's room of the signed head")
    if place is not None and room_id(*place) != grant.room:
        raise EvidenceError(f"the grant's room is not community {place[0]}'s room {place[1]}")
    if place is None and (ev.peer is None or direct_room(grant.granter, ev.peer) != grant.room):
        raise EvidenceError(f"the grant's granter {grant.granter} is not a member of the room with {ev.peer}")
    if grant.expiry <= now:
        raise EvidenceError(f"the grant expired at {grant.expiry}: reviewers cannot ask for the room")
    if granted_by is None or not granted_by(grant, ev.grant.signature):
        raise EvidenceError(f"the grant is not signed by its granter {grant.granter}")
    if place is not None and (member_of is None or not member_of(place[0], grant.granter)):
        raise EvidenceError(
            f"the grant's granter {grant.granter} is not a member of community {place[0]} now:"
            " the relay rightly refuses its grant"
        )


def granter_signed(w3: Any, domain: Domain, grant: HistoryGrant, sig: bytes) -> bool:
    """Whether `sig` over `grant` is its granter's: a key's low-s signature recovering to it, or,
    for a contract wallet, its EIP-1271 `isValidSignature(digest, sig)` answering the magic value
    through `w3` (a wallet without code, a revert or another answer: not signed)."""
    if eoa_signer(grant, domain, sig) == grant.granter:
        return True
    wallet = to_checksum_address(grant.granter)
    if not w3.eth.get_code(wallet):
        return False
    data = MAGIC_VALUE + encode(["bytes32", "bytes"], [grant.digest(domain), sig])
    try:
        answer = bytes(w3.eth.call({"to": wallet, "data": data}))
    except Exception:  # a revert, or a wallet without the function
        return False
    return answer[:4] == MAGIC_VALUE


def grant_expiry(client: DisputesClient, now: float | None = None) -> int:
    """How long a flag's grant lasts: the vote phases (governance-set) plus GRANT_SLACK, from now."""
    p = client.disputes.functions.parameters().call()
    return int(time.time() if now is None else now) + int(p[9]) + int(p[10]) + GRANT_SLACK


def attach(
    client: DisputesClient,
    node: str,
    out: Path,
    store: Path | None = None,
    peer: str | None = None,
    signer: TypedSigner | None = None,
    community_room: CommunityRoom | None = None,
) -> FlagEvidence:
    """The evidence file `club dispute flag --attach` and `ape run disputes flag --attach` write: the
    latest refusal by `node` in the flagger's history store (`store`, default the wallet's) and, with
    `signer` (the flagger's wallet), its grant to any holder to read that room at that relay until
    `grant_expiry`: the direct room with `peer`, or the community room `community_room` (community id,
    name; the latest refusal of that room is taken)."""
    chain_id = int(client.w3.eth.chain_id)
    flagger = to_checksum_address(client.sender.address)
    path = store or default_store_path(chain_id, client.disputes.address, flagger)
    if peer is not None and community_room is not None:
        raise EvidenceError(
            "a grant opens a direct room (--peer) or a community room (--community), not both"
        )
    rid = None if community_room is None else room_id(*community_room)
    ev = from_store(HistoryStore(path), node, rid)
    if peer is None and community_room is None:
        ev.write(out)
        return ev
    if signer is None or to_checksum_address(signer.address) != flagger:
        raise EvidenceError("the grant is signed by the flagging wallet: give its key")
    if peer is not None and direct_room(flagger, peer) != ev.head.entry.room:
        raise EvidenceError(
            f"the refused room is not your conversation with {peer}: give --peer the address you"
            " talked with there"
        )
    grant = HistoryGrant(ev.node, ev.head.entry.room, flagger, ANYONE, grant_expiry(client))
    signed = signer.sign_typed_data(
        full_message=grant.typed_data(grant_domain(chain_id, client.disputes.address))
    )
    sig = int(signed.r).to_bytes(32, "big") + int(signed.s).to_bytes(32, "big") + bytes([int(signed.v)])
    community, room = community_room if community_room is not None else (None, None)
    peer = None if peer is None else to_checksum_address(peer)
    ev = FlagEvidence(ev.node, ev.head, ev.missing, ev.entries, Grant.of(grant, sig), peer, community, room)
    ev.write(out)
    return ev


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
