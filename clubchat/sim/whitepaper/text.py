"""Formatting of the whitepaper's numbers and tables (CLUB, USD, percentages, durations, Markdown tables)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from string import Template
from typing import Any

from clubchat.params import DAY


def club(x: float) -> str:
    """Whole CLUB, scaled to M or k."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} M CLUB"
    if abs(x) >= 1e3:
        return f"{x / 1e3:,.1f} k CLUB"
    return f"{x:,.0f} CLUB"


def usd(x: float) -> str:
    if x < 0:
        return "-" + usd(-x)
    if abs(x) >= 1e9:
        return f"${x / 1e9:,.2f} bn"
    if abs(x) >= 1e6:
        return f"${x / 1e6:,.2f} M"
    if abs(x) >= 1e3:
        return f"${x / 1e3:,.1f} k"
    return f"${x:,.2f}"


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def num(x: float) -> str:
    return f"{x:,.0f}"


def days_text(seconds: int) -> str:
    d = seconds / DAY
    if seconds == 0:
        return "none"
    if d >= 1:
        return f"{d:g} day" + ("" if d == 1 else "s")
    h = seconds / 3600
    return f"{h:g} hour" + ("" if h == 1 else "s")


def table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def template(name: str) -> Template:
    """A template of the whitepaper package (`template.md`, `validation.md`)."""
    return Template(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
