"""Plaintexts are padded to one of five size buckets and the padding comes off exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clubchat.crypto.padding import BUCKETS, MAX_PLAINTEXT, PaddingError, bucket, pad, unpad


@given(st.binary(max_size=MAX_PLAINTEXT))
def test_pad_round_trips_into_the_smallest_bucket(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) in BUCKETS
    assert len(padded) == min(b for b in BUCKETS if b > len(data))
    assert unpad(padded) == data


@pytest.mark.parametrize(
    ("size", "expected"), [(0, 256), (255, 256), (256, 1024), (1023, 1024), (45_055, 45_056)]
)
def test_bucket_boundaries(size: int, expected: int) -> None:
    assert bucket(size) == expected


def test_too_large_and_malformed_are_refused() -> None:
    with pytest.raises(PaddingError, match="larger than the 45055 bytes"):
        pad(bytes(MAX_PLAINTEXT + 1))
    with pytest.raises(PaddingError, match="not one of the buckets"):
        unpad(bytes(300))
    with pytest.raises(PaddingError, match="padding is malformed"):
        unpad(bytes(256))
