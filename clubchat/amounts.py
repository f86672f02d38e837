"""CLUB amounts as people type and read them: exact decimals in, wei out, and back with units.

One parser for every command (`club`, `ape run nodes`, `ape run governance`): a `Decimal`, never a
float, with at most 18 decimals, no thousands separators, not negative; an optional `CLUB` suffix.
Every refusal is one sentence naming what was typed and what to type instead.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

WAD = 10**18
DECIMALS = 18


class AmountError(ValueError):
    """An amount that is not an exact, non-negative CLUB decimal; the message says what to type."""


def parse_club(text: str | int | Decimal, *, allow_zero: bool = True) -> int:
    """Wei in `text` CLUB: `"20000"`, `"0.5"`, `"5CLUB"`, `"1e3"`; refuses what is not exact.

    >>> parse_club("30000.3")
    30000300000000000000000
    """
    raw = str(text).strip()
    body = raw[:-4].strip() if raw.upper().endswith("CLUB") else raw
    if "," in body or "_" in body or " " in body:
        plain = body.replace(",", "").replace("_", "").replace(" ", "")
        raise AmountError(f"{raw!r}: write CLUB amounts without thousands separators, e.g. {plain}")
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise AmountError(f"{raw!r} is not a number of CLUB; write e.g. 20000 or 0.5") from None
    if not value.is_finite():
        raise AmountError(f"{raw!r} is not a finite number of CLUB")
    if value < 0:
        raise AmountError(f"{raw!r}: CLUB amounts cannot be negative")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > DECIMALS:
        raise AmountError(f"{raw!r} has more than {DECIMALS} decimals, the smallest CLUB unit is 1e-18")
    wei = int(value * WAD)
    if wei == 0 and not allow_zero:
        raise AmountError(f"{raw!r}: give an amount above 0 CLUB")
    return wei


def format_club(wei: int, unit: str = "CLUB", *, decimals: int = DECIMALS) -> str:
    """`"20,000 CLUB"`, `"0.5 CLUB"`, `"1,234.000000000000000001 CLUB"`: exact, trailing zeros dropped.

    With `decimals` below 18 (reports of earnings, where the last wei says nothing) the amount is
    rounded to that many decimals, and a non-zero amount that rounds to 0 reads as below the
    smallest shown unit instead of a string of zeros:

    >>> format_club(54_400, decimals=4)
    '< 0.0001 CLUB'
    >>> format_club(5 * WAD + 12_345 * 10**12, decimals=4)
    '5.0123 CLUB'
    """
    sign = "-" if wei < 0 else ""
    magnitude = abs(int(wei))
    step = 10 ** (DECIMALS - decimals)
    if decimals < DECIMALS:
        rounded = (magnitude + step // 2) // step * step  # half up, to `decimals` places
        if magnitude and not rounded:
            smallest = f"0.{'0' * (decimals - 1)}1" if decimals else "1"
            return f"{sign}< {smallest} {unit}" if unit else f"{sign}< {smallest}"
        magnitude = rounded
    whole, frac = divmod(magnitude, WAD)
    text = f"{sign}{whole:,}"
    if frac:
        text += "." + f"{frac:018d}".rstrip("0")
    return f"{text} {unit}" if unit else text


def format_eth(wei: int) -> str:
    """Ether with the same exact rendering (`"0.05 ETH"`)."""
    return format_club(wei, "ETH")


# Integers at least this large shown by `with_club` are read as wei (1e15 wei = 0.001 CLUB); smaller
# ones (periods, bps, counts) are shown as they are.
WEI_LIKE = 10**15


def with_club(value: object) -> str:
    """`5000000000000000000 (5 CLUB)` for wei-sized integers, else `str(value)` (for `simulate`'s views)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= WEI_LIKE:
        return f"{value} ({format_club(value)})"
    return str(value)
