"""Every Club Chat wire message, in one table: relay frames, the codec, and every family re-exported.

Relay frames (JSON text over the relay WebSocket, each with a `type`) are defined here:
  relay -> client  challenge, signed-in, envelope, stored, sent, turn-credentials, keys, error,
                   logged, entries (signed relay history)
  client -> relay  sign-in, envelope, ack, get-turn-credentials, publish-keys, revoke-keys, get-keys,
                   history
The other families live in their own modules and are registered here (`FRAME_CLASSES`,
`CLIENT_FRAMES`, `ERROR_CODES`), so `from clubchat.protocol import messages as m` reaches all of them:
  wire         limits, patterns and `ProtocolError`
  key_frames   one-time prekeys and relay-to-relay key bundle copies
  payloads     what an envelope carries: the brief's signaling messages, text, history heads, and
               the end-to-end encrypted payloads and key bundles (clients send everything sealed)
  datachannel  the brief's file chunks, `file-complete` and `file-ack` (peer to peer)
  ad_frames    NOTIFY node <-> client: notifications, ad preferences, receipts
  room_frames  community rooms on relays

`decode_frame` / `decode_datachannel` validate at the edge and raise `ProtocolError` with a
machine code; `encode` gives compact JSON. `json_schema()` is the JSON schema of all of it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from clubchat.protocol.ad_frames import AD_CLIENT_FRAMES as AD_CLIENT_FRAMES
from clubchat.protocol.ad_frames import AD_ERROR_CODES as AD_ERROR_CODES
from clubchat.protocol.ad_frames import AD_FRAMES as AD_FRAMES
from clubchat.protocol.ad_frames import MAX_AD_TEXT as MAX_AD_TEXT
from clubchat.protocol.ad_frames import MAX_CREATIVE_URI as MAX_CREATIVE_URI
from clubchat.protocol.ad_frames import UINT256_MAX as UINT256_MAX
from clubchat.protocol.ad_frames import AdPreference as AdPreference
from clubchat.protocol.ad_frames import AdPreferenceSet as AdPreferenceSet
from clubchat.protocol.ad_frames import AdReceipt as AdReceipt
from clubchat.protocol.ad_frames import Notification as Notification
from clubchat.protocol.ad_frames import Receipted as Receipted
from clubchat.protocol.codec import (
    DecodeError,
    decode_object,
    decode_value,
    encode_object,
    object_schema,
    spec,
    validate_object,
)
from clubchat.protocol.datachannel import DataChannelMessage as DataChannelMessage
from clubchat.protocol.datachannel import FileAck as FileAck
from clubchat.protocol.datachannel import FileChunk as FileChunk
from clubchat.protocol.datachannel import FileComplete as FileComplete
from clubchat.protocol.history_grant import GRANT_ERROR_CODES as GRANT_ERROR_CODES
from clubchat.protocol.history_grant import Grant as Grant
from clubchat.protocol.key_frames import KEY_EXTRA_CLIENT_FRAMES as KEY_EXTRA_CLIENT_FRAMES
from clubchat.protocol.key_frames import KEY_EXTRA_FRAMES as KEY_EXTRA_FRAMES
from clubchat.protocol.key_frames import MAX_ONE_TIME_BATCH as MAX_ONE_TIME_BATCH
from clubchat.protocol.key_frames import ONE_TIME_FRAMES as ONE_TIME_FRAMES
from clubchat.protocol.key_frames import ClaimOneTime as ClaimOneTime
from clubchat.protocol.key_frames import OneTimeClaimed as OneTimeClaimed
from clubchat.protocol.key_frames import OneTimePrekey as OneTimePrekey
from clubchat.protocol.key_frames import OneTimeStock as OneTimeStock
from clubchat.protocol.key_frames import PublishOneTime as PublishOneTime
from clubchat.protocol.key_frames import ReplicateKeys as ReplicateKeys
from clubchat.protocol.payloads import KEY_ID_PATTERN as KEY_ID_PATTERN
from clubchat.protocol.payloads import LIVE_ONLY_TYPES as LIVE_ONLY_TYPES
from clubchat.protocol.payloads import MAX_HISTORY as MAX_HISTORY
from clubchat.protocol.payloads import MAX_LOGGED as MAX_LOGGED
from clubchat.protocol.payloads import MAX_SEALED_B64 as MAX_SEALED_B64
from clubchat.protocol.payloads import MAX_STATEMENT_CHARS as MAX_STATEMENT_CHARS
from clubchat.protocol.payloads import SIGNALING_TYPES as SIGNALING_TYPES
from clubchat.protocol.payloads import Answer as Answer
from clubchat.protocol.payloads import Bye as Bye
from clubchat.protocol.payloads import Candidates as Candidates
from clubchat.protocol.payloads import Head as Head
from clubchat.protocol.payloads import IceCandidate as IceCandidate
from clubchat.protocol.payloads import KeyBundle as KeyBundle
from clubchat.protocol.payloads import LogRecord as LogRecord
from clubchat.protocol.payloads import Offer as Offer
from clubchat.protocol.payloads import Payload as Payload
from clubchat.protocol.payloads import RemoveCandidates as RemoveCandidates
from clubchat.protocol.payloads import Revocation as Revocation
from clubchat.protocol.payloads import RoomFileKey as RoomFileKey
from clubchat.protocol.payloads import RoomSealed as RoomSealed
from clubchat.protocol.payloads import Sealed as Sealed
from clubchat.protocol.payloads import SealedSignal as SealedSignal
from clubchat.protocol.payloads import SenderKeyDistribution as SenderKeyDistribution
from clubchat.protocol.payloads import SignedRecord as SignedRecord
from clubchat.protocol.payloads import Text as Text
from clubchat.protocol.room_frames import BROADCAST_PREFIX as BROADCAST_PREFIX
from clubchat.protocol.room_frames import DEFAULT_ROOM as DEFAULT_ROOM
from clubchat.protocol.room_frames import MAX_ROOM_CHUNK_B64 as MAX_ROOM_CHUNK_B64
from clubchat.protocol.room_frames import MAX_ROOM_HISTORY as MAX_ROOM_HISTORY
from clubchat.protocol.room_frames import ROOM_CLIENT_CLASSES as ROOM_CLIENT_CLASSES
from clubchat.protocol.room_frames import ROOM_ERROR_CODES as ROOM_ERROR_CODES
from clubchat.protocol.room_frames import ROOM_FRAMES as ROOM_FRAMES
from clubchat.protocol.room_frames import ROOM_NAME_PATTERN as ROOM_NAME_PATTERN
from clubchat.protocol.room_frames import ROOM_SERVER_CLASSES as ROOM_SERVER_CLASSES
from clubchat.protocol.room_frames import RoomEntries as RoomEntries
from clubchat.protocol.room_frames import RoomFile as RoomFile
from clubchat.protocol.room_frames import RoomFileChunk as RoomFileChunk
from clubchat.protocol.room_frames import RoomFileMessage as RoomFileMessage
from clubchat.protocol.room_frames import RoomHistory as RoomHistory
from clubchat.protocol.room_frames import RoomJoin as RoomJoin
from clubchat.protocol.room_frames import RoomJoined as RoomJoined
from clubchat.protocol.room_frames import RoomLeave as RoomLeave
from clubchat.protocol.room_frames import RoomLeft as RoomLeft
from clubchat.protocol.room_frames import RoomLogged as RoomLogged
from clubchat.protocol.room_frames import RoomMessage as RoomMessage
from clubchat.protocol.room_frames import RoomPost as RoomPost
from clubchat.protocol.room_frames import RoomRef as RoomRef
from clubchat.protocol.room_frames import RoomSend as RoomSend
from clubchat.protocol.room_frames import RoomSent as RoomSent
from clubchat.protocol.room_frames import room_id as room_id
from clubchat.protocol.untrusted_json import MAX_DEPTH as MAX_DEPTH
from clubchat.protocol.untrusted_json import loads_untrusted
from clubchat.protocol.untrusted_json import too_deep as too_deep
from clubchat.protocol.wire import ADDRESS_PATTERN as ADDRESS_PATTERN
from clubchat.protocol.wire import B64_PATTERN as B64_PATTERN
from clubchat.protocol.wire import BYTES32_PATTERN as BYTES32_PATTERN
from clubchat.protocol.wire import FILE_ID_PATTERN as FILE_ID_PATTERN
from clubchat.protocol.wire import HEX_PATTERN as HEX_PATTERN
from clubchat.protocol.wire import HEX_SIGNATURE_PATTERN as HEX_SIGNATURE_PATTERN
from clubchat.protocol.wire import ID_PATTERN as ID_PATTERN
from clubchat.protocol.wire import MAX_CANDIDATE_CHARS as MAX_CANDIDATE_CHARS
from clubchat.protocol.wire import MAX_CANDIDATES as MAX_CANDIDATES
from clubchat.protocol.wire import MAX_CHUNK_B64 as MAX_CHUNK_B64
from clubchat.protocol.wire import MAX_REASON_CHARS as MAX_REASON_CHARS
from clubchat.protocol.wire import MAX_SDP_CHARS as MAX_SDP_CHARS
from clubchat.protocol.wire import MAX_SIGN_IN_CHARS as MAX_SIGN_IN_CHARS
from clubchat.protocol.wire import MAX_SIGNATURE_HEX as MAX_SIGNATURE_HEX
from clubchat.protocol.wire import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from clubchat.protocol.wire import MEDIA_OPTIONS as MEDIA_OPTIONS
from clubchat.protocol.wire import SIGNATURE65_PATTERN as SIGNATURE65_PATTERN
from clubchat.protocol.wire import Media as Media
from clubchat.protocol.wire import ProtocolError as ProtocolError

# Error codes a relay answers with (`error.code`). Kept in one table so clients can match on them.
CORE_ERROR_CODES: dict[str, str] = {
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
    "history-unavailable": "this relay cannot make its signed history durable now; use another relay",
    "too-many-connections": "this address or IP has as many connections as this relay allows",
    "unknown-message": "no stored message with this id",
    "not-offered": "this node does not offer that service",
    "bad-range": "the history range is empty or longer than a relay answers at once",
    "bad-key-bundle": "the key bundle or revocation is malformed, expired, or not signed by its wallet",
    "internal": "the relay failed to handle the frame",
}


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
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


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
    """client -> relay: the entries `start`..`end` of the direct room with `peer` (a gap to fill).
    With `grant` (clubchat.protocol.history_grant), the room is the one of the grant's granter and
    `peer`, asked for by whoever the granter let read it (a flag's reviewers)."""

    TYPE: ClassVar[str] = "history"
    peer: str = spec(pattern=ADDRESS_PATTERN)
    start: int = spec(key="from", minimum=1, maximum=2**53)
    end: int = spec(key="to", minimum=1, maximum=2**53)
    grant: Grant | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default


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
CORE_FRAMES: dict[str, type] = {
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
CORE_CLIENT_FRAMES = ("sign-in", "envelope", "ack", "get-turn-credentials", "history", *KEY_FRAMES)

# The one table of every frame a relay or node reads or writes, in the order the schema lists them.
FRAME_CLASSES: dict[str, type] = {
    **CORE_FRAMES,
    **{cls.TYPE: cls for cls in AD_FRAMES},
    **{cls.TYPE: cls for cls in (*ROOM_CLIENT_CLASSES, *ROOM_SERVER_CLASSES)},
    **{cls.TYPE: cls for cls in KEY_EXTRA_FRAMES},
}
CLIENT_FRAMES = (*CORE_CLIENT_FRAMES, *AD_CLIENT_FRAMES, *ROOM_FRAMES, *KEY_EXTRA_CLIENT_FRAMES)
ERROR_CODES: dict[str, str] = {**CORE_ERROR_CODES, **AD_ERROR_CODES, **ROOM_ERROR_CODES, **GRANT_ERROR_CODES}


# ------------------------------------------------------------------------------------------------
# Encoding and decoding
# ------------------------------------------------------------------------------------------------


def encode(msg: Any) -> str:
    """Compact JSON text of any message above."""
    return json.dumps(encode_object(msg), separators=(",", ":"))


_ID = re.compile(ID_PATTERN)


def _frame(text: str | bytes, allowed: tuple[str, ...] | None, build: bool) -> Any:
    obj = loads_untrusted(text)
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
    obj = loads_untrusted(text)
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
