"""Calling and listening by wallet address: rendezvous relays, TURN from the registry, failover.

`Listener` (callee) signs in to every relay of its rendezvous set and answers offers that arrive
on any of them, replying through the relay the offer came from. It stays reachable: each relay is a
`RelayLink` (clubchat.client.reconnect) that reconnects with backoff and jitter and signs in again,
which re-fetches the relay's mailbox. Every `refresh_seconds` (REFRESH_SECONDS), and `stay_down` s
after a relay went down, it follows the registry: the relays of its current sampling key, for
OVERLAP_SECONDS after a change the previous set too, and the current draw (which leaves out a relay
the registry no longer counts live). `place_call` (caller) tries the callee's rendezvous relays in
sampling order, then those of OVERLAP_SECONDS ago: the first relay that accepts the sign-in and
delivers the offer carries the call; a relay that refuses the connection, cannot deliver
(`offline`) or does not produce an answer in time is skipped for the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from websockets.exceptions import ConnectionClosed

from clubchat.aio import cancel_and_wait
from clubchat.client.call import Call, CallError
from clubchat.client.history import HistoryBook
from clubchat.client.reconnect import CONNECT_ERRORS as _CONNECT_ERRORS
from clubchat.client.reconnect import DEFAULT_BACKOFF, Backoff, RelayLink
from clubchat.client.relay_client import Received, RelayClient, RelayError
from clubchat.client.secure import Secure, contract_wallets
from clubchat.client.turn_credentials import fetch_turn_credentials
from clubchat.protocol import messages as m
from clubchat.registry.discovery import (
    REFRESH_SECONDS,
    Discovery,
    RendezvousWatch,
    address_seed,
    previous_rendezvous,
    rendezvous,
)
from clubchat.registry.kinds import TURN

log = logging.getLogger("clubchat.session")
T = TypeVar("T")


@dataclass(frozen=True)
class TurnChoice:
    """The TURN node drawn from the registry and the credentials it issued."""

    node: str
    turn_uri: str  # endpoint(node, TURN), as registered
    credential_endpoint: str
    credentials: m.TurnCredentials


async def choose_turn(discovery: Discovery, account: LocalAccount, timeout: float = 10.0) -> TurnChoice:
    """sample(TURN, keccak256(own address), 1), then credentials from its credential endpoint."""
    loop = asyncio.get_running_loop()
    nodes = await loop.run_in_executor(None, discovery.sample, TURN, address_seed(account.address), 1)
    if not nodes:
        raise CallError("the registry has no live TURN node; try again later")
    node = nodes[0]
    turn_uri = await loop.run_in_executor(None, discovery.endpoint, node, TURN)
    cred_uri = await loop.run_in_executor(None, discovery.credential_endpoint, node)
    try:
        creds = await fetch_turn_credentials(cred_uri, account, timeout)
    except (RelayError, TimeoutError, m.ProtocolError) as exc:
        raise CallError(
            f"the TURN node {node} gave no credentials ({exc or 'no answer in time'}); try again later"
        ) from None
    # Only the registered TURN server: the node's answer names its server, the registry decides.
    return TurnChoice(node, turn_uri, cred_uri, replace(creds, uris=(turn_uri,)))


@dataclass
class CallSession:
    """A connected call and where it runs."""

    call: Call
    relay: RelayClient
    peer: str
    turn: TurnChoice
    setup_ms: float
    relays_tried: list[str] = field(default_factory=list)
    _pump: asyncio.Task[None] | None = None
    owns_relay: bool = True  # a Listener's relay connections outlive its calls

    @property
    def relay_endpoint(self) -> str:
        return self.relay.uri

    async def hang_up(self, reason: str = "hangup") -> None:
        await self.call.hang_up(reason)
        await self.close()

    async def close(self) -> None:
        if self._pump is not None:
            await cancel_and_wait([self._pump])
        await self.call.close()
        if self.owns_relay:
            await self.relay.close()


async def _pump_signals(client: RelayClient, peer: str, call: Call, secure: Secure) -> None:
    """Feed the peer's signaling messages arriving on `client` into `call`, decrypted (others are
    dropped)."""
    while True:
        got = await secure.open(client, await client.inbox.get())
        if got is None:
            continue
        env = got.envelope
        if env.sender.lower() == peer.lower() and env.payload.TYPE in m.SIGNALING_TYPES:
            await call.on_signal(env.payload)


async def place_call(
    account: LocalAccount,
    discovery: Discovery,
    callee: str,
    *,
    connect_timeout: float = 1.0,
    answer_timeout: float = 10.0,
    k: int = 2,
    secure: Secure | None = None,
    history: HistoryBook | None = None,
) -> CallSession:
    """Call `callee` through its rendezvous relays; raises CallError when no relay works. Every
    signaling message is end-to-end encrypted to the callee's key bundle on the relay used; with
    `history`, the relay's signed entries of them are checked (clubchat.client.history)."""
    secure = secure or Secure(account, contract_wallets(discovery), discovery)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    relays = await loop.run_in_executor(None, rendezvous, discovery, callee, k)
    if not relays:
        raise CallError("the registry has no live relay; try again later")
    turn = await choose_turn(discovery, account)
    tried: list[str] = []
    failures: list[str] = []  # "<relay>: <the step that failed there>"
    async for uri in _rendezvous_attempts(discovery, callee, k, relays):
        tried.append(uri)
        try:
            client = await RelayClient.connect(uri, account, timeout=connect_timeout, history=history)
        except _CONNECT_ERRORS as exc:
            log.info("relay %s unusable (%s); failing over", uri, exc)
            failures.append(f"{uri}: relay unreachable ({type(exc).__name__}: {exc})")
            continue
        try:
            await secure.ready(client)  # the callee needs our bundle to open the offer
            await secure.peer(client, callee)
        except (RelayError, TimeoutError) as exc:
            log.info("no usable keys of %s on %s (%s); failing over", callee, uri, exc)
            failures.append(f"{uri}: {_attempt_failure(callee, exc)}")
            await client.close()
            continue
        call = Call(turn.credentials, lambda p, c=client: secure.send(c, callee, p))  # type: ignore[misc]
        pump = asyncio.create_task(_pump_signals(client, callee, call, secure))
        try:
            await call.offer()
            await call.connected(answer_timeout)
        except (RelayError, CallError, TimeoutError) as exc:
            log.info("call through %s failed (%s); failing over", uri, exc)
            failures.append(f"{uri}: {_attempt_failure(callee, exc)}")
            await cancel_and_wait([pump])
            # This attempt's TURN allocation goes away: tell the callee (best effort: the relay may
            # be what failed), whose half-set-up call then ignores these candidates if they come late.
            with contextlib.suppress(RelayError, TimeoutError, ConnectionClosed, OSError):
                await asyncio.wait_for(call.withdraw_candidates(), connect_timeout)
            await call.close()
            await client.close()
            continue
        setup_ms = (time.perf_counter() - started) * 1000
        return CallSession(call, client, callee, turn, setup_ms, tried, pump)
    raise CallError(f"could not call {callee}: {'; '.join(failures)}; {_what_to_do(failures)}")


def _attempt_failure(callee: str, exc: BaseException) -> str:
    """The step of one call attempt that failed, from what it raised."""
    if isinstance(exc, RelayError) and exc.code == "offline":
        return f"{callee} is not signed in there"
    if isinstance(exc, RelayError) and exc.code == "no-keys":
        return f"{callee} is not signed in there ({exc.reason})"
    if isinstance(exc, RelayError):
        return f"the relay refused the call ({exc})"
    if isinstance(exc, CallError):
        return str(exc)  # "ICE through TURN failed: ... (TURN: <what the TURN server said>)"
    return f"no answer from {callee} in time"


def _what_to_do(failures: list[str]) -> str:
    if all("relay unreachable" in f for f in failures):
        return "none of the callee's rendezvous relays is up; try again once the registry has replaced them"
    if all("is not signed in there" in f or "relay unreachable" in f for f in failures):
        return "the callee is offline: ask them to run `club listen`, or send a message instead"
    if any("ICE through TURN failed" in f for f in failures):
        return "the TURN node could not relay between the two of you; try again later or from another network"
    return "try again later"


async def _rendezvous_attempts(
    discovery: Discovery, peer: str, k: int, current: list[str]
) -> AsyncIterator[str]:
    """`current` (the peer's rendezvous set now), then the relays of its set of OVERLAP_SECONDS ago
    that are not in `current` (read only when every current relay failed): a peer that has not yet
    seen the latest change of sampling key still listens there."""
    for uri in current:
        yield uri
    loop = asyncio.get_running_loop()
    earlier = await loop.run_in_executor(None, previous_rendezvous, discovery, peer, k)
    for uri in earlier:
        if uri not in current:
            yield uri


class Listener:
    """Callee: stays signed in to every rendezvous relay and answers incoming calls."""

    def __init__(
        self,
        account: LocalAccount,
        discovery: Discovery,
        k: int = 2,
        timeout: float = 10.0,
        *,
        backoff: Backoff = DEFAULT_BACKOFF,
        refresh_seconds: float = REFRESH_SECONDS,
        stay_down: float = 10.0,
        secure: Secure | None = None,
        history: HistoryBook | None = None,
    ) -> None:
        self.account = account
        self.history = history  # checks every relay's signed history (clubchat.client.history)
        # every payload in and out is end-to-end encrypted
        self.secure = secure or Secure(account, contract_wallets(discovery), discovery)
        self.discovery = discovery
        self.k = k
        self.timeout = timeout
        self.backoff = backoff
        self.refresh_seconds = refresh_seconds  # seconds between re-reads of the rendezvous set
        self.stay_down = stay_down  # a relay down this long triggers an early re-read
        self.watch = RendezvousWatch(discovery, account.address, k)
        self.links: dict[str, RelayLink] = {}
        # (relay, "up" | "down" | "joined" | "left") after start(): reconnects and rendezvous changes
        self.relay_events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.calls: asyncio.Queue[CallSession] = asyncio.Queue()
        self.messages: asyncio.Queue[Received] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        # Calls are keyed by (peer, relay): a caller signals one call attempt through one relay, so a
        # message from the same peer on another relay belongs to another attempt (e.g. the
        # remove-candidates of the attempt it failed over from) and must not touch this one.
        self._active: dict[tuple[str, str], Call] = {}
        # (peer, relay) -> signals (trickled candidates, bye) that arrived while its offer is being
        # answered: the Call exists only once TURN credentials are in; nothing may be lost or reordered.
        self._setting_up: dict[tuple[str, str], list[m.Payload]] = {}

    @property
    def clients(self) -> dict[str, RelayClient]:
        """The relays this listener is signed in to right now."""
        return {uri: link.client for uri, link in self.links.items() if link.client is not None}

    def _listen_on(self) -> list[str]:
        """The sets of RendezvousWatch (current key first, then earlier ones during their overlap),
        plus the current draw: within one key, a relay the registry stops counting live is left out
        of a caller's draw and replaced by the next one, which the listener must then be on too."""
        relays = self.watch.update()
        now = rendezvous(self.discovery, self.account.address, self.k)
        return [*relays, *(u for u in now if u not in relays)]

    def _link(self, uri: str) -> None:
        self.links[uri] = RelayLink(
            uri,
            self.account,
            self._serve,
            backoff=self.backoff,
            timeout=self.timeout,
            on_state=lambda relay, state: self.relay_events.put_nowait((relay, state)),
            history=self.history,
        )

    async def start(self, refresh_seconds: float | None = None) -> list[str]:
        """Connect to the relays to listen on and follow them (every `refresh_seconds` if given);
        returns the relays it is signed in to (at least one)."""
        if refresh_seconds is not None:
            self.refresh_seconds = refresh_seconds
        await self.refresh()
        if not self.clients:
            errors = "; ".join(f"{uri}: {link.last_error}" for uri, link in self.links.items())
            await self.close()
            raise CallError(
                f"none of the rendezvous relays answered ({errors or 'the registry has no live relay'}); "
                "check that the relay nodes run, then try again"
            )
        while not self.relay_events.empty():  # the first sign-ins are what start() returns
            self.relay_events.get_nowait()
        self._tasks.append(asyncio.create_task(self._follow()))
        return list(self.clients)

    async def refresh(self) -> list[str]:
        """Join every relay to listen on now (waiting for its first sign-in attempt) and leave the
        others (unless a call runs through one); returns the relays to listen on."""
        loop = asyncio.get_running_loop()
        relays = await loop.run_in_executor(None, self._listen_on)
        new = [uri for uri in relays if uri not in self.links]
        for uri in new:
            log.info("listening on %s", uri)
            self.relay_events.put_nowait((uri, "joined"))
            self._link(uri)
        await asyncio.gather(*(self.links[uri].first_attempt() for uri in new))
        busy = {relay for _, relay in self._active} | {relay for _, relay in self._setting_up}
        for uri in [u for u in self.links if u not in relays and u not in busy]:
            log.info("no longer listening on %s", uri)
            self.relay_events.put_nowait((uri, "left"))
            await self.links.pop(uri).close()
        return relays

    async def _follow(self) -> None:
        """refresh() every `refresh_seconds`, or `stay_down` s after a relay went down."""
        tick = min(1.0, self.refresh_seconds, self.stay_down)
        last = time.monotonic()
        while True:  # bound: runs until close(); one registry read per refresh, at most every `tick` s
            await asyncio.sleep(tick)
            since = time.monotonic() - last
            stuck = any(link.down_for() >= self.stay_down for link in self.links.values())
            if since < self.refresh_seconds and not (stuck and since >= self.stay_down):
                continue
            last = time.monotonic()
            try:
                await self.refresh()
            except Exception as exc:  # the registry's RPC is down: keep the relays we have
                log.warning("rendezvous refresh failed (%s); keeping %s", exc, list(self.links))

    async def _serve(self, client: RelayClient) -> None:
        await self.secure.ready(client)  # publish our key bundle: callers and senders encrypt to it
        while True:
            got = await self.secure.open(client, await client.inbox.get())
            if got is None:
                continue  # not sealed for us, tampered or replayed: dropped (logged by Secure)
            env = got.envelope
            peer = env.sender
            key = (peer.lower(), client.uri)
            if isinstance(env.payload, m.Offer):
                early: list[m.Payload] = []
                self._setting_up[key] = early
                self._tasks.append(asyncio.create_task(self._answer(client, peer, env.payload, early)))
            elif isinstance(env.payload, m.Head):  # the peer's signed head: for the history check only
                await client.take_head(peer, env.payload)
            elif env.payload.TYPE in m.SIGNALING_TYPES:
                waiting = self._setting_up.get(key)
                call = self._active.get(key)
                if waiting is not None:
                    waiting.append(env.payload)
                elif call is not None:
                    await call.on_signal(env.payload)
                    if call.ended is not None:
                        self._active.pop(key, None)  # ended (bye, or its candidates withdrawn): forget it
            else:
                self.messages.put_nowait(got)
            await client.ack(got)  # processed: a stored envelope may leave the mailbox now

    async def _answer(self, client: RelayClient, peer: str, offer: m.Offer, early: list[m.Payload]) -> None:
        started = time.perf_counter()
        key = (peer.lower(), client.uri)
        try:
            turn = await choose_turn(self.discovery, self.account, self.timeout)
            call = Call(turn.credentials, lambda p: self.secure.send(client, peer, p))
            self._active[key] = call
            await call.on_signal(offer)
            while early:  # bound: signals the peer sent meanwhile; _serve appends until we stop
                await call.on_signal(early.pop(0))
            if self._setting_up.get(key) is early:
                del self._setting_up[key]  # from now on _serve hands signals to the call directly
            if call.ended is not None:
                self._active.pop(key, None)
                return
            await call.connected(self.timeout)
        except (RelayError, CallError, TimeoutError) as exc:
            log.warning("incoming call from %s failed: %s", peer, exc)
            return
        finally:
            if self._setting_up.get(key) is early:
                del self._setting_up[key]
        setup_ms = (time.perf_counter() - started) * 1000
        self.calls.put_nowait(CallSession(call, client, peer, turn, setup_ms, owns_relay=False))

    async def close(self) -> None:
        await cancel_and_wait(self._tasks, quiet=True)
        for call in self._active.values():
            await call.close()
        for link in self.links.values():
            await link.close()
        self.links.clear()


async def publish_keys(
    account: LocalAccount, discovery: Discovery, *, k: int = 2, secure: Secure | None = None
) -> list[str]:
    """Publish this wallet's key bundle on its rendezvous relays without staying signed in (so others
    can encrypt messages to it while it is offline); returns the relays that took it."""
    secure = secure or Secure(account, contract_wallets(discovery), discovery)
    loop = asyncio.get_running_loop()
    relays = await loop.run_in_executor(None, rendezvous, discovery, account.address, k)
    done: list[str] = []
    for uri in relays:
        try:
            client = await RelayClient.connect(uri, account)
        except _CONNECT_ERRORS as exc:
            log.info("relay %s unusable for publishing keys (%s)", uri, exc)
            continue
        try:
            await secure.ready(client)
            done.append(uri)
        except (RelayError, TimeoutError) as exc:
            log.info("relay %s did not take the key bundle (%s)", uri, exc)
        finally:
            await client.close()
    return done


async def _first_relay(
    account: LocalAccount,
    discovery: Discovery,
    peer: str,
    k: int,
    connect_timeout: float,
    use: Callable[[RelayClient], Awaitable[T]],
    history: HistoryBook | None = None,
) -> tuple[T, str]:
    """`use(client)` on the first of `peer`'s rendezvous relays where it succeeds (one short-lived
    connection per relay tried): its result and the relay. Raises the last RelayError otherwise."""
    loop = asyncio.get_running_loop()
    relays = await loop.run_in_executor(None, rendezvous, discovery, peer, k)
    last: Exception = RelayError("offline", "the registry has no live relay")
    async for uri in _rendezvous_attempts(discovery, peer, k, relays):
        try:
            client = await RelayClient.connect(uri, account, timeout=connect_timeout, history=history)
        except _CONNECT_ERRORS as exc:
            last = exc
            continue
        try:
            return await use(client), uri
        except (RelayError, TimeoutError) as exc:
            last = exc
        finally:
            await client.close()
    raise RelayError(getattr(last, "code", "offline"), str(last))


async def safety_number(
    account: LocalAccount,
    discovery: Discovery,
    peer: str,
    *,
    k: int = 2,
    connect_timeout: float = 2.0,
    secure: Secure | None = None,
) -> dict[str, str]:
    """The safety number of this wallet's device and `peer`'s key bundle (fetched from the peer's
    rendezvous relays, verified and pinned), with both key ids: what two users compare out of band."""
    wallet = secure or Secure(account, contract_wallets(discovery), discovery)

    async def compute(client: RelayClient) -> dict[str, str]:
        bundle = await wallet.peer(client, peer)
        sealer = wallet.sealer(client.chain_id)
        return {
            "address": account.address,
            "key_id": sealer.device.statement.key_id,
            "peer": bundle.address,
            "peer_key_id": bundle.key_id,
            "safety_number": sealer.safety_number(peer),
        }

    try:
        got, uri = await _first_relay(account, discovery, peer, k, connect_timeout, compute)
    except RelayError as exc:
        raise RelayError(exc.code, f"no key bundle of {peer} found ({exc.reason})") from None
    return {**got, "relay": uri}


async def send_head(secure: Secure, client: RelayClient, to: str) -> m.Head | None:
    """Send `to`, sealed like any payload, this wallet's latest signed head of the direct room with
    `to` at `client`'s relay, for `to` to compare with its own (`RelayClient.take_head`): a relay
    that showed the two of them different histories is then caught with both signatures. Sealed, a
    head looks to the relay like any other message, so a forking relay cannot pick it out and drop
    it. Returns the head sent; None when there is none (no HistoryBook, nothing signed yet) or the
    relay did not take it (the message it follows was delivered all the same: logged, not raised)."""
    head = client.head_payload(to, client.uri)
    if head is None:
        return None
    try:
        await secure.send(client, to, head)
    except (RelayError, TimeoutError, ConnectionClosed) as exc:
        log.warning("the signed head for %s was not sent through %s: %s", to, client.uri, exc)
        return None
    return head


async def send_message(
    account: LocalAccount, discovery: Discovery, to: str, body: str, **options: Any
) -> tuple[m.Sent, str]:
    """`deliver_message` (same options, so the head is sent too), returning only the relay's `sent`
    and endpoint."""
    sent, relay, _ = await deliver_message(account, discovery, to, body, **options)
    return sent, relay


async def deliver_message(
    account: LocalAccount,
    discovery: Discovery,
    to: str,
    body: str,
    *,
    connect_timeout: float = 2.0,
    k: int = 2,
    secure: Secure | None = None,
    history: HistoryBook | None = None,
    head: bool = True,
) -> tuple[m.Sent, str, m.Head | None]:
    """Send a chat message, end-to-end encrypted, to `to` through its rendezvous relays (the first
    that holds `to`'s key bundle and takes it); with `history` and `head`, this wallet's signed head
    of the direct room at that relay right after the text, through the same connection
    (`send_head`: it then names the text's own entry, so the recipient compares the very place the
    relay just signed for both).

    Returns the relay's `sent` for the text (delivered live, or stored in that relay's NOTIFY
    mailbox until `to` signs in there), the relay's endpoint and the head sent (None: none sent);
    raises RelayError when no relay took the text.
    """
    wallet = secure or Secure(account, contract_wallets(discovery), discovery)

    async def deliver(client: RelayClient) -> tuple[m.Sent, m.Head | None]:
        sent = await wallet.send(client, to, m.Text(body=body))
        # after the text only: a failure sending the head must not send the text again elsewhere
        return sent, await send_head(wallet, client, to) if head else None

    try:
        (sent, sent_head), relay = await _first_relay(
            account, discovery, to, k, connect_timeout, deliver, history
        )
    except RelayError as exc:
        raise RelayError(exc.code, f"no rendezvous relay of {to} took the message ({exc.reason})") from None
    return sent, relay, sent_head
