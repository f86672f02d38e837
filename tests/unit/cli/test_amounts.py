"""The one CLUB amount parser: exact decimals, clear refusals."""

from __future__ import annotations

import pytest

from clubchat.amounts import AmountError, format_club, parse_club, with_club
from clubchat.timefmt import span, when

WAD = 10**18


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("20000", 20_000 * WAD),
        ("30000.3", 30_000 * WAD + 3 * WAD // 10),  # a float would bond ...998,033,920 wei
        ("0.000000000000000001", 1),
        ("5CLUB", 5 * WAD),
        ("5 club", 5 * WAD),
        ("1e3", 1000 * WAD),
        ("0", 0),
    ],
)
def test_parses_exact_decimals(text: str, wei: int) -> None:
    assert parse_club(text) == wei


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10,000", "'10,000': write CLUB amounts without thousands separators, e.g. 10000"),
        ("10_000", "without thousands separators, e.g. 10000"),
        ("-5", "'-5': CLUB amounts cannot be negative"),
        ("0.0000000000000000001", "has more than 18 decimals"),
        ("ten", "'ten' is not a number of CLUB; write e.g. 20000 or 0.5"),
        ("nan", "is not a finite number of CLUB"),
    ],
)
def test_refuses_with_one_sentence(text: str, message: str) -> None:
    with pytest.raises(AmountError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_club(text)


def test_zero_refused_when_asked() -> None:
    with pytest.raises(AmountError, match="above 0 CLUB"):
        parse_club("0", allow_zero=False)


@pytest.mark.parametrize(
    ("wei", "text"),
    [
        (20_000 * WAD, "20,000 CLUB"),
        (WAD // 2, "0.5 CLUB"),
        (1234 * WAD + 1, "1,234.000000000000000001 CLUB"),
        (0, "0 CLUB"),
    ],
)
def test_formats_exactly_with_units(wei: int, text: str) -> None:
    assert format_club(wei) == text
    assert parse_club(text.replace(",", "")) == wei


def test_with_club_shows_wei_sized_values_in_club() -> None:
    assert with_club(5 * WAD) == "5000000000000000000 (5 CLUB)"
    assert with_club(604_800) == "604800"  # a period stays a number
    assert with_club(True) == "True"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (15 * 86_400 + 1, "15 days"),
        (6 * 86_400 + 23 * 3_600 + 30 * 60, "6 days 23 hours"),
        (3_600, "1 hour"),
        (5_400, "1 hour 30 minutes"),
        (59, "59 seconds"),
    ],
)
def test_spans_read_like_speech(seconds: int, text: str) -> None:
    assert span(seconds) == text


def test_when_says_utc_relative_and_unix() -> None:
    assert (
        when(1_796_637_600, 1_796_637_600 - 2 * 86_400)
        == "2026-12-07 10:00:00 UTC (in 2 days; unix 1796637600)"
    )
    assert when(100, 200) == "1970-01-01 00:01:40 UTC (1 minute ago; unix 100)"


@pytest.mark.parametrize(
    ("wei", "text"),
    [
        (54_400, "< 0.0001 CLUB"),  # the keeper's dust tip used to print as 0.0000000000000544 CLUB
        (5 * WAD, "5 CLUB"),
        (5 * WAD + 12_345 * 10**12, "5.0123 CLUB"),
        (5 * WAD + 12_355 * 10**12, "5.0124 CLUB"),  # half up
        (20_000 * WAD, "20,000 CLUB"),
        (0, "0 CLUB"),
        (-54_400, "-< 0.0001 CLUB"),
    ],
)
def test_formats_reports_to_a_few_decimals(wei: int, text: str) -> None:
    assert format_club(wei, decimals=4) == text
