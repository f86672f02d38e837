"""Envelope payloads: the brief's signaling messages, chat text, signed-history heads, and the
end-to-end encrypted payloads and key bundles (clubchat.crypto makes and opens them).

A relay reads none of them but `type`; clients send every one sealed (`sealed`, or `sealed-signal`
for signaling, which is live only), and the plaintext payloads are what a sealed one opens to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clubchat.protocol.codec import spec
from clubchat.protocol.wire import (
    ADDRESS_PATTERN,
    B64_PATTERN,
    BYTES32_PATTERN,
    FILE_ID_PATTERN,
    HEX_PATTERN,
    HEX_SIGNATURE_PATTERN,
    MAX_CANDIDATE_CHARS,
    MAX_CANDIDATES,
    MAX_REASON_CHARS,
    MAX_SDP_CHARS,
    MAX_TEXT_CHARS,
    SIGNATURE65_PATTERN,
    Media,
)

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
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)
    prekey: str = spec(min_len=64, max_len=64, pattern=HEX_PATTERN)
    prekey_expires: int = spec(key="prekeyExpires", minimum=0, maximum=2**53)
    prekey_signature: str = spec(key="prekeySignature", min_len=128, max_len=128, pattern=HEX_PATTERN)


@dataclass(frozen=True)
class Revocation:
    """A wallet-signed statement that revokes one bound identity key (and every bundle that uses it)."""

    statement: str = spec(max_len=MAX_STATEMENT_CHARS)
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


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


# A file posted to a room travels as `room-file` chunks of ciphertext (the relay checks their
# declared size, which is the ciphertext's) under a fresh per-file key; the key, the file's name,
# type, size and SHA-256 go to the members inside a `room-sealed` message (never on the wire as is).


@dataclass(frozen=True)
class RoomFileKey:
    """Inside a room seal only: how to open the file `file_id` a member posted (clubchat.crypto.roomfiles)."""

    TYPE: ClassVar[str] = "room-file-key"
    file_id: str = spec(key="fileId", pattern=FILE_ID_PATTERN)
    key: str = spec(min_len=64, max_len=64, pattern=HEX_PATTERN)  # ChaCha20-Poly1305 key
    count: int = spec(minimum=1, maximum=2**31)  # chunks
    size: int = spec(minimum=0, maximum=2**53)  # plaintext bytes
    sha256: str = spec(min_len=64, max_len=64, pattern=HEX_PATTERN)  # of the plaintext
    mime: str = spec(max_len=255)
    name: str | None = spec(default=None, max_len=255)  # the sender's file name (no directories)
