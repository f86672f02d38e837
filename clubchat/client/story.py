"""The call story of `make demo`, on a chain where ClubToken and NodeRegistry are deployed.

`run_story` registers and stakes `relays` RELAY+NOTIFY nodes and one TURN node (fresh operator and
node keys, funded by the caller's `fund`), starts each as its own process (`club node run --rpc`,
so each checks its registration and heartbeats), then: Bob listens on his rendezvous relays; Alice
calls him through a relay and a TURN node found only in the registry, audio flows and a file
arrives intact; Alice messages Carol while Carol is offline and Carol gets it when she signs in;
the relay that carried the call is SIGKILLed and the next call fails over. Every payload is end-to-end
encrypted; `e2e.*` audits every frame the clients exchanged with the relays and every file the nodes
wrote for the texts, SDP lines and ICE candidates of the story (clubchat.client.audit). Returns the
report (keys as the issue names them: call.*, offline.*, failover.*, e2e.*). Every process is
stopped on exit.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from clubchat.chain import LocalSender, connect, load_manifest
from clubchat.client.audit import PlaintextAudit, sdp_secrets
from clubchat.client.call import Call, use_fast_ice_retransmit
from clubchat.client.session import Listener, place_call, publish_keys, send_message
from clubchat.node.localnet import free_port_range
from clubchat.node.process import NodeProcess
from clubchat.registry import (
    NOTIFY,
    RELAY,
    TURN,
    NodeRegistryClient,
    Registration,
    RegistryDiscovery,
    rendezvous,
)

Fund = Callable[[str, int], None]  # fund(address, CLUB wei): also give it gas money


@dataclass
class StoryNode:
    operator: LocalAccount
    key: LocalAccount
    registration: Registration
    args: list[str]
    data_dir: Path
    process: NodeProcess | None = None


def _plan(data_dir: Path, relays: int) -> list[StoryNode]:
    nodes = []
    for i in range(relays + 1):
        operator, key = Account.create(), Account.create()
        port = free_port_range(1)
        if i < relays:
            uri = f"ws://127.0.0.1:{port}"
            reg = Registration(RELAY | NOTIFY, {RELAY: uri, NOTIFY: f"http://127.0.0.1:{port}"}, key.address)
            args = ["--kinds", "relay,notify", "--port", str(port)]
        else:
            tp = free_port_range(42)
            turn_uri = f"turn:127.0.0.1:{tp}?transport=udp"
            reg = Registration(
                TURN, {TURN: turn_uri}, key.address, f"http://127.0.0.1:{port}/turn-credentials"
            )
            args = [
                "--kinds",
                "turn",
                "--port",
                str(port),
                "--turn-port",
                str(tp),
                "--turn-min-port",
                str(tp + 1),
                "--turn-max-port",
                str(tp + 40),
            ]  # both call ends are on loopback: a loopback node allows loopback TURN peers itself
        nodes.append(StoryNode(operator, key, reg, args, data_dir / f"node{i}"))
    return nodes


def run_story(
    rpc: str,
    manifest_path: Path,
    data_dir: Path,
    fund: Fund,
    relays: int = 3,
    file_bytes: int = 1 << 20,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Register, start, call, message, kill, call again; returns the report dict."""
    use_fast_ice_retransmit()
    w3 = connect(rpc)
    manifest = load_manifest(manifest_path)
    registry = manifest.contract(w3, "NodeRegistry")
    per_kind = int(registry.functions.min_self_stake_per_kind().call())
    nodes = _plan(data_dir, relays)
    try:
        for n in nodes:
            stake = per_kind * bin(n.registration.kinds).count("1")
            fund(n.operator.address, stake)
            fund(n.key.address, 0)
            NodeRegistryClient(w3, manifest, LocalSender(w3, n.operator)).register(
                n.registration, stake, LocalSender(w3, n.key)
            )
        say(f"registered {relays} relay+notify nodes and 1 TURN node in NodeRegistry")
        for n in nodes:
            n.process = NodeProcess(
                n.data_dir,
                *n.args,
                "--rpc",
                rpc,
                "--manifest",
                str(manifest_path),
                "--operator",
                n.operator.address,
                "--node-key",
                "0x" + bytes(n.key.key).hex(),
            )
        deadline = time.monotonic() + 60
        while not all(n.process and n.process.status().get("chain", {}).get("heartbeats") for n in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("nodes did not heartbeat within 60 s")
            time.sleep(0.2)
        say("nodes started, registration checked, first heartbeats on chain")
        discovery = RegistryDiscovery(w3, manifest)
        needles: list[str] = []
        with PlaintextAudit() as audit:
            report = asyncio.run(_story(discovery, nodes, file_bytes, say, needles))
        e2e = report["e2e"] = audit.report(needles, (p for n in nodes for p in n.data_dir.rglob("*")))
        say(
            f"the relays saw {e2e['envelopes']} envelopes, {e2e['sealed_envelopes']} of them sealed; "
            f"plaintext in frames or node files: {not e2e['relay_saw_no_plaintext']}"
        )
        return report
    finally:
        for n in nodes:
            if n.process is not None:
                n.process.stop()


async def _signed_in_on(
    listener: Listener, discovery: RegistryDiscovery, address: str, *, exclude: str
) -> None:
    """Wait (up to 30 s) until `listener` is signed in on every relay of `address`'s rendezvous set
    but `exclude`; raises TimeoutError naming the relays it is still missing."""
    loop = asyncio.get_running_loop()
    wanted = {u for u in await loop.run_in_executor(None, rendezvous, discovery, address) if u != exclude}
    deadline = time.monotonic() + 30.0
    while missing := wanted - set(listener.clients):  # bound: 30 s
        if time.monotonic() > deadline:
            raise TimeoutError(f"Bob is not signed in on {sorted(missing)} after 30 s")
        await asyncio.sleep(0.05)


def _call_strings(*calls: Call) -> list[str]:
    """What the relays must not see of these calls: candidate strings and identifying SDP lines."""
    out = [c.sdp for call in calls for c in call.local_candidates]
    return out + [line for call in calls for line in sdp_secrets(str(call.pc.localDescription.sdp))]


async def _story(
    discovery: RegistryDiscovery,
    nodes: list[StoryNode],
    file_bytes: int,
    say: Callable[[str], None],
    needles: list[str],
) -> dict[str, Any]:
    alice, bob, carol = Account.create(), Account.create(), Account.create()
    report: dict[str, Any] = {}
    listener = Listener(bob, discovery)
    try:
        bob_relays = await listener.start()
        say(f"Bob listens on his rendezvous relays {bob_relays}")
        session = await place_call(alice, discovery, bob.address)
        incoming = await asyncio.wait_for(listener.calls.get(), 10)
        data = os.urandom(file_bytes)
        assert session.call.files is not None
        ack = await session.call.files.send_file(data)
        got = await asyncio.wait_for(incoming.call.files.received.get(), 30) if incoming.call.files else None
        await asyncio.sleep(1.0)
        needles += _call_strings(session.call, incoming.call)
        report["call"] = {
            "connected": True,
            "relay_endpoint": session.relay_endpoint,
            "turn_endpoint": session.turn.turn_uri,
            "selected_candidate_types": list(session.call.stats.candidate_types or ()),
            "setup_ms": round(session.call.stats.setup_ms, 1),
            "place_call_ms": round(session.setup_ms, 1),
            "audio_frames_received": incoming.call.audio_frames,
            "file_bytes": file_bytes,
            "file_sha256_match": bool(
                ack.ok and got is not None and got.sha256 == hashlib.sha256(data).hexdigest()
            ),
        }
        say(
            f"Alice called Bob via {session.relay_endpoint} and {session.turn.turn_uri}: "
            f"{report['call']['selected_candidate_types']}, set-up {report['call']['setup_ms']} ms, "
            f"file intact: {report['call']['file_sha256_match']}"
        )
        await session.hang_up("done")
        await incoming.close()
        # offline message (Carol published her key bundle earlier, then went offline)
        await publish_keys(carol, discovery)
        needles.append("see you at the club")
        sent, relay = await send_message(alice, discovery, carol.address, "see you at the club")
        carol_listener = Listener(carol, discovery)
        await carol_listener.start()
        msg = await asyncio.wait_for(carol_listener.messages.get(), 10)
        report["offline"] = {
            "stored": sent.status == "stored",
            "relay": relay,
            "delivered": getattr(msg.envelope.payload, "body", None) == "see you at the club",
        }
        await carol_listener.close()
        say(f"Alice messaged offline Carol ({sent.status} at {relay}); Carol signed in and got it")
        # failover: kill the relay that carried the first call
        victim = next(n for n in nodes if n.registration.endpoints.get(RELAY) == session.relay_endpoint)
        assert victim.process is not None
        victim.process.kill()
        say(f"killed the relay {session.relay_endpoint} (SIGKILL)")
        # Bob is online: signed in on every other relay of his set. Under load his link to one of
        # them may be between a dropped connection and its sign-in again (RelayLink backoff); a call
        # placed in that instant finds him "not signed in there", which is not what this step shows.
        await _signed_in_on(listener, discovery, bob.address, exclude=session.relay_endpoint)
        started = time.perf_counter()
        second = await place_call(alice, discovery, bob.address)
        seconds = time.perf_counter() - started
        incoming2 = await asyncio.wait_for(listener.calls.get(), 10)
        needles += _call_strings(second.call, incoming2.call)
        report["failover"] = {
            "ok": second.relay_endpoint != session.relay_endpoint
            and second.call.stats.candidate_types == ("relay", "relay"),
            "seconds": round(seconds, 3),
            "relays_tried": second.relays_tried,
        }
        say(f"next call failed over to {second.relay_endpoint} in {seconds:.2f} s")
        await second.hang_up("done")
        await incoming2.close()
        report["rendezvous"] = rendezvous(discovery, bob.address)
        return report
    finally:
        await listener.close()
