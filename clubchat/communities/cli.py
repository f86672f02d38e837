"""The `club community` and `club premium` commands (create|join|invite|sign-invite|combine-invite|
add|remove|ban|info|merkle; subscribe|lock|unlock|status).

Thin click commands over `CommunitiesClient` and `PremiumClient` with the shared chain and key
options; `ape run communities …` offers the same for scripted admins with ape accounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_account.signers.local import LocalAccount
from web3 import Web3

from clubchat.amounts import format_club
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address, ClubAmount
from clubchat.communities import wallet_invite
from clubchat.communities.client import (
    NEVER,
    POLICIES,
    CommunitiesClient,
    CommunityError,
)
from clubchat.communities.invite import SignedInvite
from clubchat.communities.merkle import load_tree_file
from clubchat.premium.client import PremiumClient
from clubchat.timefmt import utc

F = TypeVar("F", bound=Callable[..., Any])


def _sender(w3: Web3, key: LocalAccount | None, key_file: Path | None) -> LocalSender | None:
    return None if key is None and key_file is None else LocalSender(w3, resolve_key(key, key_file))


def _communities(
    rpc_url: str, network: str, key: LocalAccount | None = None, key_file: Path | None = None
) -> CommunitiesClient:
    w3, m = open_deployment(rpc_url, network)
    return CommunitiesClient(w3, m, _sender(w3, key, key_file))


def _premium(
    rpc_url: str, network: str, key: LocalAccount | None = None, key_file: Path | None = None
) -> PremiumClient:
    w3, m = open_deployment(rpc_url, network)
    return PremiumClient(w3, m, _sender(w3, key, key_file))


def _expiry(ts: int) -> str:
    return "never" if ts == NEVER else ("-" if ts == 0 else utc(ts))


@click.group("community")
def community() -> None:
    """Communities: create, join, invite, manage members, Merkle allowlists."""


@community.command("create")
@click.option("--policy", type=click.Choice(list(POLICIES)), default="open", show_default=True)
@click.option("--owner", type=Address(), default=None, help="Owner (EOA or contract wallet); default: you.")
@click.option(
    "--membership-days", type=int, default=0, show_default=True, help="0: memberships never expire."
)
@click.option("--fail-open", is_flag=True, help="Relays serve the cached member list when their RPC is down.")
@chain_options
@key_options()
@one_line_errors
def create_command(
    policy: str,
    owner: str | None,
    membership_days: int,
    fail_open: bool,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Create a community (burns the creation fee)."""
    c = _communities(rpc_url, network, key, key_file)
    cid = c.create(owner, POLICIES[policy], membership_days * 86400, fail_open)
    click.echo(f"community {cid} created ({policy}); owner {c.info(cid).owner}")


@community.command("join")
@click.argument("community_id", type=int)
@click.option(
    "--tree", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="MERKLE: allowlist."
)
@click.option(
    "--voucher", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="INVITE: voucher."
)
@chain_options
@key_options()
@one_line_errors
def join_command(
    community_id: int,
    tree: Path | None,
    voucher: Path | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Join (or renew) COMMUNITY_ID by its policy."""
    c = _communities(rpc_url, network, key, key_file)
    t = load_tree_file(tree) if tree else None
    v = SignedInvite.from_json(json.loads(voucher.read_text())) if voucher else None
    c.join(community_id, tree=t, voucher=v)
    me = c.membership(community_id, c._me().address)
    click.echo(f"joined community {community_id}; membership ends: {_expiry(me.expires_at)}")


def _out_option(what: str) -> Callable[[F], F]:
    """`--out FILE`: where the command writes the `what` (JSON); stdout without it."""
    return click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help=f"Write the {what} here."
    )


@community.command("invite")
@click.argument("community_id", type=int)
@click.argument("invitee", type=Address())
@click.option("--valid-hours", type=float, default=72.0, show_default=True)
@click.option(
    "--wallet",
    type=Address(),
    default=None,
    help="Signer is this multisig wallet (owner or admin): write a request its owners sign (no key needed).",
)
@_out_option("voucher")
@chain_options
@key_options(who="the admin who signs")
@one_line_errors
def invite_command(
    community_id: int,
    invitee: str,
    valid_hours: float,
    wallet: str | None,
    out: Path | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Sign an invite voucher for INVITEE (no transaction; the invitee redeems it with `join`).

    With --wallet, write the voucher's request for the wallet's owners instead: each owner signs it
    with `sign-invite`, and `combine-invite` turns enough signatures into the voucher."""
    c = _communities(rpc_url, network)
    if wallet is not None:
        req = wallet_invite.request(c, community_id, invitee, int(valid_hours * 3600), wallet)
        _write_json(req.as_json(), out)
        click.echo(
            f"{req.threshold} of the {len(req.owners)} owners of wallet {req.wallet} must sign digest "
            f"0x{req.digest.hex()}: each runs `club community sign-invite REQUEST --key-file KEY --out SIG`, "
            "then `club community combine-invite REQUEST SIG... --out VOUCHER`",
            err=out is None,
        )
        return
    voucher = c.invite(community_id, invitee, int(valid_hours * 3600), resolve_key(key, key_file))
    _write_json(voucher.as_json(), out)
    if out is not None:
        click.echo(f"voucher for {invitee} written to {out}")


def _write_json(data: dict[str, object], out: Path | None) -> None:
    """`data` to `out`, or to stdout."""
    text = json.dumps(data, indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CommunityError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CommunityError(f"{path} does not hold a JSON object")
    return data


_JSON_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@community.command("sign-invite")
@click.argument("request", type=_JSON_FILE)
@_out_option("signature")
@chain_options
@key_options(who="the wallet owner who signs")
@one_line_errors
def sign_invite_command(
    request: Path,
    out: Path | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Sign a wallet's invite REQUEST as one of its owners (no transaction)."""
    c = _communities(rpc_url, network)
    req = wallet_invite.WalletInviteRequest.from_json(_read_json(request))
    part = wallet_invite.sign(c, req, resolve_key(key, key_file))
    _write_json(part.as_json(), out)
    if out is not None:
        click.echo(f"{part.owner} signed the invite of {req.invite.invitee}; signature written to {out}")


@community.command("combine-invite")
@click.argument("request", type=_JSON_FILE)
@click.argument("signatures", nargs=-1, type=_JSON_FILE)
@_out_option("voucher")
@chain_options
@one_line_errors
def combine_invite_command(
    request: Path, signatures: tuple[Path, ...], out: Path | None, rpc_url: str, network: str
) -> None:
    """Turn the owners' SIGNATURES of a wallet's invite REQUEST into the voucher `join` redeems."""
    c = _communities(rpc_url, network)
    req = wallet_invite.WalletInviteRequest.from_json(_read_json(request))
    parts = [wallet_invite.OwnerSignature.from_json(_read_json(p)) for p in signatures]
    voucher = wallet_invite.combine(c, req, parts)
    _write_json(voucher.as_json(), out)
    if out is not None:
        click.echo(f"voucher for {req.invite.invitee} signed by wallet {req.wallet} written to {out}")


@community.command("add")
@click.argument("community_id", type=int)
@click.argument("accounts", nargs=-1, type=Address())
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@chain_options
@key_options()
@one_line_errors
def add_command(
    community_id: int,
    accounts: tuple[str, ...],
    csv_file: Path | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Add members (owner or admin), from arguments and/or a CSV of addresses."""
    from clubchat.communities.merkle import read_addresses

    c = _communities(rpc_url, network, key, key_file)
    wanted = [*accounts, *(read_addresses(csv_file) if csv_file else [])]
    if not wanted:
        raise CommunityError("name at least one address (or --csv FILE)")
    txs = c.add(community_id, wanted)
    click.echo(f"added {len(wanted)} member(s) to community {community_id} in {len(txs)} transaction(s)")


@community.command("remove")
@click.argument("community_id", type=int)
@click.argument("accounts", nargs=-1, required=True, type=Address())
@chain_options
@key_options()
@one_line_errors
def remove_command(
    community_id: int,
    accounts: tuple[str, ...],
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Remove members (owner, admin or moderator)."""
    c = _communities(rpc_url, network, key, key_file)
    c.remove(community_id, list(accounts))
    click.echo(f"removed {len(accounts)} member(s) from community {community_id}")


@community.command("ban")
@click.argument("community_id", type=int)
@click.argument("account", type=Address())
@click.option("--unban", is_flag=True, help="Lift the ban instead.")
@chain_options
@key_options()
@one_line_errors
def ban_command(
    community_id: int,
    account: str,
    unban: bool,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Ban ACCOUNT (no join path readmits it), or lift a ban with --unban."""
    c = _communities(rpc_url, network, key, key_file)
    (c.unban if unban else c.ban)(community_id, account)
    click.echo(f"{account} {'unbanned from' if unban else 'banned from'} community {community_id}")


@community.command("info")
@click.argument("community_id", type=int)
@click.option("--account", type=Address(), default=None, help="Also show this account's membership.")
@chain_options
@one_line_errors
def info_command(
    community_id: int,
    account: str | None,
    rpc_url: str,
    network: str,
) -> None:
    """Show a community (and optionally one account's membership)."""
    c = _communities(rpc_url, network)
    i = c.info(community_id)
    days = "never expire" if i.membership_seconds == 0 else f"last {i.membership_seconds / 86400:g} days"
    click.echo(f"community {i.community_id}: policy {i.policy}, {i.member_count} member(s)")
    click.echo(f"owner {i.owner}; memberships {days}; relays fail {'open' if i.fail_open else 'closed'}")
    if i.policy == "merkle":
        click.echo(f"merkle root 0x{i.merkle_root.hex()}")
    if i.policy == "token-gate":
        g = i.gate
        click.echo(
            f"gate: balance >= {format_club(g.min_balance_wei)}, or stake in {g.node} >= "
            f"{format_club(g.min_stake_wei)}, or premium tier >= {g.min_tier} (0: not a way in)"
        )
    if account:
        m = c.membership(community_id, account)
        click.echo(
            f"{account}: member {m.is_member}, ends {_expiry(m.expires_at)}, "
            f"banned {m.banned}, roles {m.roles}"
        )


@community.command("merkle")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the tree dump."
)
@click.option("--proof-for", type=Address(), default=None, help="Print this address's proof.")
@click.option(
    "--set-root", "set_root", type=int, default=None, help="Set the root of this community (admin)."
)
@chain_options
@key_options()
@one_line_errors
def merkle_command(
    source: Path,
    out: Path | None,
    proof_for: str | None,
    set_root: int | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Build an allowlist root from a CSV of addresses (or load an OpenZeppelin tree dump)."""
    tree = load_tree_file(source)
    click.echo(f"root 0x{tree.root.hex()} ({len(tree.addresses)} addresses, depth {tree.depth})")
    if out is not None:
        out.write_text(json.dumps(tree.dump(), indent=2) + "\n")
        click.echo(f"tree written to {out} (OpenZeppelin StandardMerkleTree format)")
    if proof_for:
        click.echo(json.dumps(["0x" + p.hex() for p in tree.proof(proof_for)]))
    if set_root is not None:
        _communities(rpc_url, network, key, key_file).set_merkle_root(set_root, tree.root)
        click.echo(f"community {set_root} now admits this list")


@click.group("premium")
def premium() -> None:
    """Premium tiers: subscribe (or gift), lock CLUB, unlock, status."""


@premium.command("subscribe")
@click.argument("tier", type=int)
@click.option("--periods", type=int, default=1, show_default=True)
@click.option("--for", "account", type=Address(), default=None, help="Gift it to this address.")
@chain_options
@key_options()
@one_line_errors
def subscribe_command(
    tier: int,
    periods: int,
    account: str | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Pay for TIER (burn share and node share per the contract's terms)."""
    p = _premium(rpc_url, network, key, key_file)
    p.subscribe(tier, periods, account)
    st = p.status(account or p._me().address)
    click.echo(f"{st.account}: tier {st.tier}; tier {tier} runs until {utc(st.subscriptions[tier])}")


@premium.command("lock")
@click.argument("amount", type=ClubAmount())
@chain_options
@key_options()
@one_line_errors
def lock_command(
    amount: int,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Lock AMOUNT CLUB for a tier that lasts while locked."""
    p = _premium(rpc_url, network, key, key_file)
    p.lock(amount)
    st = p.status(p._me().address)
    click.echo(f"{format_club(st.locked_wei)} locked; tier {st.tier}")


@premium.command("unlock")
@click.option("--request", is_flag=True, help="Start the unlock delay (the lock's tier ends now).")
@chain_options
@key_options()
@one_line_errors
def unlock_command(
    request: bool,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Withdraw unlocked CLUB after the delay (first `--request`)."""
    p = _premium(rpc_url, network, key, key_file)
    if request:
        p.request_unlock()
        st = p.status(p._me().address)
        click.echo(f"unlock requested; {format_club(st.locked_wei)} come back at {utc(st.unlock_at)}")
    else:
        p.unlock()
        click.echo("unlocked CLUB sent back")


@premium.command("status")
@click.argument("account", type=Address())
@chain_options
@one_line_errors
def status_command(
    account: str,
    rpc_url: str,
    network: str,
) -> None:
    """ACCOUNT's tier, limits, subscriptions and lock."""
    p = _premium(rpc_url, network)
    st = p.status(account)
    lim = st.limits
    click.echo(
        f"{st.account}: tier {st.tier} (messages <= {lim.max_message_bytes:,} B, "
        f"files <= {lim.max_file_bytes:,} B, calls <= {lim.max_call_seconds:,} s, "
        f"mailbox {lim.mailbox_quota_bytes:,} B)"
    )
    for t, end in sorted(st.subscriptions.items()):
        click.echo(f"  subscription tier {t} until {utc(end)}")
    if st.locked_wei:
        state = "locked" if st.unlock_at == 0 else f"unlocking, back at {utc(st.unlock_at)}"
        click.echo(f"  {format_club(st.locked_wei)} {state}")
