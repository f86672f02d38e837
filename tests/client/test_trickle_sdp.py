"""Trickle ICE helpers: candidates come out of the SDP once each, and the messages that carry them
(including the end-of-candidates marker) are valid protocol frames."""

from __future__ import annotations

import json

from clubchat.client.call import END_OF_CANDIDATES, candidate_key, split_candidates
from clubchat.protocol import messages as m
from tests.node.schema_check import valid

RELAY = "candidate:a1b2 1 udp 16777215 127.0.0.1 50000 typ relay raddr 127.0.0.1 rport 40000"
RELAY2 = "candidate:c3d4 1 udp 16777215 127.0.0.1 50002 typ relay raddr 127.0.0.1 rport 40002"
SDP = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 50000 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 127.0.0.1",
        "a=mid:0",
        "a=" + RELAY,
        "a=" + RELAY2,
        "a=end-of-candidates",
        "a=ice-ufrag:abcd",
        "m=application 50000 DTLS/SCTP 5000",
        "c=IN IP4 127.0.0.1",
        "a=mid:1",
        "a=" + RELAY,  # bundled: the same transport's candidates again
        "a=" + RELAY2,
        "a=end-of-candidates",
        "",
    ]
)


def test_split_candidates_strips_them_and_lists_each_once() -> None:
    bare, cands = split_candidates(SDP)
    assert "a=candidate" not in bare and "end-of-candidates" not in bare
    # everything else is untouched, in order
    assert bare.split("\r\n") == [
        line for line in SDP.split("\r\n") if not line.startswith(("a=candidate", "a=end-of-candidates"))
    ]
    assert cands == [m.IceCandidate(RELAY, 0, "0"), m.IceCandidate(RELAY2, 0, "0")]


def test_split_candidates_of_an_sdp_without_candidates() -> None:
    bare, cands = split_candidates(split_candidates(SDP)[0])
    assert cands == []
    assert bare == split_candidates(SDP)[0]


def test_candidate_key_ignores_the_a_prefix() -> None:
    assert candidate_key(m.IceCandidate("a=" + RELAY, 0, "0")) == RELAY
    assert candidate_key(m.IceCandidate(RELAY + " ", 1, "1")) == RELAY
    assert candidate_key(m.IceCandidate(END_OF_CANDIDATES, 0, "0")) == ""


def test_trickle_messages_are_valid_frames() -> None:
    _, cands = split_candidates(SDP)
    end = m.IceCandidate(END_OF_CANDIDATES, 0, "0")
    alice, bob = "0x" + "a1" * 20, "0x" + "b2" * 20
    schema = m.json_schema()
    for payload in (m.Candidates(candidates=(*cands, end)), m.RemoveCandidates(candidates=tuple(cands))):
        text = m.encode(m.Envelope(id="t-1", sender=alice, to=bob, payload=payload))
        assert m.decode_frame(text) == m.Envelope(id="t-1", sender=alice, to=bob, payload=payload)
        assert valid(schema, json.loads(text))
    assert '"candidates":[{"sdp":"candidate:a1b2' in m.encode(m.Candidates(candidates=(*cands, end)))
    assert m.encode(m.Candidates(candidates=(end,))).endswith('{"sdp":"","sdpMLineIndex":0,"sdpMid":"0"}]}')
