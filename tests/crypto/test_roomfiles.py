"""Room files sealed with a per-file key: every size round-trips with chunks and key in any order; a
relay's view (the `room-file` chunks) holds no byte of the content and declares the ciphertext's
size; changed, swapped, reordered or surplus chunks and a wrong hash are refused with a reason; the
receiver's buffer is bounded in files and bytes."""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto import roomfiles as rf
from clubchat.crypto.roomfiles import CHUNK_BYTES, Incoming, RoomFileError, frames_of, seal_file
from clubchat.protocol import messages as m

SENDER = "0x" + "ab" * 20


def _deliver(
    inbox: Incoming, key: m.RoomFileKey, frames: list[m.RoomFileChunk], key_at: int
) -> list[rf.OpenedFile]:
    """Hand `frames` in order with the key inserted at position `key_at`; the files that completed."""
    out = []
    for i, frame in enumerate(frames):
        if i == key_at:
            out.append(inbox.key(SENDER, key))
        out.append(inbox.chunk(SENDER, frame))
    if key_at >= len(frames):
        out.append(inbox.key(SENDER, key))
    return [f for f in out if f is not None]


@given(
    size=st.sampled_from([0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 7]),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_size_round_trips_with_chunks_and_key_in_any_order(size: int, seed: int) -> None:
    rnd = random.Random(seed)
    data = rnd.randbytes(size)
    key, chunks = seal_file(data, "image/png", "holiday.png")
    frames = frames_of(key, chunks)
    assert key.count == len(frames) == max(1, -(-size // CHUNK_BYTES)) and key.size == size
    assert key.sha256 == hashlib.sha256(data).hexdigest()
    # what the relay sees: the ciphertext's declared size, chunks within the room-file limit
    assert all(f.size == size + 16 * key.count == sum(map(len, chunks)) for f in frames)
    assert all(len(f.data) <= m.MAX_ROOM_CHUNK_B64 for f in frames)
    rnd.shuffle(frames)
    opened = _deliver(Incoming(), key, frames, rnd.randrange(len(frames) + 1))
    assert [(o.data, o.name, o.mime, o.sender) for o in opened] == [
        (data, "holiday.png", "image/png", SENDER)
    ]


def test_the_relay_sees_no_byte_of_the_content_nor_the_name() -> None:
    data = b"the treasurer's secret ledger, line by line " * 2_000
    key, chunks = seal_file(data, "text/plain", "ledger-secret.txt")
    wire = "".join(
        m.encode(m.RoomFile(7, "general", id=f"f{i}", file=f)) for i, f in enumerate(frames_of(key, chunks))
    )
    for needle in (b"treasurer", b"ledger", b"text/plain", key.key.encode(), key.sha256.encode()):
        assert needle.decode() not in wire
        assert base64.b64encode(needle).decode()[:-4] not in wire
    assert all(b"treasurer" not in c for c in chunks)


def _sealed(size: int = 2 * CHUNK_BYTES + 5) -> tuple[m.RoomFileKey, list[m.RoomFileChunk]]:
    key, chunks = seal_file(random.Random(size).randbytes(size), "application/octet-stream")
    return key, frames_of(key, chunks)


def test_a_changed_chunk_is_refused() -> None:
    key, frames = _sealed()
    raw = bytearray(base64.b64decode(frames[1].data))
    raw[3] ^= 1
    frames[1] = replace(frames[1], data=base64.b64encode(bytes(raw)).decode())
    with pytest.raises(RoomFileError, match="does not open"):
        _deliver(Incoming(), key, frames, 0)


def test_chunks_swapped_between_positions_or_files_are_refused() -> None:
    key, frames = _sealed()
    swapped = [replace(frames[0], data=frames[1].data), replace(frames[1], data=frames[0].data), frames[2]]
    with pytest.raises(RoomFileError, match="does not open"):
        _deliver(Incoming(), key, swapped, 3)
    other_key, other = _sealed()
    spliced = [frames[0], replace(other[1], file_id=key.file_id), frames[2]]
    with pytest.raises(RoomFileError, match="does not open"):
        _deliver(Incoming(), key, spliced, 0)
    assert other_key.key != key.key


def test_a_surplus_chunk_or_a_wrong_hash_is_refused() -> None:
    key, frames = _sealed()
    inbox = Incoming()
    inbox.key(SENDER, key)
    with pytest.raises(RoomFileError, match="has 3 chunks, not 4"):
        inbox.chunk(SENDER, replace(frames[0], index=3))
    inbox = Incoming()
    inbox.chunk(SENDER, replace(frames[0], index=5))  # before the key: held, refused with the key
    with pytest.raises(RoomFileError, match="more arrived"):
        inbox.key(SENDER, key)
    assert inbox.partial == {} and inbox.held == 0
    with pytest.raises(RoomFileError, match="size and SHA-256"):
        _deliver(Incoming(), replace(key, sha256="0" * 64), frames, 0)
    with pytest.raises(RoomFileError, match="not base64"):
        Incoming().chunk(SENDER, replace(frames[0], data="@@@@"))


def test_the_receiver_holds_a_bounded_number_of_files_and_bytes() -> None:
    inbox = Incoming(max_files=2, max_bytes=3 * 32_768)
    sealed = [_sealed(2 * CHUNK_BYTES) for _ in range(3)]  # two full chunks each, no key yet
    for _key, frames in sealed:
        inbox.chunk(SENDER, frames[0])
    assert len(inbox.partial) == 2 and inbox.dropped == 1  # the oldest file went
    inbox.chunk(SENDER, sealed[1][1][1])
    inbox.chunk(SENDER, sealed[2][1][1])  # 4 chunks: over max_bytes, the oldest file goes
    assert list(inbox.partial) == [(SENDER, sealed[2][0].file_id)] and inbox.held <= 3 * 32_768
    opened = inbox.key(SENDER, sealed[2][0])
    assert opened is not None and len(opened.data) == 2 * CHUNK_BYTES and inbox.held == 0
    big_key, big = _sealed(3 * CHUNK_BYTES + 1)  # one file over max_bytes: refused, nothing held
    for frame in big[:3]:
        inbox.chunk(SENDER, frame)
    with pytest.raises(RoomFileError, match="larger than"):
        inbox.chunk(SENDER, big[3])
    assert inbox.partial == {} and inbox.held == 0 and big_key.count == 4
