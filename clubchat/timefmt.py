"""Times as people read them: UTC date and time plus "in 2 days" / "3 hours ago", beside the unix time."""

from __future__ import annotations

from datetime import UTC, datetime


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' if n != 1 else ''}"


def span(seconds: int) -> str:
    """`2 days`, `6 days 23 hours`, `5 hours 30 minutes`, `40 minutes`, `12 seconds` (rounded down)."""
    seconds = abs(int(seconds))
    units = (("day", 86_400), ("hour", 3_600), ("minute", 60))
    for i, (unit, size) in enumerate(units):
        if seconds >= size:
            text = _count(seconds // size, unit)
            if i + 1 < len(units):  # one finer unit when it is not zero (seconds never follow)
                finer, finer_size = units[i + 1]
                if (rest := seconds % size // finer_size) > 0:
                    text += " " + _count(rest, finer)
            return text
    return _count(seconds, "second")


def utc(timestamp: int) -> str:
    """`2026-12-07 10:00:00 UTC`."""
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def when(timestamp: int, now: int) -> str:
    """`2026-12-07 10:00:00 UTC (in 2 days; unix 1796637600)`; relative to `now` (the chain's clock)."""
    stamp = utc(timestamp)
    delta = int(timestamp) - int(now)
    relative = "now" if delta == 0 else (f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago")
    return f"{stamp} ({relative}; unix {int(timestamp)})"
