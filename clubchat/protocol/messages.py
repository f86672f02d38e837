"""Every Club Chat wire message, defined once: relay frames, signaling payloads, data-channel chunks.

Relay frames (JSON text over the relay WebSocket, each with a `type`):
  relay -> client  challenge, signed-in, envelope, stored, sent, turn-credentials, keys, error,
                   logged, entries (signed relay history)
  client -> relay  sign-in, envelope, ack, get-turn-credentials, publish-keys, revoke-keys, get-keys,
                   history
An envelope `{type, id, from, to, payload}` carries one payload: Club Chat's signaling messages
(offer, answer, candidate, remove-candidates, bye, exactly as the product brief defines them) or
a chat `text`. Clients send every one of them end-to-end encrypted (clubchat.crypto) as a `sealed`
payload (may be stored for an offline recipient) or a `sealed-signal` (signaling: live only); the
plaintext payloads are what a `sealed` one decrypts to. Key bundles (`publish-keys`, `get-keys`,
`keys`, `revoke-keys`) carry the wallet-signed statements that bind a device's keys to a wallet.
Data-channel messages follow the brief's chunk format `{fileId, index, mime, data}`
(no type key), then a typed `file-complete` {count, sha256} that the receiver answers with `file-ack`.

`decode_frame` / `decode_datachannel` validate at the edge and raise `ProtocolError` with a
machine code; `encode` gives compact JSON. `json_schema()` is the JSON schema of all of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from clubchat.protocol.codec import (
    DecodeError,
    decode_object,
    decode_value,
    encode_object,
    object_schema,
    spec,
    validate_object,
)

# Wire limits that are part of the protocol (a relay may be stricter, never looser).
ADDRESS_PATTERN = r"0x[0-9a-fA-F]{40}"
ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
MAX_SDP_CHARS = 32_768
MAX_CANDIDATE_CHARS = 1_024
MAX_CANDIDATES = 64
MAX_TEXT_CHARS = 16_384
MAX_REASON_CHARS = 256
MAX_SIGN_IN_CHARS = 2_048
MAX_SIGNATURE_HEX = 4_096
MAX_CHUNK_B64 = 65_536
MEDIA_OPTIONS = ("audio", "video", "data")
Media = Literal["audio", "video", "data"]


class ProtocolError(ValueError):
    """A frame broke the protocol; `code` is the machine code sent back in an `error` frame."""

    def __init__(self, code: str, reason: str, id: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.id = id  # the frame's envelope id when it had a well-formed one


# Error codes a relay answers with (`error.code`). Kept in one table so clients can match on them.
ERROR_CODES: dict[str, str] = {
    "malformed": "the frame is not valid JSON or does not match the protocol schema",
    "too-large": "the frame is larger than this relay accepts",
    "unknown-type": "the frame's type is not one this relay understands",
    "unauthenticated": "sign in first",
    "already-signed-in": "this connection is already signed in",
    "bad-sign-in": "the sign-in message or its signature is not valid for this relay",
    "spoofed-sender": "envelope.from is not the signed-in address",
    "replayed": "an envelope with this id from this sender was already accepted",
    "rate-limited": "too many frames from this address; slow down",
    "offline": "the recipient is not connected and this relay keeps no mailbox",
    "mailbox-full": "the recipient's mailbox is full",
    "recipient-busy": "the recipient is not reading its messages, or this relay is holding too much",
    "too-many-connections": "this address or IP has as many connections as this relay allows",
    "unknown-message": "no stored message with this id",
    "not-offered": "this node does not offer that service",
    "bad-range": "the history range is empty or longer than a relay answers at once",
    "bad-key-bundle": "the key bundle or revocation is malformed, expired, or not signed by its wallet",
    "internal": "the relay failed to handle the frame",
}


# ------------------------------------------------------------------------------------------------
# Signaling payloads (product brief "WebRTC Signaling Protocol")
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IceCandidate:
    """One ICE candidate line as WebRTC hands it out."""

    sdp: str = spec(max_len=MAX_CANDIDATE_CHARS)
    sdp_mline_index: int = spec(key="sdpMLineIndex", minimum=0, maximum=255)
    sdp_mid: str | None = spec(key="sdpMid", max_len=64)


@dataclass(frozen=True)
class Offer:
    """SDP offer with the media the caller wants."""

    TYPE: ClassVar[str] = "offer"
    sdp: str = spec(max_len=MAX_SDP_CHARS)
    options: tuple[Media, ...] = spec(max_items=3, unique=True)


@dataclass(frozen=True)
class Answer:
    """SDP answer."""

    TYPE: ClassVar[str] = "answer"
    sdp: str = spec(max_len=MAX_SDP_CHARS)


@dataclass(frozen=True)
class Candidates:
    """Trickled ICE candidates.

    A candidate whose `sdp` is empty marks the end of the sender's candidates (WebRTC's
    end-of-candidates, as `addIceCandidate` takes it); the reference client sends its offer/answer
    without candidate lines and every candidate, then that marker, in one of these.
    """

    TYPE: ClassVar[str] = "candidate"
    candidates: tuple[IceCandidate, ...] = spec(max_items=MAX_CANDIDATES, min_items=1)


@dataclass(frozen=True)
class RemoveCandidates:
    """ICE candidates the sender no longer uses.

    Sent when the sender's TURN allocation goes away (hang-up, failover to another relay); the
    receiver remembers them and ignores them if they arrive again in a later `candidate`.
    """

    TYPE: ClassVar[str] = "remove-candidates"
    candidates: tuple[IceCandidate, ...] = spec(max_items=MAX_CANDIDATES, min_items=1)


@dataclass(frozen=True)
class Bye:
    """End of a call (or its rejection) with a reason."""

    TYPE: ClassVar[str] = "bye"
    reason: str = spec(max_len=MAX_REASON_CHARS)


@dataclass(frozen=True)
class Text:
    """A chat message."""

    TYPE: ClassVar[str] = "text"
    body: str = spec(max_len=MAX_TEXT_CHARS)


# -- Signed relay history (clubchat.protocol.log_entry, clubchat.node.relay_log) ------------------
BYTES32_PATTERN = r"0x[0-9a-fA-F]{64}"
SIGNATURE65_PATTERN = r"0x[0-9a-fA-F]{130}"  # r || s || v, v 27/28, low s
MAX_LOGGED = 1_024  # envelope entries one `logged` frame carries
MAX_HISTORY = 256  # entries one `history` request may ask for


@dataclass(frozen=True)
class LogRecord:
    """A relay-log `LogEntry` on the wire (`LogEntry.to_json`); uint64s stay below 2**53 in JSON."""

    node: str = spec(pattern=ADDRESS_PATTERN)
    room: str = spec(pattern=BYTES32_PATTERN)
    seq: int = spec(minimum=1, maximum=2**53)
    prev: str = spec(pattern=BYTES32_PATTERN)
    body: str = spec(pattern=BYTES32_PATTERN)
    time: int = spec(minimum=0, maximum=2**53)


@dataclass(frozen=True)
class SignedRecord:
    """An entry and the relay's signature over it (none when a later signed entry covers it)."""

    entry: LogRecord = spec()  # noqa: RUF009 - wire metadata, not a default
    sig: str | None = spec(default=None, pattern=SIGNATURE65_PATTERN)


@dataclass(frozen=True)
class Head:
    """A member's latest signed entry of a room at one relay, sent to the other members inside an
    envelope (so any relay carries it) to compare: two signed entries of one (node, room, seq) with
    different hashes prove the relay forked the room."""

    TYPE: ClassVar[str] = "head"
    relay: str = spec(max_len=256)  # the relay's URI, for the user
    entry: LogRecord = spec()  # noqa: RUF009 - wire metadata, not a default
    sig: str = spec(pattern=SIGNATURE65_PATTERN)


# ------------------------------------------------------------------------------------------------
# End-to-end encrypted payloads and key bundles (clubchat.crypto makes and opens them)
# ------------------------------------------------------------------------------------------------

B64_PATTERN = r"[A-Za-z0-9+/]*={0,2}"
HEX_PATTERN = r"[0-9a-f]*"
KEY_ID_PATTERN = r"[0-9a-f]{16}"
MAX_SEALED_B64 = 60_200  # base64 of the largest padding bucket (45,056 B) plus the 16-byte tag
MAX_STATEMENT_CHARS = 1_024


@dataclass(frozen=True)
class Sealed:
    """A payload encrypted with the Double Ratchet session `sid` between sender and recipient
    (clubchat.crypto.ratchet); may be stored offline.

    `skid` names the sender's wallet-bound identity key; `hdr` is the encrypted ratchet header (the
    sender's ratchet key, the previous chain's length and this message's number, under the chain's
    header key) and `ct` the padded ciphertext, both base64. A message that opens a session (until
    the recipient answered in it) also carries `kid`, the recipient's prekey, and `enc`, the HPKE
    (auth mode) encapsulated key the session's secret comes from.
    """

    TYPE: ClassVar[str] = "sealed"
    sid: str = spec(pattern=KEY_ID_PATTERN)
    skid: str = spec(pattern=KEY_ID_PATTERN)
    hdr: str = spec(max_len=92, min_len=92, pattern=B64_PATTERN)
    ct: str = spec(max_len=MAX_SEALED_B64, pattern=B64_PATTERN)
    kid: str | None = spec(default=None, pattern=KEY_ID_PATTERN)
    enc: str | None = spec(default=None, max_len=44, min_len=44, pattern=B64_PATTERN)


@dataclass(frozen=True)
class SealedSignal(Sealed):
    """A sealed signaling message (offer, answer, candidates, remove-candidates, bye): live only."""

    TYPE: ClassVar[str] = "sealed-signal"


@dataclass(frozen=True)
class KeyBundle:
    """A device's keys bound to a wallet: the statement (clubchat.crypto.bundle) signed by the wallet
    (EIP-191, or EIP-1271 for a contract wallet), and a medium-term prekey signed by the statement's
    Ed25519 key."""

    statement: str = spec(max_len=MAX_STATEMENT_CHARS)
    signature: str = spec(pattern=rf"0x(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_HEX // 2}}}")
    prekey: str = spec(min_len=64, max_len=64, pattern=HEX_PATTERN)
    prekey_expires: int = spec(key="prekeyExpires", minimum=0, maximum=2**53)
    prekey_signature: str = spec(key="prekeySignature", min_len=128, max_len=128, pattern=HEX_PATTERN)


@dataclass(frozen=True)
class Revocation:
    """A wallet-signed statement that revokes one bound identity key (and every bundle that uses it)."""

    statement: str = spec(max_len=MAX_STATEMENT_CHARS)
    signature: str = spec(pattern=rf"0x(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_HEX // 2}}}")


@dataclass(frozen=True)
class SenderKeyDistribution:
    """A member's sender key for one room epoch (clubchat.crypto.roomseal), handed to another member
    only inside a direct `sealed` payload: the chain key and iteration it starts at, and the
    Ed25519 key that verifies the member's room messages. Never sent in the clear."""

    TYPE: ClassVar[str] = "sender-key"
    room: str = spec(max_len=96)  # "<community id>/<room name>"
    epoch: int = spec(minimum=1, maximum=2**32 - 1)
    chain_key: str = spec(key="chainKey", min_len=64, max_len=64, pattern=HEX_PATTERN)
    iteration: int = spec(minimum=0, maximum=2**32 - 1)
    verify_key: str = spec(key="verifyKey", min_len=64, max_len=64, pattern=HEX_PATTERN)


@dataclass(frozen=True)
class RoomSealed:
    """A room message encrypted with the sender's sender key of `epoch` (clubchat.crypto.roomseal):
    `ct` (base64) is the header (room digest, epoch, iteration), the ChaCha20-Poly1305 ciphertext of
    the padded payload and the sender's Ed25519 signature over both."""

    TYPE: ClassVar[str] = "room-sealed"
    epoch: int = spec(minimum=1, maximum=2**32 - 1)
    ct: str = spec(max_len=MAX_SEALED_B64 + 128, pattern=B64_PATTERN)


Payload = (
    Offer
    | Answer
    | Candidates
    | RemoveCandidates
    | Bye
    | Text
    | Head
    | Sealed
    | SealedSignal
    | SenderKeyDistribution
    | RoomSealed
)
SIGNALING_TYPES = ("offer", "answer", "candidate", "remove-candidates", "bye")
# Payload types a relay never stores for an offline recipient (signaling is only useful live).
LIVE_ONLY_TYPES = (*SIGNALING_TYPES, "sealed-signal")


# ------------------------------------------------------------------------------------------------
# Relay frames
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """First frame of a relay: what the sign-in message must be bound to."""

    TYPE: ClassVar[str] = "challenge"
    nonce: str = spec(pattern=r"[A-Za-z0-9]{8,64}")
    uri: str = spec(max_len=256)
    chain_id: int = spec(key="chainId", minimum=1, maximum=2**53)
    max_ttl: int = spec(key="maxTtl", minimum=1, maximum=86_400 * 30)


@dataclass(frozen=True)
class SignIn:
    """EIP-4361 message and its wallet signature (EIP-191 for EOAs, EIP-1271 for contract wallets)."""

    TYPE: ClassVar[str] = "sign-in"
    message: str = spec(max_len=MAX_SIGN_IN_CHARS)
    signature: str = spec(pattern=rf"0x(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_HEX // 2}}}")


@dataclass(frozen=True)
class SignedIn:
    """The relay accepted the sign-in until `expires` (unix seconds)."""

    TYPE: ClassVar[str] = "signed-in"
    address: str = spec(pattern=ADDRESS_PATTERN)
    expires: int = spec(minimum=0)


@dataclass(frozen=True)
class Envelope:
    """One payload from one signed-in address to another, forwarded unchanged by relays."""

    TYPE: ClassVar[str] = "envelope"
    id: str = spec(pattern=ID_PATTERN)
    sender: str = spec(key="from", pattern=ADDRESS_PATTERN)
    to: str = spec(pattern=ADDRESS_PATTERN)
    payload: Payload = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class Sent:
    """The relay took an envelope: handed to the recipient's connections, or stored in its mailbox.

    A relay that keeps a signed history sends it once the envelope's log entry is durable, with the
    entry (`entry`) and, when the entry ends its batch, the relay's signature (`sig`)."""

    TYPE: ClassVar[str] = "sent"
    id: str = spec(pattern=ID_PATTERN)
    status: Literal["delivered", "stored"] = spec()
    entry: LogRecord | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default
    sig: str | None = spec(default=None, pattern=SIGNATURE65_PATTERN)


@dataclass(frozen=True)
class Stored:
    """An envelope handed out from the mailbox; the recipient must `ack` it or gets it again."""

    TYPE: ClassVar[str] = "stored"
    envelope: Envelope = spec()  # noqa: RUF009 - wire metadata, not a default


def stored_frame(envelope_text: str) -> str:
    """Wrap a stored envelope's JSON text without re-encoding it."""
    return '{"type":"stored","envelope":' + envelope_text + "}"


@dataclass(frozen=True)
class LoggedEnvelope:
    """The log entry of one envelope the connection received (forwarded or from the mailbox)."""

    id: str = spec(pattern=ID_PATTERN)
    sender: str = spec(key="from", pattern=ADDRESS_PATTERN)
    entry: LogRecord = spec()  # noqa: RUF009 - wire metadata, not a default
    sig: str | None = spec(default=None, pattern=SIGNATURE65_PATTERN)


@dataclass(frozen=True)
class Logged:
    """relay -> recipient, right after the envelopes: their durable log entries, in seq order."""

    TYPE: ClassVar[str] = "logged"
    records: tuple[LoggedEnvelope, ...] = spec(max_items=MAX_LOGGED, min_items=1)


@dataclass(frozen=True)
class History:
    """client -> relay: the entries `start`..`end` of the direct room with `peer` (a gap to fill)."""

    TYPE: ClassVar[str] = "history"
    peer: str = spec(pattern=ADDRESS_PATTERN)
    start: int = spec(key="from", minimum=1, maximum=2**53)
    end: int = spec(key="to", minimum=1, maximum=2**53)


@dataclass(frozen=True)
class Entries:
    """relay -> client: the answer to `history`, in seq order, the last one always signed. Fewer
    than asked means the relay cannot produce the rest (evidence for a flag)."""

    TYPE: ClassVar[str] = "entries"
    peer: str = spec(pattern=ADDRESS_PATTERN)
    start: int = spec(key="from", minimum=1, maximum=2**53)
    records: tuple[SignedRecord, ...] = spec(max_items=MAX_HISTORY)


@dataclass(frozen=True)
class Ack:
    """The recipient acknowledges a stored envelope; the mailbox deletes it only then."""

    TYPE: ClassVar[str] = "ack"
    id: str = spec(pattern=ID_PATTERN)
    sender: str = spec(key="from", pattern=ADDRESS_PATTERN)


@dataclass(frozen=True)
class GetTurnCredentials:
    """A signed-in client asks a TURN node for short-lived TURN credentials."""

    TYPE: ClassVar[str] = "get-turn-credentials"


@dataclass(frozen=True)
class TurnCredentials:
    """TURN REST credentials: username `expiry:address`, password base64(HMAC-SHA1(secret, username))."""

    TYPE: ClassVar[str] = "turn-credentials"
    username: str = spec(max_len=128)
    password: str = spec(max_len=128)
    ttl: int = spec(minimum=1)
    uris: tuple[str, ...] = spec(max_items=8, min_items=1)


@dataclass(frozen=True)
class PublishKeys:
    """A signed-in client publishes its own key bundle; the relay keeps the newest per address."""

    TYPE: ClassVar[str] = "publish-keys"
    bundle: KeyBundle = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RevokeKeys:
    """A signed-in client publishes a revocation of one of its wallet's identity keys."""

    TYPE: ClassVar[str] = "revoke-keys"
    revocation: Revocation = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class GetKeys:
    """Ask the relay for the key bundle (and any revocations) of `address`."""

    TYPE: ClassVar[str] = "get-keys"
    address: str = spec(pattern=ADDRESS_PATTERN)


@dataclass(frozen=True)
class Keys:
    """The relay's answer to `get-keys` (and to `publish-keys`, with the bundle it now serves).

    `bundle` is None when the relay has none for the address; clients verify everything themselves.
    """

    TYPE: ClassVar[str] = "keys"
    address: str = spec(pattern=ADDRESS_PATTERN)
    bundle: KeyBundle | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default
    revocations: tuple[Revocation, ...] = spec(default=(), max_items=8)
    # bundles the address replaced (another identity key) within the last 8 days: what it sealed with
    # them before re-keying still opens for a recipient who never saw them
    previous: tuple[KeyBundle, ...] = spec(default=(), max_items=2)


@dataclass(frozen=True)
class Error:
    """The relay refused a frame; `id` names the envelope or ack when there was one."""

    TYPE: ClassVar[str] = "error"
    code: str = spec(max_len=32)
    reason: str = spec(max_len=MAX_REASON_CHARS)
    id: str | None = spec(default=None, pattern=ID_PATTERN)


Frame = (
    Challenge
    | SignIn
    | SignedIn
    | Envelope
    | Stored
    | Sent
    | Ack
    | GetTurnCredentials
    | TurnCredentials
    | PublishKeys
    | RevokeKeys
    | GetKeys
    | Keys
    | Error
    | Logged
    | History
    | Entries
)
FRAME_CLASSES: dict[str, type] = {
    cls.TYPE: cls
    for cls in (
        Challenge,
        SignIn,
        SignedIn,
        Envelope,
        Stored,
        Sent,
        Ack,
        GetTurnCredentials,
        TurnCredentials,
        PublishKeys,
        RevokeKeys,
        GetKeys,
        Keys,
        Error,
        Logged,
        History,
        Entries,
    )
}
KEY_FRAMES = ("publish-keys", "revoke-keys", "get-keys")
CLIENT_FRAMES = ("sign-in", "envelope", "ack", "get-turn-credentials", "history", *KEY_FRAMES)


# ------------------------------------------------------------------------------------------------
# Data-channel file transfer (product brief "Send Data by datachannel")
# ------------------------------------------------------------------------------------------------

FILE_ID_PATTERN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


@dataclass(frozen=True)
class FileChunk:
    """One slice of a file: index from 0, base64 data (the brief's format, no type key)."""

    file_id: str = spec(key="fileId", pattern=FILE_ID_PATTERN)
    index: int = spec(minimum=0, maximum=2**31)
    mime: str = spec(max_len=255)
    data: str = spec(max_len=MAX_CHUNK_B64, pattern=r"[A-Za-z0-9+/]*={0,2}")


@dataclass(frozen=True)
class FileComplete:
    """Sent after the last chunk: how many chunks there were and the SHA-256 of the whole file."""

    TYPE: ClassVar[str] = "file-complete"
    file_id: str = spec(key="fileId", pattern=FILE_ID_PATTERN)
    count: int = spec(minimum=0, maximum=2**31)
    sha256: str = spec(pattern=r"[0-9a-f]{64}")
    # The sender's file name (no directories; the receiver sanitises it again before saving).
    name: str | None = spec(default=None, max_len=255)


@dataclass(frozen=True)
class FileAck:
    """The receiver's verdict: ok when every chunk arrived and the SHA-256 matched."""

    TYPE: ClassVar[str] = "file-ack"
    file_id: str = spec(key="fileId", pattern=FILE_ID_PATTERN)
    count: int = spec(minimum=0, maximum=2**31)
    sha256: str = spec(pattern=r"[0-9a-f]{64}")
    ok: bool = spec()


DataChannelMessage = FileChunk | FileComplete | FileAck


# ------------------------------------------------------------------------------------------------
# Encoding and decoding
# ------------------------------------------------------------------------------------------------


def encode(msg: Any) -> str:
    """Compact JSON text of any message above."""
    return json.dumps(encode_object(msg), separators=(",", ":"))


_ID = re.compile(ID_PATTERN)
MAX_DEPTH = 16  # deepest legitimate message: stored > envelope > payload > candidates > list > candidate
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")

# Everything below runs on untrusted input before sign-in, so every check is LINEAR in the length of
# the text (str.count/replace/split/translate and json.loads: single passes in C, no regex that can
# restart or backtrack). tests/node/test_frame_cost.py bounds their cost against json.loads.


def _too_deep(text: str) -> bool:
    """True when JSON nesting exceeds MAX_DEPTH (checked before parsing: the C parser's recursion
    guard follows sys.recursionlimit, and a raised limit lets deep input overflow the C stack).

    Linear in len(text): on the UTF-8 bytes (a multi-byte character never contains an ASCII byte),
    drop escaped backslashes then escaped quotes, so the quotes left delimit strings; drop every
    string (an unclosed one runs to the end); keep the brackets; then peel matched `[]` pairs
    innermost first, one layer per pass, at most MAX_DEPTH passes. Exact for valid JSON; for invalid
    JSON the parser's recursion stays below 2 * MAX_DEPTH (unmatched opening brackets are counted).
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    data = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    if b'"' in data:
        data = b"".join(data.split(b'"')[::2])  # even parts are outside strings
    data = data.translate(_ONE_BRACKET_KIND, _NOT_BRACKET)
    for _ in range(MAX_DEPTH):  # bound: MAX_DEPTH passes, each linear
        inner = data.replace(b"[]", b"")
        if len(inner) == len(data):
            break
        data = inner
    return b"[]" in data or data.count(b"[") > MAX_DEPTH


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads object hook: a duplicate key is an error. Parsers disagree on which copy wins, so a
    relay that forwards the text must not let a client see a different `from` than it checked."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:  # bound: the object's keys, once (linear)
            if key in seen:
                raise ProtocolError("malformed", f"duplicate key {key[:40]!r} in a JSON object")
            seen.add(key)
    return obj


def _loads(text: str | bytes) -> Any:
    if isinstance(text, bytes):
        raise ProtocolError("malformed", "frames are JSON text, not binary")
    if _too_deep(text):
        raise ProtocolError("malformed", f"JSON nesting deeper than {MAX_DEPTH}")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        raise ProtocolError("malformed", "the frame is not valid JSON") from None


def _frame(text: str | bytes, allowed: tuple[str, ...] | None, build: bool) -> Any:
    obj = _loads(text)
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", "a frame is a JSON object")
    kind = obj.get("type")
    cls = FRAME_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None or (allowed is not None and kind not in allowed):
        shown = repr(kind)[:40]
        raise ProtocolError("unknown-type", f"frame type {shown} is not accepted here")
    try:
        if build:
            return decode_object(cls, obj)
        validate_object(cls, obj)
        return obj
    except DecodeError as exc:
        id = obj.get("id")
        ok_id = id if isinstance(id, str) and _ID.fullmatch(id) else None
        raise ProtocolError("malformed", str(exc)[:MAX_REASON_CHARS], ok_id) from None


def decode_frame(text: str | bytes, allowed: tuple[str, ...] | None = None) -> Frame:
    """Decode one relay frame; `allowed` restricts the accepted types (e.g. CLIENT_FRAMES)."""
    frame: Frame = _frame(text, allowed, build=True)
    return frame


def validate_frame(text: str | bytes, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`decode_frame`'s checks and errors, but returns the parsed JSON object instead of a message.

    For a forwarder: it passes the validated text on unchanged and reads only a few keys (`type`,
    `id`, `from`, `to`, `payload.type`), so building dataclasses it never uses would be waste.
    """
    obj: dict[str, Any] = _frame(text, allowed, build=False)
    return obj


def frame_from_object(obj: dict[str, Any]) -> Frame:
    """The message of a JSON object that `validate_frame` accepted."""
    try:
        return decode_object(FRAME_CLASSES[obj["type"]], obj)
    except DecodeError as exc:  # not after validate_frame: same checks
        raise ProtocolError("malformed", str(exc)[:MAX_REASON_CHARS]) from None


def decode_payload(obj: Any) -> Payload:
    """Decode an envelope payload alone (the JSON object, already parsed)."""
    try:
        return decode_value(obj, Payload, "payload")
    except DecodeError as exc:
        raise ProtocolError("malformed", str(exc)[:MAX_REASON_CHARS]) from None


def decode_datachannel(text: str | bytes) -> DataChannelMessage:
    """Decode one data-channel message: a chunk (no type key), file-complete or file-ack."""
    obj = _loads(text)
    if not isinstance(obj, dict):
        raise ProtocolError("malformed", "a data-channel message is a JSON object")
    kind = obj.get("type")
    cls: type = FileChunk
    if kind == "file-complete":
        cls = FileComplete
    elif kind == "file-ack":
        cls = FileAck
    elif kind is not None:
        raise ProtocolError("unknown-type", f"data-channel type {repr(kind)[:40]} is not known")
    try:
        return decode_object(cls, obj)
    except DecodeError as exc:
        raise ProtocolError("malformed", str(exc)[:MAX_REASON_CHARS]) from None


def error_frame(code: str, reason: str | None = None, id: str | None = None) -> str:
    """JSON text of an `error` frame with the standard reason for `code` unless one is given."""
    return encode(Error(code=code, reason=(reason or ERROR_CODES[code])[:MAX_REASON_CHARS], id=id))


def json_schema() -> dict[str, Any]:
    """JSON schema (draft 2020-12) of relay frames and data-channel messages."""
    defs: dict[str, Any] = {}
    for cls in (*FRAME_CLASSES.values(), FileChunk, FileComplete, FileAck):
        defs[cls.__name__] = object_schema(cls, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://clubchat.example/protocol.schema.json",
        "title": "Club Chat relay frames and data-channel messages",
        "$defs": dict(sorted(defs.items())),
        "oneOf": [
            {"$ref": f"#/$defs/{cls.__name__}"}
            for cls in (*FRAME_CLASSES.values(), FileChunk, FileComplete, FileAck)
        ],
    }


# ------------------------------------------------------------------------------------------------
# Ad notifications (NOTIFY nodes, clubchat.node.notify; receipts and preferences: clubchat.ads)
# ------------------------------------------------------------------------------------------------
#   node -> client  notification, ad-preference-set, receipted
#   client -> node  ad-preference, ad-receipt
# Appended after the frames above: FRAME_CLASSES and CLIENT_FRAMES gain these types here.

MAX_CREATIVE_URI = 256  # AdMarket's creative URI limit
MAX_AD_TEXT = 1_024  # characters of a creative's text a notification carries
UINT256_MAX = 2**256 - 1
HEX_SIGNATURE_PATTERN = rf"0x(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_HEX // 2}}}"


@dataclass(frozen=True)
class AdPreference:
    """client -> NOTIFY node: the user's signed ad setting, EIP-712
    `AdPreference(address user,bool enabled,uint256 issued)` in the AdMarket domain. The node keeps
    the one with the highest `issued` (unix seconds) per user, so an old opt-in cannot be replayed
    over a newer opt-out; the user must be the signed-in address."""

    TYPE: ClassVar[str] = "ad-preference"
    user: str = spec(pattern=ADDRESS_PATTERN)
    enabled: bool = spec()
    issued: int = spec(minimum=0, maximum=2**53)
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


@dataclass(frozen=True)
class AdPreferenceSet:
    """NOTIFY node -> client: the setting the node now holds for the signed-in user."""

    TYPE: ClassVar[str] = "ad-preference-set"
    enabled: bool = spec()
    issued: int = spec(minimum=0, maximum=2**53)


@dataclass(frozen=True)
class Notification:
    """NOTIFY node -> client: one notification of an AdMarket campaign. `count` is how many of the
    campaign's notifications this node has delivered to the user (the count its receipt names);
    `node` the node's registry address; the client checks keccak256(text) == `creative_hash`."""

    TYPE: ClassVar[str] = "notification"
    campaign: int = spec(minimum=1, maximum=2**53)
    node: str = spec(pattern=ADDRESS_PATTERN)
    count: int = spec(minimum=1, maximum=2**53)
    creative_hash: str = spec(key="creativeHash", pattern=BYTES32_PATTERN)
    creative_uri: str = spec(key="creativeUri", max_len=MAX_CREATIVE_URI)
    text: str = spec(max_len=MAX_AD_TEXT)


@dataclass(frozen=True)
class AdReceipt:
    """client -> NOTIFY node: the signed-in user's cumulative EIP-712 `Receipt` for `count`
    notifications of `campaign` through `node` (clubchat.ads.receipts)."""

    TYPE: ClassVar[str] = "ad-receipt"
    campaign: int = spec(minimum=1, maximum=2**53)
    node: str = spec(pattern=ADDRESS_PATTERN)
    count: int = spec(minimum=1, maximum=2**53)
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


@dataclass(frozen=True)
class Receipted:
    """NOTIFY node -> client: the receipt is stored durably (it survives a crash of the node)."""

    TYPE: ClassVar[str] = "receipted"
    campaign: int = spec(minimum=1, maximum=2**53)
    count: int = spec(minimum=1, maximum=2**53)


AD_CLIENT_FRAMES = ("ad-preference", "ad-receipt")
FRAME_CLASSES.update(
    {cls.TYPE: cls for cls in (AdPreference, AdPreferenceSet, Notification, AdReceipt, Receipted)}
)
CLIENT_FRAMES = (*CLIENT_FRAMES, *AD_CLIENT_FRAMES)  # type: ignore[assignment]  # a longer tuple
ERROR_CODES.update(
    {
        "bad-ad-preference": "the ad preference is not the signed-in user's, or older than the one held",
        "bad-receipt": "the receipt is not the signed-in user's, names another node, or counts too many",
        "payment-required": "the recipient takes first messages from strangers only as paid requests",
    }
)


# Community rooms (clubchat.node.rooms enforces them on relays, clubchat.communities.rooms joins)
# ------------------------------------------------------------------------------------------------
# A room is (community id, name). `general` is every community's default room; a name starting with
# `broadcast:` is a broadcast room, where only the community's owner and admins may post. A relay
# admits a connection to a room, and each message into it, only while its membership cache says
# `is_member` (clubchat.communities.cache, fed from Communities' logs).

ROOM_NAME_PATTERN = r"(?:broadcast:)?[a-z0-9][a-z0-9-]{0,31}"
DEFAULT_ROOM = "general"
BROADCAST_PREFIX = "broadcast:"
MAX_ROOM_HISTORY = 256  # retained messages one `room-join` may replay
MAX_ROOM_CHUNK_B64 = 43_692  # base64 of a 32 KiB file chunk


@dataclass(frozen=True)
class RoomFileChunk:
    """One slice of a file posted to a room: `size` is the whole file's size in bytes."""

    file_id: str = spec(key="fileId", pattern=FILE_ID_PATTERN)
    index: int = spec(minimum=0, maximum=2**31)
    size: int = spec(minimum=0, maximum=2**53)
    data: str = spec(max_len=MAX_ROOM_CHUNK_B64, pattern=B64_PATTERN)


@dataclass(frozen=True)
class RoomRef:
    """Which room: a community id and a room name (the fields every room frame starts with)."""

    community: int = spec(minimum=1, maximum=2**53)
    room: str = spec(pattern=ROOM_NAME_PATTERN)


@dataclass(frozen=True)
class RoomJoin(RoomRef):
    """client -> relay: receive `room`'s messages here, after the retained ones with seq > `since`."""

    TYPE: ClassVar[str] = "room-join"
    since: int = spec(default=0, minimum=0, maximum=2**53)


@dataclass(frozen=True)
class RoomLeave(RoomRef):
    """client -> relay: stop receiving `room`'s messages on this connection."""

    TYPE: ClassVar[str] = "room-leave"


@dataclass(frozen=True)
class RoomSend(RoomRef):
    """client -> relay: post a message to a room."""

    TYPE: ClassVar[str] = "room-send"
    id: str = spec(pattern=ID_PATTERN)
    payload: Payload = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RoomFile(RoomRef):
    """client -> relay: post one chunk of a file to a room (the relay checks the sender's file limit)."""

    TYPE: ClassVar[str] = "room-file"
    id: str = spec(pattern=ID_PATTERN)
    file: RoomFileChunk = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RoomJoined(RoomRef):
    """relay -> client: admitted to the room; `seq` is the room's latest message seq on this relay."""

    TYPE: ClassVar[str] = "room-joined"
    seq: int = spec(minimum=0, maximum=2**53)
    online: int = spec(minimum=0)  # connections in the room on this relay, this one included


@dataclass(frozen=True)
class RoomPost(RoomRef):
    """What the relay adds to every post it fans out: the room's seq, the sender and the time."""

    seq: int = spec(minimum=1, maximum=2**53)
    id: str = spec(pattern=ID_PATTERN)
    sender: str = spec(key="from", pattern=ADDRESS_PATTERN)
    time: int = spec(minimum=0, maximum=2**53)


@dataclass(frozen=True)
class RoomMessage(RoomPost):
    """relay -> members: one room message, in the relay's seq order for the room."""

    TYPE: ClassVar[str] = "room-message"
    payload: Payload = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RoomFileMessage(RoomPost):
    """relay -> members: one file chunk posted to the room (seq shared with the room's messages)."""

    TYPE: ClassVar[str] = "room-file-chunk"
    file: RoomFileChunk = spec()  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RoomSent:
    """relay -> sender: the room message got `seq` and was queued to `delivered` connections."""

    TYPE: ClassVar[str] = "room-sent"
    id: str = spec(pattern=ID_PATTERN)
    seq: int = spec(minimum=1, maximum=2**53)
    delivered: int = spec(minimum=0)


@dataclass(frozen=True)
class RoomLeft(RoomRef):
    """relay -> client: this connection no longer receives the room (left, banned, expired, ...)."""

    TYPE: ClassVar[str] = "room-left"
    code: str = spec(max_len=32)
    reason: str = spec(max_len=MAX_REASON_CHARS)


ROOM_FRAMES = ("room-join", "room-leave", "room-send", "room-file")
ROOM_CLIENT_CLASSES = (RoomJoin, RoomLeave, RoomSend, RoomFile)
FRAME_CLASSES.update(
    {
        cls.TYPE: cls
        for cls in (
            RoomJoin,
            RoomLeave,
            RoomSend,
            RoomFile,
            RoomJoined,
            RoomMessage,
            RoomFileMessage,
            RoomSent,
            RoomLeft,
        )
    }
)
CLIENT_FRAMES = (*CLIENT_FRAMES, *ROOM_FRAMES)  # type: ignore[assignment]  # longer tuple
ERROR_CODES.update(
    {
        "not-member": "the signed-in address is not a member of this community (or not yet known here)",
        "banned": "the community banned this address",
        "admins-only": "only the community's owner and admins post in a broadcast room",
        "membership-unavailable": "this relay cannot confirm memberships now and the community fails closed",
        "over-tier-limit": "the frame is over the sender's premium tier limits",
        "not-joined": "join the room on this connection first",
        "too-many-rooms": "this connection or room has as many room subscriptions as this relay allows",
        "not-sealed": "room messages must be sealed (room-sealed payload); this relay carries no plaintext",
    }
)
