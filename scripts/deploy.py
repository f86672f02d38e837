"""`ape run deploy --network <ecosystem:network:provider>`: deploy the Club Chat protocol.

A thin click front end: the plan is `clubchat.deploy.plan`, the ape backend and
the manifest writing are `clubchat.deploy.ape_backend`. Local networks deploy from
ape's first test account and vest to test accounts 1..3; live networks need
`--account` (default: the alias in ape-config.yaml, `deployer`) and a beneficiary per vesting allocation.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from ape import accounts, config
from ape.cli import ConnectedProviderCommand, account_option, ape_cli_context

from clubchat import params as params_mod
from clubchat.chain.script_options import deployments_dir_option
from clubchat.deploy.ape_backend import DeployRequest, deploy_network
from clubchat.deploy.choices import DeployError, parse_beneficiaries, resolve_beneficiaries
from clubchat.deploy.run import add_repository_tools

# Before ape connects (anvil) or compiles (vyper): the repository's own tools, no downloads.
add_repository_tools(os.environ)

# Fallback when ape-config.yaml's `clubchat: deployer_alias:` is absent.
DEFAULT_ALIAS = "deployer"


def _check_rpc(ctx: click.Context, param: click.Parameter, value: object) -> object:
    """Fail before connecting when a testnet's RPC URL variable (see ape-config.yaml) is not set."""
    # ape calls this with the (not yet connected) provider the --network choice names.
    provider = value
    network = getattr(provider, "network", None)
    if network is None or network.is_dev:
        return value
    try:
        provider.uri  # noqa: B018 - raises ConfigError when ${VAR} was left unexpanded
    except Exception as exc:
        text = str(exc)
        var = text[text.find("${") + 2 : text.find("}")] if "${" in text else "the RPC URL variable"
        raise click.BadParameter(
            f"{var} is not set; export it with an RPC endpoint of {provider.network.choice}",
            ctx=ctx,
            param=param,
        ) from None
    return value


@click.command(cls=ConnectedProviderCommand, network_callback=_check_rpc, short_help=__doc__.splitlines()[0])
@ape_cli_context()
@account_option(prompt=False)
@click.option(
    "--beneficiary",
    "beneficiaries",
    multiple=True,
    metavar="NAME=0xADDRESS",
    help="Receiver of a vesting allocation (repeat per allocation; env CLUBCHAT_BENEFICIARY_<NAME>).",
)
@click.option(
    "--treasury",
    envvar="CLUBCHAT_TREASURY",
    help="Treasury address (default: the Timelock, i.e. the DAO).",
)
@click.option(
    "--parameters",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=params_mod.DEFAULT_PATH,
    show_default=True,
    help="Parameters file.",
)
@deployments_dir_option("--out-dir", help="Directory of the manifests (tests point it at a temporary one).")
def cli(cli_ctx, provider, account, beneficiaries, treasury, parameters, deployments):
    """Deploy (or complete) the protocol and write deployments/<network>.json."""
    network = provider.network
    if account is None:
        alias = config.get_config("clubchat").get("deployer_alias") or DEFAULT_ALIAS
        if network.is_dev:
            account = accounts.test_accounts[0]
        elif alias in accounts.aliases:
            account = accounts.load(alias)
        else:
            raise click.UsageError(
                f"no deployer account: import one with `ape accounts import {alias}` "
                "or pass --account <alias>"
            )
    try:
        params = params_mod.load(parameters)
        request = DeployRequest(
            params=params,
            account=account,
            beneficiaries=resolve_beneficiaries(
                params,
                parse_beneficiaries(beneficiaries),
                is_dev=network.is_dev,
                test_accounts=[str(a.address) for a in accounts.test_accounts],
            ),
            treasury=treasury,
            directory=deployments,
        )
        cli_ctx.logger.info(f"Deploying the Club Chat protocol to {network.choice} from {account.address}")
        deploy_network(provider, request, log=click.echo)
    except (DeployError, params_mod.ParameterError) as exc:
        raise click.ClickException(str(exc)) from None
