"""Cost of the checks a relay runs on untrusted frames, before sign-in: linear in the frame's length.

The bound is relative: the time `validate_frame` takes on an adversarial frame is compared with a
plain `json.loads` of a valid JSON text of the same size, measured in the same run (best of a few
repetitions each, so a busy machine slows both alike). A quadratic check (the
nesting check restarted its token regex at every unclosed quote) is thousands of times slower.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.protocol import messages as m

# Pieces an attacker repeats: unclosed strings, escapes (escaped quotes and backslashes), brackets
# of both kinds (opened, closed, balanced), quotes inside and outside strings, multi-byte text.
PIECES = ['"', '\\"', "\\\\", "\\", "[", "]", "{", "}", "[]", "{}", '{"a":', '"a":[', ",", "1", "é", "\u2028"]
MAX_RATIO = 12.0  # validate_frame / json.loads of valid JSON of the same size; measured ~0.1-3


def _best(fn: Callable[[str], Any], text: str, repeat: int = 5) -> float:
    """Fastest of `repeat` runs (exceptions are part of the cost)."""
    best = float("inf")
    for _ in range(repeat):  # bound: repeat
        start = time.perf_counter()
        with contextlib.suppress(m.ProtocolError):
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def _baseline(size: int) -> float:
    """A plain json.loads of a valid document of `size` characters (a list of short strings)."""
    text = json.dumps(["ab"] * (size // 6))
    return _best(json.loads, text)


def _adversarial(prefix: str, piece: str, size: int) -> str:
    return (prefix + piece * (size // max(1, len(piece))))[:size]


def _ratio(text: str) -> float:
    return _best(m.validate_frame, text) / _baseline(len(text))


def test_the_reported_frame_costs_about_one_json_parse() -> None:
    """The security review's frame, shortened to 16 KB (the 64 KB one froze the old relay for 13 s)."""
    frame = "[]" * 17 + '"' + '\\"' * 8_000
    with pytest.raises(m.ProtocolError):
        m.validate_frame(frame)
    assert _ratio(frame) < MAX_RATIO


@settings(max_examples=25, deadline=None)
@given(
    prefix=st.sampled_from(["", "[]" * 17, "[" * 17, "{" * 17, '{"type":"envelope","x":', '"']),
    pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=4),
)
def test_adversarial_shapes_cost_about_one_json_parse(prefix: str, pieces: list[str]) -> None:
    frame = _adversarial(prefix, "".join(pieces), 16_000)
    assert _ratio(frame) < MAX_RATIO, frame[:80]


@pytest.mark.slow
@pytest.mark.parametrize(
    "piece", ['\\"', '"', "[", "[]", '{"a":[', '[]"', '\\\\\\"[', '{"a":"b",', "[1,", "{}"]
)
def test_full_size_adversarial_frames_cost_about_one_json_parse(piece: str) -> None:
    """The same at the relay's default frame limit (64 KiB), with 17 brackets first to defeat the
    cheap pre-count."""
    frame = _adversarial("[]" * 17, piece, 65_536)
    assert _ratio(frame) < MAX_RATIO


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("[" * 16 + "]" * 16, False),
        ("[" * 17 + "]" * 17, True),
        ('{"a":' * 16 + "1" + "}" * 16, False),
        ('{"a":' * 17 + "1" + "}" * 17, True),
        ("[]" * 40, False),  # wide, not deep
        ('["' + "[" * 40 + '"]', False),  # brackets inside a string do not count
        ('["\\"' + "[" * 40 + '"]', False),  # ...after an escaped quote either
        ('["\\\\"' + ",[" * 17 + "]" * 17 + "]", True),  # an escaped backslash ends no string
        ("[" * 17 + '"unclosed', True),
        ('"' + "[" * 40, False),  # all inside one unclosed string
        ("[" * 17, True),  # unclosed brackets count
    ],
)
def test_nesting_check_is_exact_on_brackets_in_and_out_of_strings(text: str, deep: bool) -> None:
    assert m.too_deep(text) is deep


def test_duplicate_keys_are_rejected_at_any_depth() -> None:
    frame = (
        '{"type":"envelope","id":"d1","from":"0x' + "11" * 20 + '","from":"0x' + "22" * 20 + '",'
        '"to":"0x' + "33" * 20 + '","payload":{"type":"text","body":"a"}}'
    )
    with pytest.raises(m.ProtocolError) as err:
        m.validate_frame(frame)
    assert err.value.code == "malformed" and "duplicate key 'from'" in err.value.reason
    nested = frame.replace('"from":"0x' + "22" * 20 + '",', "").replace('"body":"a"', '"body":"a","body":"b"')
    with pytest.raises(m.ProtocolError) as err:
        m.validate_frame(nested)
    assert "duplicate key 'body'" in err.value.reason
    assert m.validate_frame(nested.replace(',"body":"b"', ""))["payload"]["body"] == "a"
