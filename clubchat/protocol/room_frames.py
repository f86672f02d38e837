"""Community room frames (clubchat.node.rooms enforces them on relays, clubchat.communities.rooms
joins).

A room is (community id, name). `general` is every community's default room; a name starting with
`broadcast:` is a broadcast room, where only the community's owner and admins may post. A relay
admits a connection to a room, and each message into it, only while its membership cache says
`is_member` (clubchat.communities.cache, fed from Communities' logs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clubchat.protocol.codec import spec
from clubchat.protocol.payloads import Payload
from clubchat.protocol.wire import (
    ADDRESS_PATTERN,
    B64_PATTERN,
    FILE_ID_PATTERN,
    ID_PATTERN,
    MAX_REASON_CHARS,
)

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
ROOM_SERVER_CLASSES = (RoomJoined, RoomMessage, RoomFileMessage, RoomSent, RoomLeft)
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
