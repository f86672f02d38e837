"""Protocol messages: round trips, strict decoding, and codec == published JSON schema."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.protocol import codec
from clubchat.protocol import messages as m
from tests.node.schema_check import valid

ALICE = "0x" + "a1" * 20
BOB = "0x" + "B2" * 20
CAND = m.IceCandidate(
    sdp="candidate:1 1 udp 2130706431 127.0.0.1 5000 typ relay", sdp_mline_index=0, sdp_mid="0"
)
FILE_ID = "E621E1F8-C36C-495A-93FC-0C247A3E6E5F"

RECORD = m.LogRecord(
    node=ALICE, room="0x" + "11" * 32, seq=3, prev="0x" + "22" * 32, body="0x" + "33" * 32, time=1
)
SIG = "0x" + "ab" * 64 + "1b"

EXAMPLES: list[Any] = [
    m.Challenge(nonce="abcdEFGH1234", uri="ws://127.0.0.1:9000", chain_id=31337, max_ttl=600),
    m.SignIn(message="x", signature="0x" + "ab" * 65),
    m.SignedIn(address=ALICE, expires=1_700_000_000),
    m.Envelope(
        id="a-1", sender=ALICE, to=BOB, payload=m.Offer(sdp="v=0\r\n", options=("audio", "video", "data"))
    ),
    m.Envelope(id="a-2", sender=ALICE, to=BOB, payload=m.Answer(sdp="v=0\r\n")),
    m.Envelope(id="a-3", sender=ALICE, to=BOB, payload=m.Candidates(candidates=(CAND,))),
    m.Envelope(id="a-4", sender=ALICE, to=BOB, payload=m.RemoveCandidates(candidates=(CAND, CAND))),
    m.Envelope(id="a-5", sender=ALICE, to=BOB, payload=m.Bye(reason="reject")),
    m.Envelope(id="a-6", sender=ALICE, to=BOB, payload=m.Text(body="hello")),
    m.Stored(envelope=m.Envelope(id="a-7", sender=ALICE, to=BOB, payload=m.Text(body="later"))),
    m.Sent(id="a-1", status="delivered"),
    m.Ack(id="a-7", sender=ALICE),
    m.GetTurnCredentials(),
    m.TurnCredentials(
        username="1700000000:" + ALICE, password="c2VjcmV0", ttl=600, uris=("turn:127.0.0.1:3478",)
    ),
    m.Error(code="replayed", reason="again", id="a-1"),
    m.Error(code="malformed", reason="bad"),
    # signed relay history
    m.Sent(id="a-1", status="delivered", entry=RECORD, sig=SIG),
    m.Sent(id="a-2", status="stored", entry=RECORD),
    m.Logged(records=(m.LoggedEnvelope(id="a-1", sender=ALICE, entry=RECORD, sig=SIG),)),
    m.History(peer=BOB, start=1, end=256),
    m.Entries(
        peer=BOB, start=3, records=(m.SignedRecord(entry=RECORD), m.SignedRecord(entry=RECORD, sig=SIG))
    ),
    m.Entries(peer=BOB, start=3, records=()),
    m.Envelope(id="a-8", sender=ALICE, to=BOB, payload=m.Head(relay="ws://r", entry=RECORD, sig=SIG)),
]
DATACHANNEL: list[Any] = [
    m.FileChunk(file_id=FILE_ID, index=3, mime="application/octet-stream", data="AAEC"),
    m.FileComplete(file_id=FILE_ID, count=4, sha256="0" * 64),
    m.FileAck(file_id=FILE_ID, count=4, sha256="0" * 64, ok=True),
]
SCHEMA = m.json_schema()


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda x: type(x).__name__)
def test_frame_round_trip_and_schema(msg: Any) -> None:
    text = m.encode(msg)
    assert m.decode_frame(text) == msg
    assert valid(SCHEMA, json.loads(text))


@pytest.mark.parametrize("msg", DATACHANNEL, ids=lambda x: type(x).__name__)
def test_datachannel_round_trip_and_schema(msg: Any) -> None:
    text = m.encode(msg)
    assert m.decode_datachannel(text) == msg
    assert valid(SCHEMA, json.loads(text))


def test_signaling_payloads_match_the_brief() -> None:
    """The exact JSON shapes of the product brief's examples decode as payloads."""
    brief = [
        {
            "type": "offer",
            "sdp": "rtc_session_description_generated_by_webrtc",
            "options": ["audio", "video", "data"],
        },
        {"type": "answer", "sdp": "rtc_session_description_generated_by_webrtc"},
        {
            "type": "candidate",
            "candidates": [
                {
                    "sdp": "candidate:684496083 1 udp 1685855999 112.65.48.165 17465",
                    "sdpMLineIndex": 0,
                    "sdpMid": "audio",
                }
            ],
        },
        {
            "type": "remove-candidates",
            "candidates": [
                {"sdp": "candidate:684496083 1 udp", "sdpMLineIndex": 0, "sdpMid": "audio"},
                {"sdp": "rtc_candiate_desciption", "sdpMLineIndex": 0, "sdpMid": "audio"},
            ],
        },
        {"type": "bye", "reason": "reject"},
    ]
    decoded = [m.decode_payload(obj) for obj in brief]
    assert [type(p) for p in decoded] == [m.Offer, m.Answer, m.Candidates, m.RemoveCandidates, m.Bye]
    assert decoded[2].candidates[0].sdp_mid == "audio"  # type: ignore[union-attr]
    chunk = {"fileId": FILE_ID, "index": 0, "mime": "image/png", "data": "iVBORw0KGgo="}
    assert m.decode_datachannel(json.dumps(chunk)) == m.FileChunk(FILE_ID, 0, "image/png", "iVBORw0KGgo=")


def _offer(**change: Any) -> dict[str, Any]:
    obj = {
        "type": "envelope",
        "id": "x1",
        "from": ALICE,
        "to": BOB,
        "payload": {"type": "offer", "sdp": "v=0", "options": ["audio"]},
    }
    for path, value in change.items():
        target = obj
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[k]
        if value is KeyError:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("obj", "code", "fragment"),
    [
        (_offer(extra=1), "malformed", "unknown key 'extra'"),
        (_offer(to=KeyError), "malformed", "missing 'to'"),
        (_offer(to="0x1234"), "malformed", "Envelope.to does not match"),
        (_offer(id=""), "malformed", "Envelope.id"),
        (_offer(id="a" * 65), "malformed", "Envelope.id"),
        (_offer(payload__options=["audio", "audio"]), "malformed", "duplicate"),
        (_offer(payload__options=["smell"]), "malformed", "must be one of"),
        (_offer(payload__options=["audio", "video", "data", "audio"]), "malformed", "more than 3"),
        (_offer(payload__sdp=7), "malformed", "must be a string"),
        (_offer(payload__sdp="x" * (m.MAX_SDP_CHARS + 1)), "malformed", "longer than"),
        (_offer(payload__type="call-me"), "malformed", "payload.type must be one of"),
        (_offer(payload={"type": "candidate", "candidates": []}), "malformed", "fewer than 1"),
        (
            _offer(
                payload={
                    "type": "candidate",
                    "candidates": [{"sdp": "c", "sdpMLineIndex": True, "sdpMid": "0"}],
                }
            ),
            "malformed",
            "must be an integer",
        ),
        (_offer(payload={"type": "bye"}), "malformed", "missing 'reason'"),
        (_offer(type="teleport"), "unknown-type", "teleport"),
        ([1, 2], "malformed", "JSON object"),
    ],
)
def test_decode_rejects_with_reason(obj: Any, code: str, fragment: str) -> None:
    with pytest.raises(m.ProtocolError) as err:
        m.decode_frame(json.dumps(obj))
    assert err.value.code == code
    assert fragment in err.value.reason
    assert not valid(SCHEMA, obj)


def test_decode_rejects_non_json_binary_and_restricted_types() -> None:
    for bad in ("{", "nan", '{"type": "envelope"', "\x00"):
        with pytest.raises(m.ProtocolError, match="malformed"):
            m.decode_frame(bad)
    with pytest.raises(m.ProtocolError, match="binary"):
        m.decode_frame(b"{}")
    with pytest.raises(m.ProtocolError, match="unknown-type"):
        m.decode_frame(m.encode(EXAMPLES[0]), m.CLIENT_FRAMES)  # clients do not send challenges
    with pytest.raises(m.ProtocolError, match="malformed"):
        m.decode_frame("[" * 100_000 + "]" * 100_000)  # deep nesting is an error, not a crash


def test_error_frame_uses_standard_reasons() -> None:
    frame = json.loads(m.error_frame("replayed", id="a-1"))
    assert frame == {"type": "error", "code": "replayed", "reason": m.ERROR_CODES["replayed"], "id": "a-1"}
    with pytest.raises(KeyError):
        m.error_frame("no-such-code")


# --- the codec and the published schema accept exactly the same values ---------------------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=12),
    st.sampled_from(["audio", "video", "data", "0", ALICE, BOB, "offer", "candidate", "bye", "envelope"]),
)


def _mutations(base: Any) -> st.SearchStrategy[Any]:
    """A valid JSON value with one random edit somewhere (or none)."""

    def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        out = [prefix]
        if isinstance(obj, dict):
            for k, v in obj.items():
                out += paths(v, (*prefix, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                out += paths(v, (*prefix, i))
        return out

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        obj = copy.deepcopy(base)
        path = draw(st.sampled_from(paths(obj)))
        action = draw(st.sampled_from(["keep", "replace", "delete", "add-key", "wrap"]))
        if action == "keep" or (not path and action in ("replace", "delete")):
            return obj
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        target = parent[path[-1]] if path else obj
        if action == "replace":
            parent[path[-1]] = draw(_json_leaf)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "add-key" and isinstance(target, dict):
            target[draw(st.sampled_from(["extra", "type", "id", "sdp", "options"]))] = draw(_json_leaf)
        elif action == "wrap" and path:
            parent[path[-1]] = [target]
        return obj

    return mutate()


@settings(max_examples=300)
@given(st.sampled_from([*EXAMPLES, *DATACHANNEL]).flatmap(lambda msg: _mutations(json.loads(m.encode(msg)))))
def test_codec_agrees_with_json_schema(obj: Any) -> None:
    text = json.dumps(obj)
    try:
        if isinstance(obj, dict) and (
            "fileId" in obj and obj.get("type") in (None, "file-complete", "file-ack")
        ):
            m.decode_datachannel(text)
        else:
            m.decode_frame(text)
        accepted = True
    except m.ProtocolError:
        accepted = False
    assert valid(SCHEMA, obj) == accepted, obj


def test_committed_schema_is_current() -> None:
    """clubchat/protocol/schema.json is what `python -m clubchat.protocol` prints (regenerate it)."""
    path = Path(m.__file__).parent / "schema.json"
    assert json.loads(path.read_text()) == SCHEMA


@settings(max_examples=300)
@given(st.sampled_from(EXAMPLES).flatmap(lambda msg: _mutations(json.loads(m.encode(msg)))))
def test_validate_frame_agrees_with_decode_frame(obj: Any) -> None:
    """The relay's hot path (`validate_frame`) accepts and refuses exactly what `decode_frame` does,
    with the same code, reason and id, and hands back the parsed object."""
    text = json.dumps(obj)
    for allowed in (None, m.CLIENT_FRAMES):
        try:
            decoded = m.decode_frame(text, allowed)
            refused = None
        except m.ProtocolError as exc:
            refused = (exc.code, exc.reason, exc.id)
        try:
            validated = m.validate_frame(text, allowed)
            assert refused is None, refused
            assert validated == obj
            assert m.frame_from_object(validated) == decoded
        except m.ProtocolError as exc:
            assert (exc.code, exc.reason, exc.id) == refused


_B64_LIKE = st.builds(  # base64-ish text, 0-4 `=`, and sometimes a stray character after them
    lambda core, pad, tail: core + "=" * pad + tail,
    st.text(alphabet="ABCXYZabxyz0189+/=-_ \n\u00e9\u0660\uff21", max_size=40),
    st.integers(0, 4),
    st.sampled_from(["", "", "A", "=", "\n", "\u00e9", "\ud800"]),
)


@settings(max_examples=500)
@given(
    st.one_of(_B64_LIKE, st.text(max_size=20), st.binary(max_size=30).map(base64.b64encode).map(bytes.decode))
)
def test_fast_base64_check_is_the_pattern(value: str) -> None:
    """Ciphertext fields skip the regex for C string passes: the same strings pass and fail."""
    assert bool(codec._b64_fullmatch(value)) == bool(re.fullmatch(m.B64_PATTERN, value))


def test_a_byte_order_mark_is_not_json() -> None:
    """json.loads refuses a leading BOM; the relay's cached decoder must too."""
    text = "\ufeff" + m.encode(EXAMPLES[5])
    for decode in (m.decode_frame, m.validate_frame):
        with pytest.raises(m.ProtocolError) as exc:
            decode(text)
        assert (exc.value.code, exc.value.reason) == ("malformed", "the frame is not valid JSON")
    assert m.validate_frame(text[1:])["type"] == "envelope"


def test_decode_error_names_the_full_path() -> None:
    bad = json.loads(m.encode(EXAMPLES[5]))  # a candidate envelope
    bad["payload"]["candidates"][0]["sdpMLineIndex"] = True
    for decode in (m.decode_frame, m.validate_frame):
        with pytest.raises(m.ProtocolError) as exc:
            decode(json.dumps(bad))
        assert exc.value.reason == "Envelope.payload.candidates[0].sdpMLineIndex must be an integer"
        assert exc.value.id == "a-3"
    bad["payload"]["options"] = ["audio", "audio"]
    bad["payload"]["type"] = "offer"
    del bad["payload"]["candidates"]
    bad["payload"]["sdp"] = "v=0"
    with pytest.raises(m.ProtocolError) as exc:
        m.validate_frame(json.dumps(bad))
    assert exc.value.reason == "Envelope.payload.options has duplicate items"


# --- one table of every family ------------------------------------------------------------------

FAMILIES = ("wire", "payloads", "datachannel", "ad_frames", "room_frames", "key_frames", "untrusted_json")


@pytest.mark.parametrize("family", FAMILIES)
def test_every_public_name_of_a_family_is_reachable_from_messages(family: str) -> None:
    import importlib

    module = importlib.import_module(f"clubchat.protocol.{family}")
    public = [
        name for name, value in vars(module).items() if not name.startswith("_") and not callable(value)
    ]
    public += [
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__ == module.__name__
    ]
    missing = sorted(name for name in set(public) if getattr(m, name, None) is not getattr(module, name))
    assert not missing, f"clubchat.protocol.messages does not re-export {missing} from {family}"


def test_every_frame_class_of_a_family_is_registered() -> None:
    import importlib

    for family in FAMILIES:
        module = importlib.import_module(f"clubchat.protocol.{family}")
        for value in vars(module).values():
            kind = getattr(value, "TYPE", None)
            if isinstance(value, type) and value.__module__ == module.__name__ and isinstance(kind, str):
                is_payload = kind in {
                    "offer",
                    "answer",
                    "candidate",
                    "remove-candidates",
                    "bye",
                    "text",
                    "head",
                }
                if family in ("payloads", "datachannel") or is_payload:
                    continue  # payloads travel inside envelopes; data-channel messages peer to peer
                assert m.FRAME_CLASSES.get(kind) is value, (
                    f"{value.__name__} ({kind}) is not in FRAME_CLASSES"
                )
