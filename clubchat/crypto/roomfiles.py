"""Files posted to community rooms, encrypted end to end: a relay carries only ciphertext chunks.

`seal_file(data, mime, name)` picks a fresh random ChaCha20-Poly1305 key for the file and a random
file id, cuts the file into chunks of CHUNK_BYTES and encrypts chunk i with the nonce i and the
associated data (file id, i, chunk count), so a relay can neither reorder, drop unnoticed, nor
splice chunks of two files. It returns the `m.RoomFileKey` (the key, chunk count, size, SHA-256, type
and name) that goes to the members inside a `room-sealed` message (the sender key's encryption and
signature: clubchat.crypto.roomseal) and the ciphertext chunks that go out as `room-file` frames. A
chunk's ciphertext is at most 32 KiB, the most a `room-file` chunk carries; the frames declare the
ciphertext's total size, which is what a relay checks against the sender's tier. The relay sees the
file id (random), the chunk count and the size (plaintext + 16 bytes per chunk), never the name, the
type or a byte of the content.

`Incoming` is a receiver's assembly of the files of one room: chunks (`chunk`) and keys (`key`) may
arrive in either order; a file is opened, checked against its SHA-256 and returned once its key and
every chunk are there. It holds at most MAX_FILES unfinished files and MAX_BYTES of chunks (oldest
dropped first), so a member posting chunks without keys cannot exhaust a receiver's memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from clubchat.protocol import messages as m

TAG_BYTES = 16
CHUNK_BYTES = 32_768 - TAG_BYTES  # plaintext per chunk: its ciphertext is a full 32 KiB room chunk
MAX_FILES = 16  # unfinished incoming files held per room
MAX_BYTES = 64 * 2**20  # chunk bytes held per room before the oldest unfinished file is dropped


class RoomFileError(ValueError):
    """A room file chunk or key was refused; the message says why."""


def _aad(file_id: str, index: int, count: int) -> bytes:
    return f"clubchat room file v1|{file_id.lower()}|{index}|{count}".encode()


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def seal_file(data: bytes, mime: str, name: str | None = None) -> tuple[m.RoomFileKey, list[bytes]]:
    """(the key message for the members, the ciphertext chunks for the relay) of `data`."""
    key = os.urandom(32)
    file_id = str(uuid.uuid4())
    pieces = [data[i : i + CHUNK_BYTES] for i in range(0, max(len(data), 1), CHUNK_BYTES)]
    aead = ChaCha20Poly1305(key)
    chunks = [aead.encrypt(_nonce(i), p, _aad(file_id, i, len(pieces))) for i, p in enumerate(pieces)]
    sealed = m.RoomFileKey(
        file_id=file_id,
        key=key.hex(),
        count=len(pieces),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        mime=mime,
        name=name,
    )
    return sealed, chunks


def frames_of(sealed: m.RoomFileKey, chunks: list[bytes]) -> list[m.RoomFileChunk]:
    """The `room-file` chunks of a sealed file: ciphertext in base64, the ciphertext's total size."""
    size = sum(len(c) for c in chunks)
    return [
        m.RoomFileChunk(file_id=sealed.file_id, index=i, size=size, data=base64.b64encode(c).decode())
        for i, c in enumerate(chunks)
    ]


@dataclass(frozen=True)
class OpenedFile:
    """A room file every chunk of which arrived and opened, its SHA-256 checked."""

    sender: str
    file_id: str
    name: str | None
    mime: str
    data: bytes


@dataclass
class _Partial:
    chunks: dict[int, bytes] = field(default_factory=dict)  # index -> ciphertext
    key: m.RoomFileKey | None = None

    @property
    def held(self) -> int:
        return sum(len(c) for c in self.chunks.values())


class Incoming:
    """The files of one room on their way in (chunks and keys in any order), bounded."""

    def __init__(self, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
        self.max_files, self.max_bytes = max_files, max_bytes
        self.partial: OrderedDict[tuple[str, str], _Partial] = OrderedDict()
        self.held = 0  # chunk bytes held
        self.dropped = 0  # unfinished files dropped to stay within the bounds

    def chunk(self, sender: str, chunk: m.RoomFileChunk) -> OpenedFile | None:
        """Take a `room-file` chunk from `sender`; the file when it was the last piece missing."""
        try:
            data = base64.b64decode(chunk.data, validate=True)
        except (binascii.Error, ValueError):
            raise RoomFileError(f"file {chunk.file_id} chunk {chunk.index} is not base64") from None
        k = (sender.lower(), chunk.file_id.lower())
        part = self.partial.get(k) or _Partial()
        if part.key is not None and chunk.index >= part.key.count:
            raise RoomFileError(f"file {chunk.file_id} has {part.key.count} chunks, not {chunk.index + 1}")
        self.held += len(data) - len(part.chunks.get(chunk.index, b""))
        part.chunks[chunk.index] = data
        self.partial[k] = part
        self.partial.move_to_end(k)
        self._bound(k)
        return self._complete(k)

    def key(self, sender: str, key: m.RoomFileKey) -> OpenedFile | None:
        """Take a file's key (opened from `sender`'s room message); the file when it was the last
        piece missing."""
        k = (sender.lower(), key.file_id.lower())
        part = self.partial.get(k) or _Partial()
        part.key = key
        self.partial[k] = part
        self.partial.move_to_end(k)
        self._bound(k)
        return self._complete(k)

    def _bound(self, keep: tuple[str, str]) -> None:
        while len(self.partial) > self.max_files or self.held > self.max_bytes:  # bound: files held
            oldest = next(iter(self.partial))
            if oldest == keep and len(self.partial) == 1:
                break  # one file larger than max_bytes: dropped below when it cannot complete
            self._drop(oldest)
        if self.held > self.max_bytes:
            self._drop(keep)
            raise RoomFileError(f"a room file larger than {self.max_bytes} bytes is not taken here")

    def _drop(self, k: tuple[str, str]) -> None:
        part = self.partial.pop(k)
        self.held -= part.held
        self.dropped += 1

    def _complete(self, k: tuple[str, str]) -> OpenedFile | None:
        part = self.partial.get(k)
        if part is None or part.key is None:
            return None
        key = part.key
        if any(i >= key.count for i in part.chunks):
            self._drop(k)
            raise RoomFileError(f"file {key.file_id} has {key.count} chunks, and more arrived")
        if len(part.chunks) < key.count:
            return None
        self.partial.pop(k)
        self.held -= part.held
        aead = ChaCha20Poly1305(bytes.fromhex(key.key))
        try:
            data = b"".join(
                aead.decrypt(_nonce(i), part.chunks[i], _aad(key.file_id, i, key.count))
                for i in range(key.count)  # bound: the chunks held, at most max_bytes of them
            )
        except InvalidTag:
            raise RoomFileError(
                f"file {key.file_id} does not open (a chunk was changed or swapped)"
            ) from None
        if len(data) != key.size or hashlib.sha256(data).hexdigest() != key.sha256:
            raise RoomFileError(f"file {key.file_id} does not match its size and SHA-256")
        return OpenedFile(k[0], key.file_id, key.name, key.mime, data)
