"""`club report` (prove a relay's fork) and `club dispute flag|status|draw|vote|finalize|claim`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount

from clubchat.amounts import format_club
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.chain.tx import LocalSender
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address
from clubchat.client.history import HistoryBook, HistoryStore, default_store_path, registry_keys
from clubchat.disputes.client import (
    HISTORY_REASONS,
    REASONS,
    DisputeError,
    DisputesClient,
    SignedEntry,
    evidence_id,
)
from clubchat.disputes.evidence import CommunityRoom, TypedSigner
from clubchat.disputes.evidence import attach as build_evidence
from clubchat.protocol.room_frames import DEFAULT_ROOM, ROOM_NAME_PATTERN
from clubchat.timefmt import utc


def _client(rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None) -> DisputesClient:
    account = resolve_key(key, key_file)
    w3, manifest = open_deployment(rpc_url, network)
    return DisputesClient(w3, manifest, LocalSender(w3, account))


def _command(group: Any, name: str) -> Callable[[Callable[..., Any]], Any]:
    """A sub-command with the chain and key options and one-line errors."""

    def decorate(fn: Callable[..., Any]) -> Any:
        wrapped = one_line_errors(fn)
        wrapped = key_options(who="the sending account (it pays the gas)")(wrapped)
        return group.command(name)(chain_options(wrapped))

    return decorate


@click.command("report")
@click.argument("entries", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="History store to search for a fork when no files are given [default: this wallet's].",
)
@click.option(
    "--wait", default=30.0, show_default=True, help="Seconds to wait for the block after the commit."
)
@chain_options
@key_options(who="the reporter (it receives the reporter's share)")
@one_line_errors
def report(
    entries: tuple[Path, ...],
    store: Path | None,
    wait: float,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Prove a relay signed two different entries for one (room, seq): commit, wait a block, reveal.

    ENTRIES: two JSON files {"entry": {...}, "signature": "0x…"} as the relay sent them; without
    them, the first fork not proven yet in the client's history store (what `club message` and the
    other client commands kept of the relays' signed history).
    """
    client = _client(rpc_url, network, key, key_file)
    if len(entries) == 2:
        first, second = SignedEntry.load(entries[0]), SignedEntry.load(entries[1])
    elif not entries:
        first, second = fork_in_store(client, store)
    else:
        raise click.UsageError("give two signed-entry files, or none to search the history store")
    result = client.report(first, second, wait_seconds=wait)
    click.echo(f"fork of {result.node} proven (commit {result.commit_tx}, reveal {result.prove_tx})")
    click.echo(f"slashed {format_club(result.cut_wei)}; you received {format_club(result.reporter_wei)}")
    click.echo(f"the node is jailed until {utc(result.jailed_until)}")


def fork_in_store(client: DisputesClient, store: Path | None) -> tuple[SignedEntry, SignedEntry]:
    """The first fork in the history store that is not proven on chain yet."""
    chain_id = int(client.w3.eth.chain_id)
    path = store or default_store_path(chain_id, client.disputes.address, client.sender.address)
    if not path.exists():
        raise DisputeError(f"no history store at {path}; give the two signed entries as files")
    book = HistoryBook(
        chain_id,
        client.disputes.address,
        registry_keys(client.registry),
    )
    for ev in HistoryStore(path).replay(book):
        assert ev.b is not None
        eid = evidence_id(ev.a.entry.node, ev.a.entry.room, ev.a.entry.seq)
        if not client.disputes.functions.proven(eid).call():
            return SignedEntry(ev.a.entry, ev.a.sig), SignedEntry(ev.b.entry, ev.b.sig)
    raise DisputeError(f"the history store {path} holds no fork that is not proven yet")


def evidence_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--attach, --store, --peer, --community and --room of `club dispute flag` and `ape run disputes
    flag`."""
    options = [
        click.option(
            "--attach",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Write the relay's signed entries and its latest refusal of NODE from your history store"
            " to this file (dropping messages, withholding history); without --evidence the flag names it"
            " as file://.",
        ),
        click.option(
            "--store",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="History store --attach reads [default: this wallet's].",
        ),
        click.option(
            "--peer",
            type=Address(),
            default=None,
            help="With --attach: the address you talked with in the refused room. The file then carries"
            " your signed grant to read that room at NODE until the review is over, so the reviewers can"
            " ask for it (the file names PEER).",
        ),
        click.option(
            "--community",
            type=click.IntRange(min=1),
            default=None,
            help="With --attach: the refused room is this community's room --room; the file then carries"
            " your signed grant to read that room at NODE until the review is over (the relay checks you are"
            " a member then), and takes the latest refusal of that room.",
        ),
        click.option(
            "--room",
            default=None,
            help=f"With --community: the room's name [default: {DEFAULT_ROOM}].",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group("dispute")
def dispute() -> None:
    """Flag a node that does not serve, and review flags as a drawn panel member."""


@_command(dispute, "flag")
@click.argument("node", type=Address())
@click.option("--reason", type=click.Choice(sorted(REASONS)), required=True, help="What the node does wrong.")
@click.option(
    "--evidence", "evidence_uri", default="", help="URI of your evidence (probe logs, missing entries)."
)
@evidence_options
def flag(
    node: str,
    reason: str,
    evidence_uri: str,
    attach: Path | None,
    store: Path | None,
    peer: str | None,
    community: int | None,
    room: str | None,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Post the flag bond against NODE; its stake is frozen until the dispute ends."""
    granted = granted_room(attach, peer, community, room)
    client = _client(rpc_url, network, key, key_file)
    if attach is not None:
        assert isinstance(client.sender, LocalSender)  # `_client` sends with the given key
        signer = client.sender.account if peer is not None or granted is not None else None
        evidence_uri = evidence_uri or attach_evidence(
            client, reason, node, attach, store, peer, signer, granted
        )
    dispute_id, tx = client.flag(node, REASONS[reason], evidence_uri)
    click.echo(f"dispute {dispute_id} opened against {node} (tx {tx}); anyone may draw its panel next block")


def granted_room(
    attach: Path | None, peer: str | None, community: int | None, room: str | None
) -> CommunityRoom | None:
    """The community room of `--community`/`--room` (None without --community), after checking the
    grant options go together: they name the room of the evidence --attach writes, one room."""
    given = [
        name for name, v in (("--peer", peer), ("--community", community), ("--room", room)) if v is not None
    ]
    if attach is None and given:
        raise click.UsageError(f"{given[0]} names the room of the evidence --attach writes")
    if room is not None and community is None:
        raise click.UsageError("--room names a room of --community")
    if community is not None and peer is not None:
        raise click.UsageError(
            "the refused room is a conversation (--peer) or a community room (--community)"
        )
    if room is not None and not re.fullmatch(ROOM_NAME_PATTERN, room):
        raise click.UsageError(f"--room {room!r} is not a room name")
    return None if community is None else (community, room or DEFAULT_ROOM)


def attach_evidence(
    client: DisputesClient,
    reason: str,
    node: str,
    out: Path,
    store: Path | None,
    peer: str | None,
    signer: TypedSigner | None,
    community_room: CommunityRoom | None = None,
) -> str:
    """`--attach` of `club dispute flag` and `ape run disputes flag`: write the evidence file (with
    the grant when `peer` or `community_room` is given, signed by `signer`, the flagger's wallet),
    say what it holds, return its URI."""
    if REASONS[reason] not in HISTORY_REASONS:
        raise DisputeError(
            "--attach holds signed history: it is evidence for dropping-messages and withholding-history"
        )
    evidence = build_evidence(client, node, out, store, peer, signer, community_room)
    lo, hi = evidence.missing
    click.echo(f"evidence: the relay's signed head {evidence.head.entry.seq}, missing {lo}-{hi}, in {out}")
    if evidence.grant is not None:
        click.echo(f"grant: reviewers may read that room at {node} until {utc(evidence.grant.expiry)}")
    else:
        click.echo("no grant (give --peer or --community): reviewers can probe only rooms of their own")
    return out.resolve().as_uri()


@dispute.command("status")
@click.argument("dispute_id", type=int)
@chain_options
@one_line_errors
def status(dispute_id: int, rpc_url: str, network: str) -> None:
    """Show a dispute: phase, panel, weights, deadlines."""
    w3, manifest = open_deployment(rpc_url, network)
    client = DisputesClient(w3, manifest, sender=_ReadOnly())
    for line in client.status(dispute_id).lines():
        click.echo(line)


class _ReadOnly:
    """A sender for read-only commands: it refuses to send."""

    address = "0x0000000000000000000000000000000000000000"

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        raise DisputeError("this command only reads; give --key to send transactions")


@_command(dispute, "draw")
@click.argument("dispute_id", type=int)
def draw(
    dispute_id: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Draw the panel of a flagged dispute (permissionless, once the seed block is mined)."""
    panel = _client(rpc_url, network, key, key_file).draw(dispute_id)
    click.echo(
        f"panel: {', '.join(panel)}" if panel else "no panel: the draw was re-armed or the dispute dismissed"
    )


@_command(dispute, "vote")
@click.argument("dispute_id", type=int)
@click.option("--reviewer", type=Address(), required=True, help="The drawn node (operator address).")
@click.option("--kick/--keep", default=None, help="Commit a vote (kick the node or keep it).")
@click.option("--reveal", is_flag=True, help="Reveal the vote committed from this machine.")
def vote(
    dispute_id: int,
    reviewer: str,
    kick: bool | None,
    reveal: bool,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Commit (--kick/--keep) or --reveal a reviewer's vote; send with the operator's or node key."""
    client = _client(rpc_url, network, key, key_file)
    if reveal == (kick is not None):
        raise DisputeError("give --kick or --keep to commit, or --reveal after the commit deadline")
    if reveal:
        revealed, tx = client.reveal_vote(dispute_id, reviewer)
        click.echo(f"revealed {'kick' if revealed else 'keep'} (tx {tx})")
    else:
        tx = client.commit_vote(dispute_id, reviewer, bool(kick))
        click.echo(f"committed (tx {tx}); reveal with --reveal after the commit deadline")


@_command(dispute, "finalize")
@click.argument("dispute_id", type=int)
def finalize(
    dispute_id: int, rpc_url: str, network: str, key: LocalAccount | None, key_file: Path | None
) -> None:
    """Decide a dispute after its reveal deadline (permissionless)."""
    outcome, tx = _client(rpc_url, network, key, key_file).finalize(dispute_id)
    click.echo(f"dispute {dispute_id}: {outcome} (tx {tx})")


@_command(dispute, "claim")
@click.argument("dispute_id", type=int)
@click.option("--reviewer", type=Address(), required=True, help="The voter to pay.")
def claim(
    dispute_id: int,
    reviewer: str,
    rpc_url: str,
    network: str,
    key: LocalAccount | None,
    key_file: Path | None,
) -> None:
    """Pay a voter its share of a rejected flag's bond (anyone may send it)."""
    amount, tx = _client(rpc_url, network, key, key_file).claim_share(dispute_id, reviewer)
    click.echo(f"paid {format_club(amount)} to {reviewer} (tx {tx})")
