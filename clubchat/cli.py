"""The `club` command: demo, node, call, sim, ... (sub-commands grow with the protocol)."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="clubchat")
@click.option("--debug", is_flag=True, envvar="CLUB_DEBUG", help="Show the traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Club Chat protocol tools."""
    ctx.obj = {"debug": debug}


def _register() -> None:
    """Attach the sub-command groups that live beside the code they drive."""
    from clubchat.demo import demo

    main.add_command(demo)
    main.add_command(__import__("clubchat.sim.cli", fromlist=["sim"]).sim)
    main.add_command(__import__("clubchat.node.cli", fromlist=["node"]).node)
    # `club node settle` lives with the ad market it settles.
    main.commands["node"].add_command(__import__("clubchat.ads.cli", fromlist=["settle"]).settle)  # type: ignore[attr-defined]
    __import__("clubchat.client.cli", fromlist=["attach"]).attach(main)
    main.add_command(__import__("clubchat.governance.cli", fromlist=["gov"]).gov)
    main.add_command(__import__("clubchat.chain.cli", fromlist=["chain"]).chain)
    main.add_command(__import__("clubchat.keeper.cli", fromlist=["keeper"]).keeper)
    main.add_command(__import__("clubchat.communities.cli", fromlist=["community"]).community)
    main.add_command(__import__("clubchat.communities.cli", fromlist=["premium"]).premium)
    main.add_command(__import__("clubchat.communities.room_cli", fromlist=["room"]).room)
    main.add_command(__import__("clubchat.ads.cli", fromlist=["ads"]).ads)
    main.add_command(__import__("clubchat.disputes.cli", fromlist=["report"]).report)
    main.add_command(__import__("clubchat.disputes.cli", fromlist=["dispute"]).dispute)


_register()
