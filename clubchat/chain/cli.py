"""Chain access for click commands: one place that turns connection and manifest errors into CLI errors."""

from __future__ import annotations

import click
from web3 import Web3

from clubchat.chain.manifest import Manifest, ManifestError, load_manifest
from clubchat.chain.rpc import ChainConnectionError, connect


def open_deployment(rpc: str, manifest: str) -> tuple[Web3, Manifest]:
    """Connect to `rpc` and load `manifest` (network name or path), checked to describe that chain.

    Raises click.ClickException with the reason when the RPC is unreachable, the manifest is missing
    or malformed, or it belongs to another chain.
    """
    try:
        w3 = connect(rpc)
        m = load_manifest(manifest)
        m.check_chain(w3)
    except (ChainConnectionError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None
    return w3, m
