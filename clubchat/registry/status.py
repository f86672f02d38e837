"""The `status` table of a node: pool, shares, commission schedule, unbonding queue, pending rewards."""

from __future__ import annotations

import datetime as dt

from rich.table import Table

from clubchat.registry.client import NodeStatus
from clubchat.registry.kinds import KIND_NAMES, TURN_CREDENTIAL, kind_names


def _club(wei: int) -> str:
    return f"{wei / 1e18:,.4f} CLUB"


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def status_table(s: NodeStatus) -> Table:
    """One rich table; the caller prints it."""
    table = Table(title=f"Node {s.node}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("kinds", ", ".join(kind_names(s.kinds)))
    for kind, uri in s.endpoints.items():
        label = (
            "turn credentials"
            if kind == TURN_CREDENTIAL
            else next(n for n, b in KIND_NAMES.items() if b == kind)
        )
        table.add_row(f"endpoint ({label})", uri)
    table.add_row("node key", s.node_key)
    table.add_row("region", s.region or "-")
    state = "eligible (sampled, earning)" if s.eligible else "not eligible"
    if s.jailed:
        state += f"; jailed until {_when(s.jailed_until)}"
    table.add_row("state", state)
    table.add_row("live until", f"{_when(s.live_until)} (one heartbeat covers {s.heartbeat_seconds} s)")
    table.add_row("pool: bonded", f"{_club(s.bonded_wei)} for {s.bonded_shares:,} shares")
    table.add_row("pool: unbonding", _club(s.unbonding_wei))
    table.add_row("weight in discovery", _club(s.weight_wei))
    table.add_row("commission", f"{s.commission_bps / 100:.2f} %")
    if s.commission_effective_at:
        table.add_row(
            "scheduled commission",
            f"{s.pending_commission_bps / 100:.2f} % from {_when(s.commission_effective_at)}",
        )
    table.add_row(f"shares of {s.account}", f"{s.account_shares:,} (= {_club(s.account_assets_wei)})")
    table.add_row("pending rewards", _club(s.pending_rewards_wei))
    if s.unbonding:
        for e in s.unbonding:
            table.add_row(
                f"unbonding entry {e.entry_id}", f"{_club(e.assets_wei)}, released {_when(e.release_time)}"
            )
    else:
        table.add_row("unbonding queue", "empty")
    table.add_row("epochs finalised", str(s.epochs_finalised))
    return table
