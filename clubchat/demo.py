"""`club demo`: the main job on a local chain (filled in by the deploy/demo work)."""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Deploy the protocol to a local anvil and show what it did."""
    raise click.ClickException("the demo is not built yet")
