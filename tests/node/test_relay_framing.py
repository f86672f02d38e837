"""The relay's own text-frame writer (`RelayConnection.queue_text`) puts on the wire exactly the bytes
websockets' `send_text` does, and leaves every case it does not handle to websockets."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import InvalidState
from websockets.frames import OP_TEXT, Frame
from websockets.protocol import State
from websockets.server import ServerProtocol

from clubchat.node.relay_conn import RelayConnection, text_frame_header


def _open_protocol() -> ServerProtocol:
    protocol = ServerProtocol()
    protocol.state = State.OPEN
    return protocol


def _queue(protocol: ServerProtocol, data: bytes) -> list[bytes]:
    RelayConnection.queue_text(SimpleNamespace(protocol=protocol), data)  # type: ignore[arg-type]
    return protocol.data_to_send()


def _websockets_bytes(data: bytes) -> list[bytes]:
    protocol = _open_protocol()
    protocol.send_text(data)
    return protocol.data_to_send()


# the length encodings' edges: 7 bits, 16 bits, 64 bits
EDGES = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]


@pytest.mark.parametrize("length", EDGES)
def test_header_is_websockets_own_at_every_length_encoding(length: int) -> None:
    data = b"x" * length
    assert text_frame_header(length) + data == Frame(OP_TEXT, data).serialize(mask=False)
    assert _queue(_open_protocol(), data) == _websockets_bytes(data)


@given(st.text(max_size=300))
def test_any_text_is_framed_as_websockets_frames_it(text: str) -> None:
    data = text.encode("utf-8", "surrogatepass")
    assert _queue(_open_protocol(), data) == _websockets_bytes(data)


def test_a_closing_connection_refuses_like_websockets() -> None:
    protocol = _open_protocol()
    protocol.state = State.CLOSING
    with pytest.raises(InvalidState):
        _queue(protocol, b"{}")
    assert protocol.data_to_send() == []


def test_a_fragmented_message_in_progress_goes_to_websockets_which_refuses_it() -> None:
    protocol = _open_protocol()
    protocol.send_text(b"part", fin=False)
    protocol.data_to_send()
    with pytest.raises(Exception, match="continuation"):
        _queue(protocol, b"{}")


def test_with_an_extension_websockets_frames_it() -> None:
    protocol = _open_protocol()
    seen = []

    class Marking:  # an extension that rewrites every outgoing frame
        name = "x-mark"

        def encode(self, frame: Frame) -> Frame:
            seen.append(frame.data)
            return Frame(frame.opcode, bytes(frame.data) + b"!", frame.fin)

    protocol.extensions = [Marking()]  # type: ignore[list-item]
    assert _queue(protocol, b"{}") == [text_frame_header(3) + b"{}!"]
    assert seen == [b"{}"]
