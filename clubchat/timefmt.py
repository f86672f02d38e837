"""Times as people read them: UTC date and time plus "in 2 days" / "3 hours ago", beside the unix time."""

from __future__ import annotations

from datetime import UTC, datetime


def span(seconds: int) -> str:
    """`2 days`, `5 hours`, `40 minutes`, `12 seconds` (the largest whole unit, rounded down)."""
    seconds = abs(int(seconds))
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def when(timestamp: int, now: int) -> str:
    """`2026-12-07 10:00:00 UTC (in 2 days; unix 1796637600)`; relative to `now` (the chain's clock)."""
    stamp = datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = int(timestamp) - int(now)
    relative = "now" if delta == 0 else (f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago")
    return f"{stamp} ({relative}; unix {int(timestamp)})"
