"""`club room send|send-file|listen`: post to and follow a community room through its rendezvous relays.

The relays are found in NodeRegistry like a user's: `sample(RELAY, keccak256(room id), --k)`
(clubchat.communities.rooms.room_relays); `--relay` names one directly instead. The relay admits
the signed-in wallet only while the community's on-chain membership says so, and answers a refusal
with its reason (not a member, banned, admins only in a broadcast room, over the tier's limit).
Room messages are end-to-end encrypted (clubchat.communities.sealed): `send` hands this wallet's
sender key to every member listening on the room's relays (inside their pairwise sealed sessions)
and posts the text as a `room-sealed` payload; `send-file` posts a file encrypted end to end
(clubchat.crypto.roomfiles: its key, name and type in a sealed message, then ciphertext chunks the
relay checks against the sender's tier); `listen` opens what members send from then on and, with
`--files DIR`, writes each file that arrived whole (SHA-256 checked) into DIR. The members are read
from Communities' logs (--rpc-url / --network), or named with `--member`.

With a deployment that has Disputes, every command checks the relays' signed history of the room
(clubchat.client.history, kept in the wallet's store): `listen` prints a `history` line for each
problem, `send` and `send-file` a warning. `send` then posts the wallet's signed head of the room
(sealed; `--no-head` skips it): a member listening who was shown another history holds both signed
entries of the fork in its store, and `club report` proves it. `listen` posts the wallet's signed head
too (`HeadPoster`, `--no-head` skips it), on a relay where members' posts arrived since its last head,
at most once every `--head-every` seconds (HEAD_SECONDS) per relay and once more when it stops, so
listeners who never post are compared as well. `--relay` with `--member` also runs without the chain
(and then without the check).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from websockets.exceptions import ConnectionClosed

from clubchat.aio import cancel_and_wait
from clubchat.chain.cli import chain_options, key_options, open_deployment, resolve_key
from clubchat.cli_errors import one_line_errors
from clubchat.client.cli import emit_history, warn_history
from clubchat.client.history import HistoryBook, Problem, client_book
from clubchat.client.relay_client import RelayError, new_envelope_id
from clubchat.client.secure import Secure
from clubchat.communities.rooms import RoomClient, room_relays
from clubchat.communities.sealed import Members, SealedRoom, members_of
from clubchat.crypto.roomfiles import MAX_BYTES, OpenedFile, seal_file
from clubchat.node.rooms import ChainFeed, open_feed
from clubchat.protocol import messages as m
from clubchat.registry.discovery import RegistryDiscovery

HEAD_SECONDS = 30.0  # `club room listen`: seconds at least between two heads it posts at one relay


def _room_options(fn: Any) -> Any:
    fn = click.option("--room", default=m.DEFAULT_ROOM, show_default=True, help="Room name.")(fn)
    fn = click.option("--k", "k", default=2, show_default=True, help="Rendezvous relays of the room.")(fn)
    fn = click.option(
        "--relay", "relays", multiple=True, help="Use this relay (ws://…) instead of the registry's."
    )(fn)
    fn = click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for a relay.")(fn)
    fn = click.option(
        "--member",
        "members",
        multiple=True,
        help="A member to share room keys with (default: the members in Communities' logs).",
    )(fn)
    return fn


def _members(community: int, opts: dict[str, Any]) -> tuple[Members, ChainFeed | None]:
    """Who the room's keys go to: --member as given, else Communities' logs read up to the head
    (the feed is returned to follow them further)."""
    if opts["members"]:
        fixed = list(opts["members"])
        return (lambda: fixed), None
    w3, manifest = open_deployment(opts["rpc_url"], opts["network"])
    feed = open_feed(w3, manifest, depth=0)
    if feed is None:
        raise click.ClickException("the deployment has no Communities; name the members with --member")
    feed.sync_once()
    return members_of(feed, community), feed


def _setup(
    community: int, opts: dict[str, Any], on_problem: Callable[[Problem], None] = warn_history
) -> tuple[LocalAccount, list[str], HistoryBook | None]:
    """The wallet, the room's relays (--relay as given, else the room's rendezvous relays) and the
    HistoryBook that checks their signed history (None without Disputes in the deployment, or when
    --relay and --member are given and the chain cannot be read: those need no chain)."""
    account = resolve_key(opts["key"], opts["key_file"])
    try:
        w3, manifest = open_deployment(opts["rpc_url"], opts["network"])
    except click.ClickException:
        if opts["relays"] and opts["members"]:
            return account, list(opts["relays"]), None
        raise
    book = client_book(w3, manifest, account.address, on_problem)
    if opts["relays"]:
        return account, list(opts["relays"]), book
    found = room_relays(RegistryDiscovery(w3, manifest), community, opts["room"], opts["k"])
    if not found:
        raise click.ClickException("the registry lists no live relay; pass one with --relay ws://…")
    return account, found, book


async def _connect(
    uris: list[str], account: LocalAccount, timeout: float, book: HistoryBook | None = None
) -> list[RoomClient]:
    """Connections to every relay that answers (at least one, or a ClickException naming why)."""
    clients: list[RoomClient] = []
    errors: list[str] = []
    for uri in uris:  # bound: --k relays
        try:
            client = await RoomClient.connect(uri, account, timeout=timeout, history=book)
        except (OSError, TimeoutError, RelayError) as exc:
            errors.append(f"{uri}: {exc}")
            continue
        assert isinstance(client, RoomClient)
        clients.append(client)
    if not clients:
        raise click.ClickException("no relay of the room answered (" + "; ".join(errors) + ")")
    return clients


def _refused(exc: RelayError) -> click.ClickException:
    return click.ClickException(f"the relay refused: {exc.code}: {exc.reason}")


@click.group("room")
def room() -> None:
    """Community rooms: post and follow, through relays that enforce membership."""


@room.command("send")
@click.argument("community_id", type=int)
@click.argument("text")
@click.option(
    "--head/--no-head",
    default=True,
    show_default=True,
    help="After the text, post this wallet's signed head of the room at each relay, for the members"
    " listening to compare (a relay showing them another history is then caught).",
)
@_room_options
@chain_options
@key_options()
@one_line_errors
def send_command(community_id: int, text: str, head: bool, **opts: Any) -> None:
    """Post TEXT to a room of COMMUNITY_ID (on every rendezvous relay of the room that answers)."""
    account, uris, book = _setup(community_id, opts)
    members, _ = _members(community_id, opts)
    room, timeout = opts["room"], opts["timeout"]

    async def go() -> list[dict[str, Any]]:
        out = []
        secure = Secure(account)
        id = new_envelope_id()  # one post: the same id on every relay of the room
        for client in await _connect(uris, account, timeout, book):
            sealed = SealedRoom(client, secure, community_id, members, room)
            try:
                await sealed.join()
                sent = await sealed.send(text, id)
                if head:  # signed history checked (a deployment with Disputes): members compare it
                    await sealed.send_head()
            except RelayError as exc:
                raise _refused(exc) from None
            finally:
                await sealed.close()
                await client.close()
            out.append(
                {
                    "relay": client.uri,
                    "seq": sent.seq,
                    "delivered": sent.delivered,
                    "keys_sent": sealed.stats["distributed"],
                }
            )
        return out

    for row in asyncio.run(go()):
        click.echo(json.dumps({"event": "sent", "community": community_id, "room": room, **row}))


@room.command("send-file")
@click.argument("community_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mime", default=None, help="Media type (default: guessed from the file's name).")
@_room_options
@chain_options
@key_options()
@one_line_errors
def send_file_command(community_id: int, path: Path, mime: str | None, **opts: Any) -> None:
    """Post the file at PATH to a room of COMMUNITY_ID, encrypted end to end (on every rendezvous
    relay of the room that answers; one file id, so a member following several takes it once)."""
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise click.ClickException(
            f"{path} has {len(data):,} bytes; members take room files of at most {MAX_BYTES:,} bytes"
        )
    account, uris, book = _setup(community_id, opts)
    members, _ = _members(community_id, opts)
    room, timeout = opts["room"], opts["timeout"]
    kind = mime or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    key, chunks = seal_file(data, kind, path.name)

    async def go() -> list[dict[str, Any]]:
        out = []
        secure = Secure(account)
        for client in await _connect(uris, account, timeout, book):
            sealed = SealedRoom(client, secure, community_id, members, room)
            try:
                await sealed.join()
                await sealed.send_sealed_file(key, chunks)
            except RelayError as exc:
                raise _refused(exc) from None
            finally:
                await sealed.close()
                await client.close()
            out.append({"relay": client.uri, "keys_sent": sealed.stats["distributed"]})
        return out

    for row in asyncio.run(go()):
        file = {
            "file_id": key.file_id,
            "name": path.name,
            "mime": kind,
            "bytes": len(data),
            "chunks": len(chunks),
        }
        click.echo(
            json.dumps(
                {
                    "event": "sent-file",
                    "community": community_id,
                    "room": room,
                    **file,
                    **row,
                    "sha256": key.sha256,
                }
            )
        )


@room.command("listen")
@click.argument("community_id", type=int)
@_room_options
@click.option(
    "--since", type=int, default=0, show_default=True, help="Replay retained messages after this seq."
)
@click.option("--count", type=int, default=0, help="Stop after this many messages (0: never).")
@click.option("--seconds", type=float, default=0.0, help="Stop after this many seconds (0: never).")
@click.option(
    "--files",
    "files_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each file members post into this directory (created); without it files are announced only.",
)
@click.option(
    "--head/--no-head",
    default=True,
    show_default=True,
    help="Post this wallet's signed head of the room at a relay when members' posts arrived there,"
    " for the members to compare (a relay showing them another history is then caught).",
)
@click.option(
    "--head-every",
    type=click.FloatRange(min=0.1),
    default=HEAD_SECONDS,
    show_default=True,
    help="Seconds at least between two heads posted at one relay.",
)
@chain_options
@key_options()
@one_line_errors
def listen_command(
    community_id: int,
    since: int,
    count: int,
    seconds: float,
    files_dir: Path | None,
    head: bool,
    head_every: float,
    **opts: Any,
) -> None:
    """Follow a room of COMMUNITY_ID: one JSON line per message or file (and per head it posts);
    exits 1 if the relays cut you off."""
    account, uris, book = _setup(community_id, opts, emit_history)
    members, feed = _members(community_id, opts)
    if files_dir is not None:
        files_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(
        _listen(
            uris,
            account,
            (community_id, members, feed),
            opts["room"],
            (since, count, seconds),
            opts["timeout"],
            files_dir,
            book,
            head_every if head else None,
        )
    )


class HeadPoster:
    """What `club room listen` posts of its signed history: on each relay where members' posts
    (messages or files; heads excluded) arrived since its last head, this member's latest signed
    head of the room there, at most once every `every` seconds per relay, and one last time when the
    listener stops. Heads do not count as new posts, so two listeners never answer each other's
    heads: a quiet room gets none. A relay that refuses a head (a broadcast room where only admins
    post, the tier's limits) or whose connection is lost gets no more of them in this run."""

    def __init__(self, rooms: list[SealedRoom], every: float) -> None:
        self.rooms = rooms
        self.every = every
        self.fresh: set[str] = set()  # relay URIs with posts since the last head there
        self.refused: set[str] = set()
        self.posted = 0

    def arrived(self, uri: str) -> None:
        self.fresh.add(uri)

    async def run(self) -> None:
        while True:  # bound: runs until the listener cancels it; one pass every `every` seconds
            await asyncio.sleep(self.every)
            await self.flush()

    async def flush(self) -> None:
        for sealed in self.rooms:  # bound: --k relays
            uri = sealed.client.uri
            if uri not in self.fresh or uri in self.refused:
                continue
            self.fresh.discard(uri)
            head = sealed.client.room_head(sealed.community, sealed.room)
            if head is None:
                continue
            try:
                sent = await sealed.post(head)
            except (RelayError, TimeoutError, ConnectionClosed) as exc:  # refused, or the relay went away
                self.refused.add(uri)
                click.echo(json.dumps({"event": "head-refused", "relay": uri, "reason": str(exc)}))
                continue
            self.posted += 1
            click.echo(json.dumps({"event": "head", "relay": uri, "seq": head.entry.seq, "post": sent.seq}))


def _file_event(uri: str, opened: OpenedFile, files_dir: Path | None) -> dict[str, Any]:
    """The JSON line of a file that arrived whole, after writing it under `files_dir` (if given) as
    `<file id>-<name>` with the name reduced to safe characters (a sender chooses it)."""
    event: dict[str, Any] = {
        "event": "file",
        "relay": uri,
        "from": to_checksum_address(opened.sender),
        "file_id": opened.file_id,
        "name": opened.name,
        "mime": opened.mime,
        "bytes": len(opened.data),
        "sha256": hashlib.sha256(opened.data).hexdigest(),
    }
    if files_dir is not None:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", opened.name or "file")[:100].lstrip(".") or "file"
        path = files_dir / f"{opened.file_id}-{safe}"
        path.write_bytes(opened.data)
        event["path"] = str(path)
    return event


async def _listen(
    uris: list[str],
    account: LocalAccount,
    who: tuple[int, Members, ChainFeed | None],
    room: str,
    limits: tuple[int, int, float],
    timeout: float,
    files_dir: Path | None = None,
    book: HistoryBook | None = None,
    head_every: float | None = HEAD_SECONDS,
) -> None:
    community, members, feed = who
    since, count, seconds = limits
    clients = await _connect(uris, account, timeout, book)
    merged: asyncio.Queue[Any] = asyncio.Queue()
    pumps = []
    rooms: list[SealedRoom] = []
    secure = Secure(account)
    try:
        for client in clients:
            sealed = SealedRoom(client, secure, community, members, room)
            rooms.append(sealed)
            try:
                joined = await sealed.join(since=since)
            except RelayError as exc:
                raise _refused(exc) from None
            click.echo(
                json.dumps(
                    {"event": "joined", "relay": client.uri, "seq": joined.seq, "online": joined.online}
                )
            )
            pumps.append(asyncio.create_task(_pump(sealed, merged)))
        if feed is not None:  # follow the membership: a removal rotates this member's key at once

            def changed(touched: object) -> None:
                for sealed in rooms:
                    sealed.membership_changed(touched)

            feed.on_change = changed
            pumps.append(asyncio.create_task(feed.run()))
        heads = HeadPoster(rooms, head_every) if book is not None and head_every is not None else None
        if heads is not None:
            pumps.append(asyncio.create_task(heads.run()))
        deadline = time.monotonic() + seconds if seconds else None
        seen: set[tuple[str, str]] = set()  # (sender, id): the same post through two relays shows once
        shown = 0
        while not count or shown < count:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                uri, item = await asyncio.wait_for(merged.get(), left)
            except TimeoutError:
                break
            if isinstance(item, m.RoomLeft):
                raise click.ClickException(f"{uri} took you out of the room: {item.code}: {item.reason}")
            if heads is not None:  # before the de-duplication: each relay signed its own entry of it
                heads.arrived(uri)
            if isinstance(item, OpenedFile):
                if (item.sender.lower(), item.file_id) in seen:
                    continue
                seen.add((item.sender.lower(), item.file_id))
                shown += 1
                click.echo(json.dumps(_file_event(uri, item, files_dir)))
                continue
            if (item.sender, item.id) in seen:
                continue
            seen.add((item.sender, item.id))
            shown += 1
            body = item.payload.body if isinstance(item.payload, m.Text) else None
            click.echo(
                json.dumps(
                    {
                        "event": "message",
                        "relay": uri,
                        "seq": item.seq,
                        "from": item.sender,
                        "time": item.time,
                    }
                    | ({"text": body} if body is not None else {"type": item.payload.TYPE})
                )
            )
        if heads is not None:  # stopped by --count or --seconds: what arrived since the last head
            await cancel_and_wait([pumps.pop()])
            await heads.flush()
    finally:
        for task in pumps:
            task.cancel()
        for sealed in rooms:
            await sealed.close()
        for client in clients:
            await client.close()


async def _pump(sealed: SealedRoom, out: asyncio.Queue[Any]) -> None:
    """Forward one relay's opened room messages and its `room-left` into `out`."""
    client = sealed.client

    async def left() -> None:
        out.put_nowait((client.uri, await client.left.get()))

    async def files() -> None:
        while True:  # bound: runs until cancelled with the pump
            out.put_nowait((client.uri, await sealed.files.get()))

    watchers = [asyncio.create_task(left()), asyncio.create_task(files())]
    try:
        while True:
            out.put_nowait((client.uri, await sealed.posts.get()))
    finally:
        for task in watchers:
            task.cancel()
