"""The plaintext audit counts community room messages: a plaintext `room-send` or `room-message` makes
`relay_saw_no_plaintext` false, sealed ones keep it true."""

from __future__ import annotations

from pathlib import Path

from clubchat.client.audit import PlaintextAudit
from clubchat.protocol import messages as m

SENDER = "0x" + "ab" * 20


def _audit(*payloads: m.Payload) -> dict[str, object]:
    audit = PlaintextAudit()
    for i, payload in enumerate(payloads):
        audit.frames.append(m.encode(m.RoomSend(3, "general", id=f"id-{i:04d}-aaaa", payload=payload)))
        audit.frames.append(
            m.encode(m.RoomMessage(3, "general", i + 1, f"id-{i:04d}-aaaa", SENDER, 1_000, payload=payload))
        )
    return audit.report(["the probe 4c1d"], [Path("/nonexistent")])


def test_sealed_room_messages_pass() -> None:
    report = _audit(m.RoomSealed(epoch=1, ct="AAAA"), m.RoomSealed(epoch=2, ct="BBBB"))
    assert (report["room_messages"], report["sealed_room_messages"]) == (4, 4)
    assert report["relay_saw_no_plaintext"] is True


def test_a_plaintext_room_message_fails_the_audit() -> None:
    report = _audit(m.RoomSealed(epoch=1, ct="AAAA"), m.Text(body="hello"))
    assert (report["room_messages"], report["sealed_room_messages"]) == (4, 2)
    assert report["relay_saw_no_plaintext"] is False
    report = _audit(m.RoomSealed(epoch=1, ct="AAAA"), m.Text(body="the probe 4c1d"))
    assert report["frames_with_plaintext"] == 2 and report["relay_saw_no_plaintext"] is False
