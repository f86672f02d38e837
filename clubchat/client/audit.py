"""What the relays saw: an audit of every frame this process's relay clients exchanged and of the files
the nodes wrote, for plaintext that end-to-end encryption must hide.

`PlaintextAudit` taps every RelayClient frame (clubchat.client.relay_client.FRAME_TAPS) while it is
entered; `report(needles, files)` then says how many frames, envelopes and community room messages
(`room-send` / `room-message`) it saw, how many payloads were not sealed, and whether any needle (a
message text, an SDP line, an ICE candidate string) occurs in a frame or in one of `files` (e.g. a
mailbox's SQLite file and its WAL). The demo records it in demo-report.json;
tests/crypto/test_no_plaintext.py checks the relay side itself, logs included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from clubchat.client.relay_client import FRAME_TAPS


def sdp_secrets(sdp: str) -> list[str]:
    """The lines of an SDP that identify a call: its ICE credentials and DTLS fingerprint."""
    return [
        line for line in sdp.splitlines() if line.startswith(("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"))
    ]


class PlaintextAudit:
    """Collects the frames of every RelayClient while entered."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def _tap(self, uri: str, direction: str, text: str | bytes) -> None:
        self.frames.append(text if isinstance(text, str) else text.decode(errors="replace"))

    def __enter__(self) -> PlaintextAudit:
        FRAME_TAPS.append(self._tap)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        FRAME_TAPS.remove(self._tap)

    def report(self, needles: Iterable[str], files: Iterable[Path]) -> dict[str, Any]:
        needles = [n for n in needles if n]
        envelopes = sealed = posts = sealed_posts = 0
        for text in self.frames:  # bound: the frames collected
            if '"type":"room-send"' in text or '"type":"room-message"' in text:  # community rooms
                posts += 1
                sealed_posts += json.loads(text)["payload"]["type"] == "room-sealed"
                continue
            if '"envelope"' not in text:
                continue
            obj = json.loads(text)
            env = obj.get("envelope", obj) if obj.get("type") == "stored" else obj
            if env.get("type") != "envelope":
                continue
            envelopes += 1
            sealed += env["payload"]["type"] in ("sealed", "sealed-signal")
        in_frames = sum(any(n in text for n in needles) for text in self.frames)
        checked, in_files = 0, []
        for path in files:  # bound: the files given
            if path.is_file():
                checked += 1
                data = path.read_bytes()
                if any(n.encode() in data for n in needles):
                    in_files.append(path.name)
        return {
            "frames_checked": len(self.frames),
            "envelopes": envelopes,
            "sealed_envelopes": sealed,
            "plaintext_envelopes": envelopes - sealed,
            "room_messages": posts,
            "sealed_room_messages": sealed_posts,
            "plaintext_strings_checked": len(needles),
            "frames_with_plaintext": in_frames,
            "node_files_checked": checked,
            "node_files_with_plaintext": in_files,
            "relay_saw_no_plaintext": envelopes + posts > 0
            and envelopes == sealed
            and posts == sealed_posts
            and in_frames == 0
            and not in_files,
        }
