"""`club listen`, `club call <address>`, `club message` and `club safety-number <address>`: the thin
client, finding nodes only through NodeRegistry. Every payload is end-to-end encrypted
(clubchat.client.secure); device keys live in memory unless CLUBCHAT_KEYSTORE names a directory,
whose files are encrypted with the passphrase in CLUBCHAT_KEYSTORE_PASSPHRASE (asked for on a
terminal when it is not set).

Errors a user can cause (a bad key, an unreachable RPC, a manifest of another chain, an offline
callee) end the command in one sentence that says what to do; `--debug` (or `club --debug`, or
CLUB_DEBUG=1) shows the traceback instead. `club listen` prints one JSON line per event: messages
as their text, files saved under their sanitised name with their MIME type, `key-change` when
a peer's wallet bound new keys (before that peer's message), and `history` when a relay's signed
history does not add up (clubchat.client.history: a gap, a bad signature, a fork).

`listen`, `call` and `message` check every relay's signed history when the deployment has
Disputes, and keep what the relays signed in the wallet's store (`CLUB_HISTORY_DIR`, else
~/.clubchat/history) where `club report` finds forks; `call` and `message` warn on stderr. `call`
(after the call) and `message` (after the text; `--no-head` skips it) send the peer this wallet's
signed head of their conversation at that relay, sealed like any payload, and the peer's `listen`
compares it with its own (`RelayClient.take_head`): a relay that showed the two different
histories is caught, and the two signed entries are kept in the listener's store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from requests import RequestException
from web3.exceptions import Web3Exception

from clubchat.aio import cancel_and_wait
from clubchat.chain.cli import chain_options_as, open_deployment
from clubchat.chain.manifest import load_manifest
from clubchat.chain.rpc import connect
from clubchat.cli_errors import debug_enabled, one_line_errors
from clubchat.client.call import CallError, use_fast_ice_retransmit
from clubchat.client.history import HistoryBook, Problem, client_book
from clubchat.client.received import save_received
from clubchat.client.relay_client import RelayError
from clubchat.client.secure import Secure, contract_wallets
from clubchat.client.session import Listener, deliver_message, place_call, safety_number, send_head
from clubchat.crypto import keystore
from clubchat.protocol import messages as m
from clubchat.registry.discovery import RegistryDiscovery

T = TypeVar("T")


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """`club <command> --debug` means the same as `club --debug <command>`."""
    if value:
        root = ctx.find_root()
        root.obj = {**(root.obj or {}), "debug": True}
    return value


def _fail(prefix: str, exc: BaseException) -> click.ClickException:
    """One sentence for a failure the user can act on; under --debug the exception itself propagates."""
    if debug_enabled():
        raise exc
    return click.ClickException(f"{prefix}{exc}")


def _common(fn: Any) -> Any:
    fn = chain_options_as("rpc", "manifest")(fn)
    fn = click.option(
        "--key", envvar="CLUB_KEY", required=True, help="Wallet private key (hex); or CLUB_KEY."
    )(fn)
    fn = click.option("--k", "k", default=2, show_default=True, help="Rendezvous relays per address.")(fn)
    fn = click.option("-v", "--verbose", is_flag=True)(fn)
    fn = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        callback=_set_debug,
        help="Show the traceback of an error instead of one sentence.",
    )(fn)
    return one_line_errors(fn)


def _setup(rpc: str, manifest: str, key: str, verbose: bool) -> tuple[LocalAccount, RegistryDiscovery]:
    account, discovery, _ = _setup_checked(rpc, manifest, key, verbose, None)
    return account, discovery


def _setup_checked(
    rpc: str, manifest: str, key: str, verbose: bool, on_problem: Callable[[Problem], None] | None
) -> tuple[LocalAccount, RegistryDiscovery, HistoryBook | None]:
    """_setup, and with `on_problem` the HistoryBook that checks the relays' signed history (kept in
    this wallet's store; None when the deployment has no Disputes)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    use_fast_ice_retransmit()  # see clubchat.client.call: ~0.5 s less call set-up through TURN
    try:  # the key first: a typo in it should not wait for (or blame) the RPC
        account = Account.from_key(key)
    except (ValueError, TypeError):
        raise click.BadParameter(
            "not a private key; pass the wallet's 32-byte private key as 64 hex digits "
            "(a mnemonic or an address is not a key)",
            param_hint="--key",
        ) from None
    _keystore_passphrase()
    if debug_enabled():  # the steps of open_deployment, left to raise with their traceback
        w3 = connect(rpc)
        deployment = load_manifest(manifest)
        deployment.check_chain(w3)
    else:
        w3, deployment = open_deployment(rpc, manifest)
    book = client_book(w3, deployment, account.address, on_problem) if on_problem is not None else None
    return account, RegistryDiscovery(w3, deployment), book


def _keystore_passphrase() -> None:
    """With a keystore directory and no CLUBCHAT_KEYSTORE_PASSPHRASE, ask for the passphrase on a
    terminal (without one, opening the keystore fails with a sentence naming the variable)."""
    directory = keystore.directory()
    if directory is None or os.environ.get(keystore.PASSPHRASE_ENV) or not sys.stdin.isatty():
        return
    passphrase = click.prompt(f"Passphrase of the keystore {directory}", hide_input=True)
    keystore.use_directory(directory, passphrase)


def _run(coro: Coroutine[Any, Any, T], rpc: str) -> T:
    """asyncio.run, with the RPC going away mid-command reported in one sentence."""
    try:
        return asyncio.run(coro)
    except (RequestException, Web3Exception) as exc:
        if debug_enabled():
            raise
        raise click.ClickException(
            f"the JSON-RPC node at {rpc} stopped answering ({type(exc).__name__}); "
            "check that it runs and try again"
        ) from None


@click.command("listen")
@_common
@click.option("--out", type=click.Path(path_type=Path), default=Path("received"), show_default=True)
@click.option("--calls", default=0, show_default=True, help="Stop after this many calls (0 = never).")
def listen(rpc: str, manifest: str, key: str, k: int, verbose: bool, out: Path, calls: int) -> None:
    """Stay reachable on your rendezvous relays; answer calls, save files, print messages (JSON lines)."""
    account, discovery, book = _setup_checked(rpc, manifest, key, verbose, emit_history)
    _run(_listen(account, discovery, k, out, calls, book), rpc)


def _emit(event: str, **fields: Any) -> None:
    click.echo(json.dumps({"event": event, **fields}, default=str))
    sys.stdout.flush()


def emit_history(problem: Problem) -> None:
    """A relay's signed history does not add up: one `history` event (a fork's proof is kept in the
    wallet's store for `club report`)."""
    _emit(
        "history",
        problem=problem.kind,
        relay=problem.relay,
        room="0x" + problem.room.hex(),
        seq=problem.seq,
        message=problem.message,
    )


async def _listen(
    account: LocalAccount,
    discovery: RegistryDiscovery,
    k: int,
    out: Path,
    max_calls: int,
    history: HistoryBook | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    listener = Listener(account, discovery, k, history=history)
    try:
        relays = await listener.start()
    except CallError as exc:
        raise _fail("", exc) from None
    _emit("listening", address=account.address, relays=relays)
    handled = 0

    async def serve_call() -> None:
        nonlocal handled
        session = await listener.calls.get()
        _emit(
            "call",
            peer=session.peer,
            relay=session.relay_endpoint,
            turn=session.turn.turn_uri,
            candidate_types=session.call.stats.candidate_types,
        )
        files = session.call.files
        while session.call.ended is None and files is not None:
            with contextlib.suppress(TimeoutError):
                got = await asyncio.wait_for(files.received.get(), 0.5)
                path = save_received(out, got)
                _emit(
                    "file",
                    peer=session.peer,
                    name=path.name,
                    path=str(path),
                    mime=got.mime,
                    bytes=len(got.data),
                    sha256=got.sha256,
                    ok=got.ok,
                )
        _emit("bye", peer=session.peer, reason=session.call.ended, audio_frames=session.call.audio_frames)
        await session.close()
        handled += 1

    async def messages() -> None:
        seen_changes = 0
        while True:
            got = await listener.messages.get()
            changes = listener.secure.key_changes()
            for change in changes[seen_changes:]:  # bound: changes since the last message
                _emit(
                    "key-change",
                    peer=change.address,
                    old_key_id=change.old_key_id,
                    new_key_id=change.new_key_id,
                    check=f"compare `club safety-number {change.address}` with theirs",
                )
            seen_changes = len(changes)
            payload = got.envelope.payload
            text = payload.body if isinstance(payload, m.Text) else m.encode(payload)
            _emit("message", sender=got.envelope.sender, relay=got.relay, id=got.envelope.id, text=text)

    async def relay_changes() -> None:
        while True:
            relay, state = await listener.relay_events.get()
            _emit("relay", relay=relay, state=state)

    printer = asyncio.create_task(messages())
    watcher = asyncio.create_task(relay_changes())
    stopper = asyncio.create_task(stop.wait())
    owned: list[asyncio.Task[Any]] = [printer, watcher, stopper]
    try:
        while not stop.is_set() and (max_calls == 0 or handled < max_calls):
            call_task = asyncio.create_task(serve_call())
            owned.append(call_task)
            await asyncio.wait({call_task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if call_task.done():
                owned.remove(call_task)
                call_task.result()  # a bug in serving a call is not swallowed
    finally:
        await cancel_and_wait(owned)  # every task is cancelled AND awaited: none is left pending at exit
        await listener.close()


@click.command("call")
@click.argument("address")
@_common
@click.option(
    "--file", "file_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None
)
@click.option("--seconds", default=2.0, show_default=True, help="Audio to exchange before hanging up.")
def call(
    address: str,
    rpc: str,
    manifest: str,
    key: str,
    k: int,
    verbose: bool,
    file_path: Path | None,
    seconds: float,
) -> None:
    """Call ADDRESS through its rendezvous relays and a TURN node from the registry; prints a JSON report."""
    if not is_address(address):
        raise click.BadParameter("not an Ethereum address", param_hint="ADDRESS")
    account, discovery, book = _setup_checked(rpc, manifest, key, verbose, warn_history)
    report = _run(_call(account, discovery, to_checksum_address(address), k, file_path, seconds, book), rpc)
    click.echo(json.dumps(report, indent=2))


async def _call(
    account: LocalAccount,
    discovery: RegistryDiscovery,
    callee: str,
    k: int,
    file_path: Path | None,
    seconds: float,
    history: HistoryBook | None = None,
) -> dict[str, Any]:
    started = time.perf_counter()
    secure = Secure(account, contract_wallets(discovery), discovery)
    try:
        session = await place_call(account, discovery, callee, k=k, secure=secure, history=history)
    except (CallError, RelayError) as exc:
        raise _fail("call failed: ", exc) from None
    report: dict[str, Any] = {
        "connected": True,
        "relay_endpoint": session.relay_endpoint,
        "relays_tried": session.relays_tried,
        "turn_node": session.turn.node,
        "turn_endpoint": session.turn.turn_uri,
        "selected_candidate_types": list(session.call.stats.candidate_types or ()),
        "setup_ms": round(session.call.stats.setup_ms, 1),
        "place_call_ms": round(session.setup_ms, 1),
    }
    try:
        if file_path is not None and session.call.files is not None:
            data = file_path.read_bytes()
            mime = mimetypes.guess_type(file_path.name)[0] or "application/octet-stream"
            ack = await session.call.files.send_file(data, mime, name=file_path.name)
            report["file_bytes"] = len(data)
            report["file_sha256"] = hashlib.sha256(data).hexdigest()
            report["file_sha256_match"] = ack.ok and ack.sha256 == report["file_sha256"]
        deadline = time.monotonic() + seconds
        while session.call.ended is None and time.monotonic() < deadline:  # bound: --seconds
            await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        report["ended"] = session.call.ended or "done"  # e.g. "call limit reached": the tier's limit
        report["audio_frames_received"] = session.call.audio_frames
        if history is not None:
            # The callee compares our signed head of the room with its own: a relay that showed the
            # two of us different histories is caught (and the proof kept in the callee's store).
            report["head_sent"] = await send_head(secure, session.relay, callee) is not None
    finally:
        await session.hang_up("done")
    if history is not None:
        report["history_problems"] = [p.message for p in history.problems]
    report["total_s"] = round(time.perf_counter() - started, 3)
    return report


def warn_history(problem: Problem) -> None:
    """A relay's signed history does not add up: the user is told in one sentence."""
    click.echo(f"warning: {problem.message}", err=True)


@click.command("message")
@click.argument("address")
@click.argument("text")
@_common
@click.option(
    "--head/--no-head",
    default=True,
    show_default=True,
    help="After the text, send ADDRESS this wallet's signed head of your conversation at that relay"
    " (sealed), for its client to compare (a relay showing the two of you different histories is"
    " then caught).",
)
def message(
    address: str, text: str, rpc: str, manifest: str, key: str, k: int, verbose: bool, head: bool
) -> None:
    """Send TEXT to ADDRESS (stored by a NOTIFY relay of its rendezvous set when it is offline)."""
    if not is_address(address):
        raise click.BadParameter("not an Ethereum address", param_hint="ADDRESS")
    account, discovery, book = _setup_checked(rpc, manifest, key, verbose, warn_history)
    to = to_checksum_address(address)

    async def go() -> tuple[m.Sent, str, m.Head | None]:
        return await deliver_message(account, discovery, to, text, k=k, history=book, head=head)

    try:
        sent, relay, sent_head = _run(go(), rpc)
    except RelayError as exc:
        raise _fail("message not sent: ", exc) from None
    out: dict[str, Any] = {"id": sent.id, "status": sent.status, "relay": relay}
    if book is not None:  # a signed history: which of its entries went to ADDRESS to compare
        out["head_seq"] = sent_head.entry.seq if sent_head is not None else None
    click.echo(json.dumps(out))


@click.command("safety-number")
@click.argument("address")
@_common
def safety(address: str, rpc: str, manifest: str, key: str, k: int, verbose: bool) -> None:
    """Print the safety number of your device's keys and ADDRESS's (compare it with theirs out of band)."""
    if not is_address(address):
        raise click.BadParameter("not an Ethereum address", param_hint="ADDRESS")
    account, discovery = _setup(rpc, manifest, key, verbose)
    try:
        got = _run(safety_number(account, discovery, to_checksum_address(address), k=k), rpc)
    except RelayError as exc:
        raise _fail("no safety number: ", exc) from None
    click.echo(json.dumps(got))


COMMANDS = (listen, call, message, safety)


def attach(group: click.Group) -> None:
    """Add `listen` and `call` to the top-level `club` group."""
    for command in COMMANDS:
        group.add_command(command)
