"""Padding plaintexts to a few size buckets before encryption, so a ciphertext's length says little.

A plaintext of n bytes becomes the smallest bucket of BUCKETS that holds n + 1 bytes: the plaintext,
one 0x80 byte, then zeros (ISO/IEC 7816-4 padding), so the padding is removed unambiguously. The
buckets are 256 B (a short chat line or a `bye`), 1 KiB, 4 KiB (a typical SDP without candidates),
16 KiB and 44 KiB (the largest that fits the relay's 64 KiB frame once encrypted and base64-encoded).
"""

from __future__ import annotations

BUCKETS = (256, 1_024, 4_096, 16_384, 45_056)
MAX_PLAINTEXT = BUCKETS[-1] - 1


class PaddingError(ValueError):
    """A plaintext does not fit the largest bucket, or a decrypted plaintext is not padded correctly."""


def bucket(size: int) -> int:
    """The bucket a plaintext of `size` bytes is padded to."""
    for b in BUCKETS:  # bound: five buckets
        if size + 1 <= b:
            return b
    raise PaddingError(
        f"a payload of {size} bytes is larger than the {MAX_PLAINTEXT} bytes a message may carry"
    )


def pad(data: bytes) -> bytes:
    """`data` + 0x80 + zeros up to its bucket."""
    return data + b"\x80" + bytes(bucket(len(data)) - len(data) - 1)


def unpad(padded: bytes) -> bytes:
    """Remove `pad`'s padding; raises PaddingError when it is not there or the length is no bucket."""
    if len(padded) not in BUCKETS:
        raise PaddingError(f"a padded plaintext of {len(padded)} bytes is not one of the buckets {BUCKETS}")
    body = padded.rstrip(b"\x00")
    if not body.endswith(b"\x80"):
        raise PaddingError("the plaintext's padding is malformed")
    return body[:-1]
