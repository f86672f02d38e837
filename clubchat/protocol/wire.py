"""The protocol's wire limits, patterns and error type, shared by every frame family.

Every limit here is part of the protocol: a relay may be stricter, never looser. `ProtocolError`
carries the machine code a relay answers with in an `error` frame (the codes: messages.ERROR_CODES).
"""

from __future__ import annotations

from typing import Literal

ADDRESS_PATTERN = r"0x[0-9a-fA-F]{40}"
ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
MAX_SDP_CHARS = 32_768
MAX_CANDIDATE_CHARS = 1_024
MAX_CANDIDATES = 64
MAX_TEXT_CHARS = 16_384
MAX_REASON_CHARS = 256
MAX_SIGN_IN_CHARS = 2_048
MAX_SIGNATURE_HEX = 4_096
MAX_CHUNK_B64 = 65_536
MEDIA_OPTIONS = ("audio", "video", "data")
Media = Literal["audio", "video", "data"]

HEX_SIGNATURE_PATTERN = rf"0x(?:[0-9a-fA-F]{{2}}){{1,{MAX_SIGNATURE_HEX // 2}}}"
BYTES32_PATTERN = r"0x[0-9a-fA-F]{64}"
SIGNATURE65_PATTERN = r"0x[0-9a-fA-F]{130}"  # r || s || v, v 27/28, low s
B64_PATTERN = r"[A-Za-z0-9+/]*={0,2}"
HEX_PATTERN = r"[0-9a-f]*"
FILE_ID_PATTERN = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


class ProtocolError(ValueError):
    """A frame broke the protocol; `code` is the machine code sent back in an `error` frame."""

    def __init__(self, code: str, reason: str, id: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.id = id  # the frame's envelope id when it had a well-formed one
