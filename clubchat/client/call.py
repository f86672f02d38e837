"""A WebRTC call through one TURN relay (aiortc), signaled with Club Chat's messages.

Both ends build their peer connection with ONLY the TURN server they got credentials for and
`iceTransportPolicy = relay` (aiortc would otherwise add a public STUN server, and host candidates
would leak the user's address). The caller adds its (synthetic) audio track BEFORE creating the
data channel: with bundling, the first m-line carries the transport, and adding the track after the
channel produced an SDP that aiortc could not bundle. The bundle policy is max-bundle: one ICE
transport, hence one TURN allocation, per call and side. With aiortc's default (balanced) the audio
m-line and the data channel each gathered their own, so two calls filled the credential's user quota
of 4 allocations and a third call placed before coturn had freed them got no relay candidate
(tests/client/test_back_to_back_calls.py). A local description without a `typ relay`
candidate means the TURN credentials or server failed (coturn answers bad credentials with
silence), and is an error.

Trickle ICE: aiortc gathers every candidate before `setLocalDescription` returns, so the offer and
answer are sent WITHOUT candidate lines and every local candidate follows at once in one
`candidate` message, closed by an end-of-candidates marker (an empty `sdp`, as in WebRTC's
`addIceCandidate`); the peer applies them with `addIceCandidate` (aioice checks trickled pairs
while it connects). When this side's TURN allocation goes away (hang-up, or the caller giving up
on a relay to fail over), it first sends `remove-candidates` with the candidates it announced. The
receiver remembers removed candidates and ignores them if they arrive again later (a late or
replayed `candidate`), and a call that is not connected yet gives up at once when every candidate
of its peer has been withdrawn. aiortc/aioice have no API to withdraw one remote candidate from a
running ICE agent, so otherwise a removal cannot tear down pairs that are already being checked.

Files go over the data channel as the brief's chunks `{fileId, index, mime, data}` then a
`file-complete` {count, sha256, name}; the receiver checks both and answers `file-ack`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fractions
import hashlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.stun
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame

from clubchat.aio import cancel_and_wait
from clubchat.protocol import messages as m

log = logging.getLogger("clubchat.call")

CHUNK_BYTES = 16 * 1024  # raw bytes per chunk; base64 makes it ~21.8 KB, under SCTP's 64 KiB message limit
BUFFER_HIGH = 1 << 20  # pause sending when this much is queued in the data channel
BUFFER_LOW = 256 * 1024  # resume below this
DATA_CHANNEL = "clubchat-file"


class CallError(RuntimeError):
    """The call could not be set up or broke; the message says what to check."""


class TurnErrors(logging.Filter):
    """What TURN servers answered with errors (e.g. `403 - Forbidden IP` to a channel bind), with when.

    aioice reports a failed TURN send only through `error_received`, which it logs at DEBUG level on
    `aioice.ice`; this filter on that logger keeps those errors and lets through only the records the
    logger would have emitted anyway.
    """

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold  # the logger's effective level before the filter was installed
        self.seen: list[tuple[float, str]] = []  # (time.monotonic(), error), the last 32

    def filter(self, record: logging.LogRecord) -> bool:
        if "error_received(" in str(record.msg) and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            self.seen = [*self.seen[-31:], (time.monotonic(), str(args[-1]))]
        return record.levelno >= self.threshold

    def since(self, started: float) -> list[str]:
        """Distinct errors seen since `started` (time.monotonic()), oldest first."""
        return list(dict.fromkeys(err for at, err in self.seen if at >= started))


def turn_errors() -> TurnErrors:
    """The process's TurnErrors, installed on aioice's logger on first use."""
    logger = logging.getLogger("aioice.ice")
    for f in logger.filters:
        if isinstance(f, TurnErrors):
            return f
    found = TurnErrors(logger.getEffectiveLevel())
    logger.addFilter(found)
    logger.setLevel(logging.DEBUG)  # the filter drops what the old level would have dropped
    return found


def use_fast_ice_retransmit(rto: float = 0.05) -> None:
    """Make aioice retransmit STUN requests after `rto` s instead of 0.5 s (process-wide).

    With TURN on both sides, the first connectivity check often reaches the peer's allocation
    before the peer created the permission for it; coturn drops it and stock aioice retransmits
    only after 500 ms (measured: call set-up median 539 ms). Retransmitting early cuts that to tens
    of ms. The doubling back-off and the retry count stay, so a lossy network still gets 7 tries.
    """
    aioice.stun.RETRY_RTO = rto


class SineTrack(MediaStreamTrack):
    """Synthetic audio: a 440 Hz tone, 20 ms frames of 48 kHz mono s16, paced in real time."""

    kind = "audio"

    def __init__(self, hz: float = 440.0, rate: int = 48_000, frame_ms: int = 20) -> None:
        super().__init__()
        self.rate = rate
        self.samples = rate * frame_ms // 1000
        self.hz = hz
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / self.rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        t = (np.arange(self.samples) + self._pts) / self.rate
        pcm = (0.3 * 32767 * np.sin(2 * math.pi * self.hz * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.rate)
        self._pts += self.samples
        return frame


def peer_connection(creds: m.TurnCredentials) -> RTCPeerConnection:
    """A peer connection that may only use the TURN relay of `creds` (no STUN, no host candidates)."""
    server = RTCIceServer(urls=list(creds.uris), username=creds.username, credential=creds.password)
    return RTCPeerConnection(
        RTCConfiguration(
            iceServers=[server],
            iceTransportPolicy=RTCIceTransportPolicy.RELAY,
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
    )


def relay_candidates(sdp: str) -> list[str]:
    return [line for line in sdp.splitlines() if line.startswith("a=candidate:") and " typ relay" in line]


LIMIT_REACHED = "call limit reached"  # the `bye` reason of a call ended by its tier's limit
END_OF_CANDIDATES = ""  # an IceCandidate with this sdp marks the end of a peer's candidates


def split_candidates(sdp: str) -> tuple[str, list[m.IceCandidate]]:
    """(the SDP without candidate / end-of-candidates lines, its candidates) for trickling.

    Each distinct candidate is listed once, with the first m-line that carries it: bundled m-lines
    repeat the same transport's candidates, and the peer applies them to that transport anyway.
    """
    kept: list[str] = []
    found: dict[str, int] = {}  # candidate line -> first m-line index
    mids: list[str | None] = []
    for line in sdp.split("\r\n"):  # bound: the lines of one SDP (size-limited by the protocol)
        if line.startswith("m="):
            mids.append(None)
        elif line.startswith("a=mid:") and mids:
            mids[-1] = line[len("a=mid:") :]
        if line.startswith("a=candidate:") and mids:
            found.setdefault(line[len("a=") :], len(mids) - 1)
        elif line != "a=end-of-candidates":
            kept.append(line)
    return "\r\n".join(kept), [m.IceCandidate(c, i, mids[i]) for c, i in found.items()]


def candidate_key(c: m.IceCandidate) -> str:
    """What identifies a candidate across messages: its line without an `a=` prefix."""
    return c.sdp.removeprefix("a=").strip()


def candidate_types(pc: RTCPeerConnection) -> tuple[str, str] | None:
    """(local, remote) candidate types of the nominated ICE pair of the bundled transport."""
    # aiortc exposes no candidate-pair stats; the nominated pair lives in aioice's Connection.
    for transceiver_transport in _ice_transports(pc):
        conn = transceiver_transport._connection
        pair = conn._nominated.get(1)
        if pair is not None:
            return pair.local_candidate.type, pair.remote_candidate.type
    return None


def _ice_transports(pc: RTCPeerConnection) -> list[Any]:
    out = []
    for t in pc.getTransceivers():
        out.append(t.sender.transport.transport)
    if pc.sctp is not None:
        out.append(pc.sctp.transport.transport)
    return out


@dataclass
class FileResult:
    """What the receiver made of one file."""

    file_id: str
    mime: str
    data: bytes
    sha256: str
    ok: bool
    name: str | None = None  # as the sender named it: untrusted, see clubchat.client.received


@dataclass
class _Incoming:
    mime: str = ""
    chunks: dict[int, bytes] = field(default_factory=dict)


class FileChannel:
    """Send and receive files over one data channel in Club Chat's chunk format."""

    def __init__(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        self.received: asyncio.Queue[FileResult] = asyncio.Queue()
        self._incoming: dict[str, _Incoming] = {}
        self._acks: dict[str, asyncio.Future[m.FileAck]] = {}
        self._low = asyncio.Event()
        self._low.set()
        channel.bufferedAmountLowThreshold = BUFFER_LOW
        channel.on("bufferedamountlow", self._low.set)
        channel.on("message", self._on_message)

    def _on_message(self, raw: str | bytes) -> None:
        try:
            msg = m.decode_datachannel(raw)
        except m.ProtocolError as exc:
            log.warning("data channel: dropped a bad message (%s)", exc)
            return
        if isinstance(msg, m.FileChunk):
            inc = self._incoming.setdefault(msg.file_id, _Incoming())
            inc.mime = msg.mime
            inc.chunks[msg.index] = base64.b64decode(msg.data)
        elif isinstance(msg, m.FileComplete):
            inc = self._incoming.pop(msg.file_id, _Incoming())
            complete = sorted(inc.chunks) == list(range(msg.count))
            data = b"".join(inc.chunks[i] for i in range(msg.count)) if complete else b""
            digest = hashlib.sha256(data).hexdigest()
            ok = complete and digest == msg.sha256
            self.channel.send(
                m.encode(m.FileAck(file_id=msg.file_id, count=len(inc.chunks), sha256=digest, ok=ok))
            )
            self.received.put_nowait(FileResult(msg.file_id, inc.mime, data, digest, ok, msg.name))
        elif isinstance(msg, m.FileAck):
            fut = self._acks.pop(msg.file_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    async def send_file(
        self,
        data: bytes,
        mime: str = "application/octet-stream",
        timeout: float = 60.0,
        name: str | None = None,
    ) -> m.FileAck:
        """Send `data` (named `name`, without directories) and wait for the receiver's verdict."""
        file_id = str(uuid.uuid4()).upper()
        fut: asyncio.Future[m.FileAck] = asyncio.get_running_loop().create_future()
        self._acks[file_id] = fut
        count = math.ceil(len(data) / CHUNK_BYTES)
        async with asyncio.timeout(timeout):
            for index in range(count):
                piece = data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
                chunk = m.FileChunk(
                    file_id=file_id, index=index, mime=mime, data=base64.b64encode(piece).decode()
                )
                self.channel.send(m.encode(chunk))
                if (
                    self.channel.bufferedAmount > BUFFER_HIGH
                ):  # flow control: wait for the SCTP queue to drain
                    self._low.clear()
                    await self._low.wait()
            digest = hashlib.sha256(data).hexdigest()
            done = m.FileComplete(file_id=file_id, count=count, sha256=digest, name=name)
            self.channel.send(m.encode(done))
            return await fut


SendSignal = Callable[[m.Payload], Awaitable[Any]]


@dataclass
class CallStats:
    setup_ms: float = 0.0  # caller: from creating the offer to an open data channel
    candidate_types: tuple[str, str] | None = None
    candidates_sent: int = 0  # local candidates trickled in `candidate` messages
    candidates_added: int = 0  # remote candidates applied with addIceCandidate
    candidates_ignored: int = 0  # remote candidates dropped: duplicate or already removed
    candidates_removed: int = 0  # remote candidates the peer withdrew with `remove-candidates`


class Call:
    """One side of a call: the peer connection, its audio track and its file channel."""

    def __init__(self, creds: m.TurnCredentials, send_signal: SendSignal) -> None:
        self.pc = peer_connection(creds)
        self.send_signal = send_signal
        self.audio = SineTrack()
        self.files: FileChannel | None = None
        self.remote_audio: MediaStreamTrack | None = None
        self.audio_frames = 0
        self.stats = CallStats()
        self._channel_ready = asyncio.Event()
        self._connected = asyncio.Event()
        self._failed = asyncio.Event()
        self._sink: asyncio.Task[None] | None = None
        self.ended: str | None = None
        self._offered_at: float | None = None  # caller only: when offer() started
        self.local_candidates: tuple[m.IceCandidate, ...] = ()  # announced to the peer
        self._announced = False  # a `candidate` message with local_candidates went out
        self._removal_sent = False
        self._remote_seen: set[str] = set()  # candidate_key of every remote candidate applied
        self._remote_removed: set[str] = set()  # candidate_key of every remote candidate withdrawn
        self._early: list[m.IceCandidate] = []  # trickled before the remote description was set
        self._signals = asyncio.Lock()  # signaling messages are applied one at a time, in order
        self._turn_errors = turn_errors()
        self._created = time.monotonic()
        # When the TURN credential expires (its username is `<expiry>:<address>`; the relay caps it
        # at the caller's tier's call limit), the TURN node stops relaying: the call ends then.
        head = creds.username.split(":", 1)[0]
        self.ends_at: float | None = float(head) if head.isdigit() else None
        self._limit: asyncio.Task[None] | None = None  # the timer, until it fires
        self._ending: asyncio.Task[None] | None = None  # the same task once it hangs up

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            state = self.pc.connectionState
            if state == "connected":
                self._connected.set()
            elif state in ("failed", "closed"):
                self._failed.set()

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.remote_audio = track
                self._sink = asyncio.ensure_future(self._consume(track))

        @self.pc.on("datachannel")
        def _channel(channel: RTCDataChannel) -> None:
            self._attach(channel)

    def _attach(self, channel: RTCDataChannel) -> None:
        self.files = FileChannel(channel)
        if channel.readyState == "open":
            self._channel_ready.set()
        channel.on("open", self._channel_ready.set)

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception):  # the track ends with MediaStreamError when the call ends
            while True:
                await track.recv()
                self.audio_frames += 1

    async def _local_description(self, desc: RTCSessionDescription) -> str:
        """Set it; returns the SDP to send (no candidates: they are trickled by `_trickle`)."""
        await self.pc.setLocalDescription(desc)
        sdp = str(self.pc.localDescription.sdp)
        if not relay_candidates(sdp):
            raise CallError(
                "no relay candidate was gathered: the TURN server rejected the credentials or is unreachable"
            )
        bare, candidates = split_candidates(sdp)
        self.local_candidates = tuple(candidates)
        return bare

    async def _trickle(self) -> None:
        """After the offer/answer: every local candidate, then end-of-candidates, in one message."""
        if not self.local_candidates:
            return
        first = self.local_candidates[0]
        end = m.IceCandidate(END_OF_CANDIDATES, first.sdp_mline_index, first.sdp_mid)
        batch = [*self.local_candidates, end]
        self._announced = True  # from here on the peer may hold them: withdraw_candidates says so
        for i in range(0, len(batch), m.MAX_CANDIDATES):  # bound: candidates of one SDP
            await self.send_signal(m.Candidates(candidates=tuple(batch[i : i + m.MAX_CANDIDATES])))
        self.stats.candidates_sent = len(self.local_candidates)

    async def withdraw_candidates(self) -> None:
        """Tell the peer this side's candidates go away (its TURN allocation is being released)."""
        if self._announced and not self._removal_sent:
            self._removal_sent = True
            for i in range(0, len(self.local_candidates), m.MAX_CANDIDATES):  # bound: as in _trickle
                chunk = self.local_candidates[i : i + m.MAX_CANDIDATES]
                await self.send_signal(m.RemoveCandidates(candidates=chunk))

    async def offer(self) -> None:
        """Caller: audio track first, then the data channel, then the offer and its candidates."""
        self._offered_at = time.perf_counter()
        self.pc.addTrack(self.audio)
        self._attach(self.pc.createDataChannel(DATA_CHANNEL))
        sdp = await self._local_description(await self.pc.createOffer())
        await self.send_signal(m.Offer(sdp=sdp, options=("audio", "data")))
        await self._trickle()

    async def on_signal(self, payload: m.Payload) -> None:
        """Apply one signaling message from the peer (one at a time, in arrival order)."""
        async with self._signals:
            await self._apply(payload)

    async def _apply(self, payload: m.Payload) -> None:
        if isinstance(payload, m.Offer):
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=payload.sdp, type="offer"))
            await self._add_candidates(())  # any that came early
            if "audio" in payload.options:
                self.pc.addTrack(self.audio)
            sdp = await self._local_description(await self.pc.createAnswer())
            await self.send_signal(m.Answer(sdp=sdp))
            await self._trickle()
        elif isinstance(payload, m.Answer):
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=payload.sdp, type="answer"))
            await self._add_candidates(())
        elif isinstance(payload, m.Candidates):
            await self._add_candidates(payload.candidates)
        elif isinstance(payload, m.RemoveCandidates):
            for c in payload.candidates:  # bound: MAX_CANDIDATES per message
                key = candidate_key(c)
                if key and key not in self._remote_removed:
                    self._remote_removed.add(key)
                    self.stats.candidates_removed += 1
            log.info("peer withdrew %d candidates", len(payload.candidates))
            gone = bool(self._remote_seen) and self._remote_seen <= self._remote_removed
            if gone and not self._connected.is_set():
                # Not connected and every candidate of the peer is gone (its allocation was
                # released, e.g. it failed over to another relay): this attempt cannot connect, so
                # give up now instead of at the timeout, and release our own allocation.
                self.ended = "candidates withdrawn"
                await self.pc.close()
        elif isinstance(payload, m.Bye):
            self.ended = payload.reason
            await self.pc.close()

    async def _add_candidates(self, candidates: tuple[m.IceCandidate, ...]) -> None:
        """addIceCandidate for each new one; duplicates and withdrawn ones are ignored. Candidates that
        arrive before the remote description wait for it (aiortc has no transport for them yet)."""
        if self.pc.remoteDescription is None:
            self._early.extend(candidates)
            return
        pending, self._early = [*self._early, *candidates], []
        for c in pending:  # bound: MAX_CANDIDATES per message, plus those that came early
            key = candidate_key(c)
            if not key:  # END_OF_CANDIDATES
                await self.pc.addIceCandidate(None)
                continue
            if key in self._remote_removed or key in self._remote_seen:
                self.stats.candidates_ignored += 1
                continue
            self._remote_seen.add(key)
            cand: RTCIceCandidate = candidate_from_sdp(key.removeprefix("candidate:"))
            cand.sdpMid, cand.sdpMLineIndex = c.sdp_mid, c.sdp_mline_index
            await self.pc.addIceCandidate(cand)
            self.stats.candidates_added += 1

    async def connected(self, timeout: float = 10.0) -> None:
        """Wait until ICE+DTLS are up and the data channel is open."""
        start = time.perf_counter()
        connected = asyncio.ensure_future(self._connected.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait({connected, failed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            connected.cancel()
            failed.cancel()
        if not self._connected.is_set() and self.pc.remoteDescription is None:
            raise CallError(f"the callee signed in but did not answer within {timeout} s")
        if not self._connected.is_set():
            said = "; ".join(self._turn_errors.since(self._created)) or "no error from the TURN server"
            raise CallError(
                f"ICE through TURN failed: the call did not connect within {timeout} s "
                f"(state {self.pc.connectionState}; TURN: {said})"
            )
        await asyncio.wait_for(self._channel_ready.wait(), max(0.1, timeout - (time.perf_counter() - start)))
        self.stats.candidate_types = candidate_types(self.pc)
        if self._offered_at is not None:  # offer -> ICE + DTLS + SCTP up and the data channel open
            self.stats.setup_ms = (time.perf_counter() - self._offered_at) * 1000
        if self.ends_at is not None and self._limit is None:
            self._limit = asyncio.create_task(self._end_at_limit(self.ends_at))

    async def _end_at_limit(self, ends_at: float) -> None:
        """Hang up (`bye` with LIMIT_REACHED, so the peer knows why) when this side's TURN credential
        expires: the TURN node cuts the relayed media then, at most its expiry sweep later."""
        await asyncio.sleep(max(0.0, ends_at - time.time()))
        # From here on this task is the hang-up, not a timer: close() must let it finish (cancelling
        # aiortc's close half-way would leave a second close() waiting for it for ever).
        self._ending, self._limit = self._limit, None
        if self.ended is None:
            log.info("the call reached its limit (the TURN credential expired)")
            self.ended = LIMIT_REACHED
            await self.hang_up(LIMIT_REACHED)

    async def hang_up(self, reason: str = "hangup") -> None:
        """Withdraw this side's candidates (its TURN allocation is released), say `bye`, close."""
        with contextlib.suppress(Exception):
            await self.withdraw_candidates()
        with contextlib.suppress(Exception):
            await self.send_signal(m.Bye(reason=reason))
        await self.close()

    async def close(self) -> None:
        if self._limit is not None and self._limit is not asyncio.current_task():
            await cancel_and_wait([self._limit])
        await self.pc.close()
        self.audio.stop()
        if self._sink is not None:
            await cancel_and_wait([self._sink])
