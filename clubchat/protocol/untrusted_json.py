"""Parsing untrusted JSON text: the checks every frame passes before sign-in, all linear in its length.

`loads_untrusted` is json.loads with a nesting bound checked before parsing and duplicate keys
refused; `too_deep` is the nesting check. tests/node/test_frame_cost.py bounds their cost against
a plain json.loads of the same size.
"""

from __future__ import annotations

import json
from typing import Any

from clubchat.protocol.wire import ProtocolError

MAX_DEPTH = 16  # deepest legitimate message: stored > envelope > payload > candidates > list > candidate
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_ONE_BRACKET_KIND = bytes.maketrans(b"{}", b"[]")

# Everything below runs on untrusted input before sign-in, so every check is LINEAR in the length of
# the text (str.count/replace/split/translate and json.loads: single passes in C, no regex that can
# restart or backtrack). tests/node/test_frame_cost.py bounds their cost against json.loads.


def too_deep(text: str) -> bool:
    """True when JSON nesting exceeds MAX_DEPTH (checked before parsing: the C parser's recursion
    guard follows sys.recursionlimit, and a raised limit lets deep input overflow the C stack).

    Linear in len(text): on the UTF-8 bytes (a multi-byte character never contains an ASCII byte),
    drop escaped backslashes then escaped quotes, so the quotes left delimit strings; drop every
    string (an unclosed one runs to the end); keep the brackets; then peel matched `[]` pairs
    innermost first, one layer per pass, at most MAX_DEPTH passes. Exact for valid JSON; for invalid
    JSON the parser's recursion stays below 2 * MAX_DEPTH (unmatched opening brackets are counted).
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    data = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    if b'"' in data:
        data = b"".join(data.split(b'"')[::2])  # even parts are outside strings
    data = data.translate(_ONE_BRACKET_KIND, _NOT_BRACKET)
    for _ in range(MAX_DEPTH):  # bound: MAX_DEPTH passes, each linear
        inner = data.replace(b"[]", b"")
        if len(inner) == len(data):
            break
        data = inner
    return b"[]" in data or data.count(b"[") > MAX_DEPTH


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads object hook: a duplicate key is an error. Parsers disagree on which copy wins, so a
    relay that forwards the text must not let a client see a different `from` than it checked."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:  # bound: the object's keys, once (linear)
            if key in seen:
                raise ProtocolError("malformed", f"duplicate key {key[:40]!r} in a JSON object")
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def loads_untrusted(text: str | bytes) -> Any:
    """json.loads of a frame from the network: text only, nesting bounded, no duplicate keys."""
    if isinstance(text, bytes):
        raise ProtocolError("malformed", "frames are JSON text, not binary")
    if too_deep(text):
        raise ProtocolError("malformed", f"JSON nesting deeper than {MAX_DEPTH}")
    try:  # json.loads(text, object_pairs_hook=_unique_keys), less a decoder built per call (~1 us)
        if text.startswith("\ufeff"):
            raise ValueError("a byte order mark")  # what json.loads refuses before decoding
        return _DECODER.decode(text)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        raise ProtocolError("malformed", "the frame is not valid JSON") from None
