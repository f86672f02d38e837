"""Data-channel file transfer (product brief "Send Data by datachannel"): the brief's chunk format
`{fileId, index, mime, data}` (no type key), then a typed `file-complete` {count, sha256} that the
receiver answers with `file-ack`. Peer to peer over WebRTC; no relay sees these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clubchat.protocol.codec import spec
from clubchat.protocol.wire import FILE_ID_PATTERN, MAX_CHUNK_B64


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
