"""`club ads …`: advertisers' campaigns, users' earnings, and paid message requests.

    club ads campaign create --budget 1000 --price 0.5 --per-user-cap 10 --days 7 \\
        --creative-file banner.json --creative-uri ipfs://… --target 7 --key-file advertiser.key
    club ads campaign pause|resume|cancel|refund|status CAMPAIGN
    club ads earnings [ADDRESS]        club ads withdraw
    club ads request price|send|accept|decline|reclaim …
    club ads opt-in|opt-out [--node ws://…] [--wallet 0x…]   (a signed AdPreference sent to your
                                               NOTIFY nodes; --wallet: for a contract wallet you own)
"""

from __future__ import annotations

from pathlib import Path

import click
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.ads.client import AdMarketClient, CampaignSpec
from clubchat.amounts import format_club
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address, ClubAmount
from clubchat.timefmt import utc


def _client(
    rpc_url: str, network: str, key: LocalAccount | None = None, key_file: Path | None = None
) -> AdMarketClient:
    w3, manifest = open_deployment(rpc_url, network)
    if key is None and key_file is None:
        return AdMarketClient(w3, manifest)
    return AdMarketClient(w3, manifest, LocalSender(w3, resolve_key(key, key_file)))


def _now(client: AdMarketClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def creative_hash(creative_file: Path | None, creative_hash_hex: str | None) -> bytes:
    """keccak256 of the creative file's bytes, or the hash given in hex (exactly one of the two)."""
    if (creative_file is None) == (creative_hash_hex is None):
        raise click.UsageError("give --creative-file PATH (hashed here) or --creative-hash 0x… (32 bytes)")
    if creative_file is not None:
        return bytes(keccak(creative_file.read_bytes()))
    try:
        raw = bytes.fromhex(str(creative_hash_hex).removeprefix("0x"))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise click.BadParameter("a 32-byte hash in hex, 0x + 64 digits", param_hint="--creative-hash")
    return raw


@click.group("ads")
def ads() -> None:
    """The ad market: campaigns, earnings, paid message requests."""


@ads.group("campaign")
def campaign() -> None:
    """Advertisers: escrow a campaign, pause, resume, cancel, refund, status."""


@campaign.command("create")
@chain_options
@key_options(who="the advertiser")
@click.option("--budget", "budget_wei", type=ClubAmount(), required=True, help="CLUB escrowed.")
@click.option(
    "--price", "price_wei", type=ClubAmount(), required=True, help="CLUB per confirmed notification."
)
@click.option("--per-user-cap", type=int, required=True, help="Most notifications paid per user.")
@click.option("--days", type=float, required=True, help="How long the campaign runs.")
@click.option("--start-in-hours", type=float, default=0.0, show_default=True, help="Delay before it starts.")
@click.option("--creative-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--creative-hash", "creative_hash_hex", default=None, help="keccak256 of the creative (hex).")
@click.option("--creative-uri", required=True, help="Where clients fetch the creative.")
@click.option(
    "--target", "targets", type=int, multiple=True, help="Target community id (repeat; none = all)."
)
@click.option(
    "--min-tier", type=int, default=0, show_default=True, help="Minimum Premium tier of paid users."
)
@click.option(
    "--min-stake", "min_stake_wei", type=ClubAmount(allow_zero=True), default="0", help="Minimum stake."
)
@one_line_errors
def create(
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
    budget_wei: int,
    price_wei: int,
    per_user_cap: int,
    days: float,
    start_in_hours: float,
    creative_file: Path | None,
    creative_hash_hex: str | None,
    creative_uri: str,
    targets: tuple[int, ...],
    min_tier: int,
    min_stake_wei: int,
) -> None:
    """Escrow a campaign's budget (approves the market first if needed)."""
    client = _client(rpc_url, network, key, key_file)
    start = _now(client) + int(start_in_hours * 3_600)
    spec = CampaignSpec(
        budget_wei=budget_wei,
        price_wei=price_wei,
        per_user_cap=per_user_cap,
        start=start,
        end=start + int(days * 86_400),
        creative_hash=creative_hash(creative_file, creative_hash_hex),
        creative_uri=creative_uri,
        targets=targets,
        min_tier=min_tier,
        min_stake_wei=min_stake_wei,
    )
    cid = client.create_campaign(spec)
    click.echo(f"campaign {cid} created: {format_club(budget_wei)} escrowed, runs until {utc(spec.end)}")


def _campaign_action(name: str, doc: str) -> None:
    @campaign.command(name, help=doc)
    @click.argument("campaign_id", type=int)
    @chain_options
    @key_options(who="the advertiser")
    @one_line_errors
    def command(
        campaign_id: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
    ) -> None:
        client = _client(rpc_url, network, key, key_file)
        if name == "refund":
            click.echo(f"campaign {campaign_id}: {format_club(client.refund(campaign_id))} refunded")
            return
        getattr(client, name)(campaign_id)
        click.echo(f"campaign {campaign_id}: {client.status(campaign_id).state(_now(client))}")


_campaign_action("pause", "Ask NOTIFY nodes to stop delivering (earlier views still settle).")
_campaign_action("resume", "Let NOTIFY nodes deliver again.")
_campaign_action("cancel", "End the campaign now; receipts settle for the grace period, then refund.")
_campaign_action("refund", "Take back the unspent budget once settlement has closed.")


@campaign.command("status")
@click.argument("campaign_id", type=int)
@chain_options
@one_line_errors
def status(campaign_id: int, rpc_url: str, network: str) -> None:
    """Show a campaign: budget, spend, window, targets, gates."""
    client = _client(rpc_url, network)
    for line in client.status(campaign_id).lines(_now(client)):
        click.echo(line)


@ads.command("earnings")
@click.argument("address", type=Address())
@chain_options
@one_line_errors
def earnings(address: str, rpc_url: str, network: str) -> None:
    """What ADDRESS earned in the ad market and can withdraw now."""
    click.echo(f"{address} can withdraw {format_club(_client(rpc_url, network).earnings(address))}")


@ads.command("withdraw")
@chain_options
@key_options(who="the earner")
@one_line_errors
def withdraw(rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> None:
    """Withdraw everything earned (users, node operators, community payout addresses)."""
    click.echo(f"withdrew {format_club(_client(rpc_url, network, key, key_file).withdraw())}")


@ads.group("request")
def request() -> None:
    """Paid message requests: a price for first messages from strangers."""


@request.command("price")
@click.argument("price_wei", type=ClubAmount(allow_zero=True))
@chain_options
@key_options(who="the recipient")
@one_line_errors
def request_price(
    price_wei: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Set your price (CLUB) for a first message from a stranger; 0 takes none."""
    _client(rpc_url, network, key, key_file).set_request_price(price_wei)
    click.echo(f"first messages from strangers now cost {format_club(price_wei)}")


@request.command("send")
@click.argument("recipient", type=Address())
@click.option("--max-price", "max_price_wei", type=ClubAmount(), required=True, help="Most you pay.")
@chain_options
@key_options(who="the sender")
@one_line_errors
def request_send(
    recipient: str,
    max_price_wei: int,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Escrow RECIPIENT's price so its relay delivers your first message."""
    paid = _client(rpc_url, network, key, key_file).send_request(recipient, max_price_wei)
    click.echo(f"escrowed {format_club(paid)} for a first message to {recipient}")


def _request_answer(name: str, doc: str, who: str) -> None:
    @request.command(name, help=doc)
    @click.argument("other", type=Address())
    @chain_options
    @key_options(who=who)
    @one_line_errors
    def command(
        other: str, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
    ) -> None:
        getattr(_client(rpc_url, network, key, key_file), f"{name}_request")(other)
        click.echo(
            f"{name}ed the request ({other})" if name != "decline" else f"declined the request from {other}"
        )


_request_answer("accept", "Accept the pending request from OTHER: earn it minus the burn.", "the recipient")
_request_answer("decline", "Decline the pending request from OTHER: it is refunded now.", "the recipient")
_request_answer("reclaim", "Take back your expired request to OTHER.", "the sender")


@click.command("settle")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The node's receipt store (SQLite).",
)
@click.option(
    "--node", "node", type=Address(), required=True, help="The node's registry address (its operator)."
)
@click.option(
    "--min-value",
    "min_value_wei",
    type=ClubAmount(allow_zero=True),
    default="0",
    help="Send nothing until the receipts are worth this much CLUB (the margin over gas).",
)
@chain_options
@key_options(envvar="CLUB_NODE_KEY", who="the node's operator or its node key")
@one_line_errors
def settle(
    store_path: Path,
    node: str,
    min_value_wei: int,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Settle the node's stored ad receipts in batches of at most 100 (`club node settle`)."""
    from clubchat.ads.receipt_store import ReceiptStore, settle_pending

    client = _client(rpc_url, network, key, key_file)
    store = ReceiptStore(store_path, client.domain())
    try:
        for line in settle_pending(store, client, node, min_value_wei).lines():
            click.echo(line)
    finally:
        store.close()


def _preference_command(name: str, enabled: bool, doc: str) -> None:
    @ads.command(name, help=doc)
    @click.option(
        "--node",
        "nodes",
        multiple=True,
        help="A NOTIFY node's WebSocket URI (repeat) [default: your NOTIFY nodes from the registry].",
    )
    @click.option(
        "--wallet",
        type=Address(),
        default=None,
        help="A contract wallet (EIP-1271) to set this for instead of the key's own address; the key "
        "must be one the wallet accepts a plain ECDSA signature from (its owner).",
    )
    @chain_options
    @key_options(who="the user (with --wallet: the wallet's owner)")
    @one_line_errors
    def command(
        nodes: tuple[str, ...],
        wallet: str | None,
        rpc_url: str,
        network: str,
        key: LocalAccount | None,
        key_file: Path | None,
    ) -> None:
        import asyncio

        from clubchat.ads.notifications import WalletAccount, notify_uris, send_preference
        from clubchat.registry.discovery import RegistryDiscovery

        account: LocalAccount | WalletAccount = resolve_key(key, key_file)
        w3, manifest = open_deployment(rpc_url, network)
        if wallet is not None:
            if not w3.eth.get_code(wallet):  # type: ignore[arg-type]
                raise click.BadParameter(
                    f"{wallet} has no code: not a contract wallet", param_hint="--wallet"
                )
            account = WalletAccount(wallet, account)
        client = AdMarketClient(w3, manifest)
        uris = list(nodes) or notify_uris(RegistryDiscovery(w3, manifest), account.address)
        if not uris:
            raise click.ClickException("no NOTIFY node is registered; give one with --node ws://…")
        results = asyncio.run(send_preference(uris, account, client.domain(), enabled))
        for uri, outcome in results:
            click.echo(f"{uri}: {outcome}")
        if not any(outcome == "ok" for _, outcome in results):
            raise click.ClickException("no NOTIFY node took the setting; check the URIs and retry")


_preference_command(
    "opt-in", True, "Receive paid ad notifications from your NOTIFY nodes (a signed setting; earn per view)."
)
_preference_command(
    "opt-out", False, "Receive no ad notifications (a signed setting the NOTIFY nodes keep; sign nothing)."
)
