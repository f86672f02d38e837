"""The demo's call story end to end on a private chain (clubchat.client.story.run_story)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clubchat.client.story import run_story
from tests.node.chain_env import WAD, chain

pytestmark = [pytest.mark.integration]


def test_call_story(tmp_path: Path) -> None:
    with chain(tmp_path) as c:

        def fund(address: str, wei: int) -> None:
            c.fund(address, -(-wei // WAD))

        report = run_story(
            c.anvil.url,
            c.manifest_path,
            tmp_path / "nodes",
            fund,
            relays=3,
            file_bytes=256 * 1024,
            say=lambda _: None,
        )
    call = report["call"]
    assert call["connected"] and call["selected_candidate_types"] == ["relay", "relay"]
    assert call["relay_endpoint"] == report["rendezvous"][0]
    assert call["turn_endpoint"].startswith("turn:127.0.0.1:")
    assert call["file_sha256_match"] is True and call["audio_frames_received"] > 0
    assert report["offline"] == {**report["offline"], "stored": True, "delivered": True}
    assert report["failover"]["ok"] is True
    assert report["failover"]["seconds"] <= 3.0
    assert report["failover"]["relays_tried"][0] == call["relay_endpoint"]
    e2e = report["e2e"]  # every envelope sealed; no text, SDP line or candidate in a frame or node file
    assert e2e["relay_saw_no_plaintext"] is True and e2e["plaintext_envelopes"] == 0
    assert e2e["sealed_envelopes"] >= 9 and e2e["plaintext_strings_checked"] >= 13
    assert e2e["node_files_checked"] >= 6 and e2e["node_files_with_plaintext"] == []
