"""The `club` command: demo, node, call, sim, ... (sub-commands grow with the protocol)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="clubchat")
def main() -> None:
    """Club Chat protocol tools."""


def _register() -> None:
    """Attach the sub-command groups that live beside the code they drive."""
    from clubchat.demo import demo

    main.add_command(demo)
    main.add_command(__import__("clubchat.sim.cli", fromlist=["sim"]).sim)
    main.add_command(__import__("clubchat.node.cli", fromlist=["node"]).node)
    __import__("clubchat.client.cli", fromlist=["attach"]).attach(main)
    main.add_command(__import__("clubchat.governance.cli", fromlist=["gov"]).gov)


_register()
