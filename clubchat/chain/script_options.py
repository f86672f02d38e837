"""What the `ape run …` scripts share: the `--deployments` option and the manifest of the connected network.

No ape import here: `provider` is duck-typed (`.network.ecosystem.name`, `.network.name`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from clubchat.chain.manifest import DEPLOYMENTS_DIR, Manifest, ManifestError, load_manifest, manifest_name


def deployments_dir_option(*aliases: str, help: str = "Directory of the deployment manifests.") -> Any:
    """`--deployments` (plus `aliases`, e.g. deploy's historic `--out-dir`), also read from
    CLUBCHAT_DEPLOYMENTS_DIR; the value arrives as the `deployments` parameter."""
    return click.option(
        "--deployments",
        *aliases,
        "deployments",
        envvar="CLUBCHAT_DEPLOYMENTS_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEPLOYMENTS_DIR,
        show_default=True,
        help=help,
    )


deployments_option = deployments_dir_option()


def network_manifest(provider: Any, deployments: Path) -> Manifest:
    """The manifest of the network `provider` is connected to; a click error when there is none."""
    network = provider.network
    try:
        return load_manifest(manifest_name(network.ecosystem.name, network.name), directory=deployments)
    except ManifestError as exc:
        raise click.ClickException(str(exc)) from None
