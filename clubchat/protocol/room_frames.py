"""Community room frames (clubchat.node.rooms enforces them on relays, clubchat.communities.rooms
joins).

A room is (community id, name). `general` is every community's default room; a name starting with
`broadcast:` is a broadcast room, where only the community's owner and admins may post. A relay
admits a connection to a room, and each message into it, only while its membership cache says
`is_member` (clubchat.communities.cache, fed from Communities' logs).

Signed history: a relay that keeps one (clubchat.node.relay_log) gives every post it accepts a
`LogEntry` in the chain of the room's id (`room_id`), with `seq` the post's seq and `body` the
keccak256 of the exact `room-message` (or `room-file-chunk`) text it fans out. The sender gets the
signed entry in `room-sent` (with the post's `time`, so it can rebuild that text), the members in a
`room-logged` frame after the posts; a member asks for missing entries with `room-history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from eth_abi import encode as abi_encode
from eth_utils import keccak

from clubchat.protocol.codec import spec
from clubchat.protocol.history_grant import Grant
from clubchat.protocol.payloads import MAX_HISTORY, MAX_LOGGED, LogRecord, Payload, SignedRecord
from clubchat.protocol.wire import (
    ADDRESS_PATTERN,
    B64_PATTERN,
    FILE_ID_PATTERN,
    ID_PATTERN,
    MAX_REASON_CHARS,
    SIGNATURE65_PATTERN,
)

ROOM_NAME_PATTERN = r"(?:broadcast:)?[a-z0-9][a-z0-9-]{0,31}"
DEFAULT_ROOM = "general"
BROADCAST_PREFIX = "broadcast:"
MAX_ROOM_HISTORY = 256  # retained messages one `room-join` may replay
MAX_ROOM_CHUNK_B64 = 43_692  # base64 of a 32 KiB file chunk


def room_id(community: int, name: str = DEFAULT_ROOM) -> bytes:
    """keccak256(abi.encode(uint256 community, string name)): a room's id, the same for every client
    and relay, and the `room` of its signed-history entries. Its preimage (at least 96 bytes) is never
    the 40 bytes of a direct room's (clubchat.protocol.log_entry.direct_room)."""
    return bytes(keccak(abi_encode(["uint256", "string"], [community, name])))


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
    """relay -> sender: the room message got `seq` and was queued to `delivered` connections.

    A relay that keeps a signed history sends it once the post's log entry is durable, with the
    entry (`entry`, its `seq` is the post's), the relay's signature when the entry ends its batch
    (`sig`), and the post's `time` as the members got it (the sender rebuilds their text from it)."""

    TYPE: ClassVar[str] = "room-sent"
    id: str = spec(pattern=ID_PATTERN)
    seq: int = spec(minimum=1, maximum=2**53)
    delivered: int = spec(minimum=0)
    time: int | None = spec(default=None, minimum=0, maximum=2**53)
    entry: LogRecord | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default
    sig: str | None = spec(default=None, pattern=SIGNATURE65_PATTERN)


@dataclass(frozen=True)
class RoomLeft(RoomRef):
    """relay -> client: this connection no longer receives the room (left, banned, expired, ...)."""

    TYPE: ClassVar[str] = "room-left"
    code: str = spec(max_len=32)
    reason: str = spec(max_len=MAX_REASON_CHARS)


@dataclass(frozen=True)
class RoomLogged(RoomRef):
    """relay -> member, after the posts: their durable log entries (each entry's `seq` is its post's),
    in seq order; the last one of a batch is signed and covers the ones before it through `prev`."""

    TYPE: ClassVar[str] = "room-logged"
    records: tuple[SignedRecord, ...] = spec(max_items=MAX_LOGGED, min_items=1)


@dataclass(frozen=True)
class RoomHistory(RoomRef):
    """client -> relay: the log entries `start`..`end` of a room (a gap to fill); members only, or
    whoever presents a member's `grant` (clubchat.protocol.history_grant: its `room` is the room's id,
    its granter a member of the community now), e.g. a flag's reviewers."""

    TYPE: ClassVar[str] = "room-history"
    start: int = spec(key="from", minimum=1, maximum=2**53)
    end: int = spec(key="to", minimum=1, maximum=2**53)
    grant: Grant | None = spec(default=None)  # noqa: RUF009 - wire metadata, not a default


@dataclass(frozen=True)
class RoomEntries(RoomRef):
    """relay -> member: the answer to `room-history` (and the entries of the retained posts a
    `room-join` replays), in seq order, the last one always signed. Fewer than asked means the relay
    cannot produce the rest (evidence for a flag)."""

    TYPE: ClassVar[str] = "room-entries"
    start: int = spec(key="from", minimum=1, maximum=2**53)
    records: tuple[SignedRecord, ...] = spec(max_items=MAX_HISTORY)


ROOM_FRAMES = ("room-join", "room-leave", "room-send", "room-file", "room-history")
ROOM_CLIENT_CLASSES = (RoomJoin, RoomLeave, RoomSend, RoomFile, RoomHistory)
ROOM_SERVER_CLASSES = (RoomJoined, RoomMessage, RoomFileMessage, RoomSent, RoomLeft, RoomLogged, RoomEntries)
ROOM_ERROR_CODES = {
    "not-member": "the signed-in address is not a member of this community (or not yet known here)",
    "banned": "the community banned this address",
    "admins-only": "only the community's owner and admins post in a broadcast room",
    "membership-unavailable": "this relay cannot confirm memberships now and the community fails closed",
    "over-tier-limit": "the frame is over the sender's premium tier limits",
    "not-joined": "join the room on this connection first",
    "too-many-rooms": "this connection or room has as many room subscriptions as this relay allows",
    "not-sealed": "room messages must be sealed (room-sealed payload); this relay carries no plaintext",
}
