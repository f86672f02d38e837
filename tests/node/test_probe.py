"""The reviewer's probes (clubchat.disputes.probe) against in-process nodes on loopback: a relay that
serves passes, a relay without a mailbox fails the NOTIFY check, an unreachable TURN service fails
the TURN check, and the verdict is kick exactly when a registered service failed."""

from __future__ import annotations

from pathlib import Path

from clubchat.chain.anvil import free_port
from clubchat.disputes.probe import Check, Endpoints, ProbeReport, probe, probe_notify, probe_relay
from clubchat.node.relay import RelayConfig
from clubchat.registry.kinds import NOTIFY, RELAY, TURN
from tests.node.harness import mailbox, relay, run

NODE = "0x" + "ab" * 20


def test_a_serving_relay_passes_and_a_closed_port_fails() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig()) as server:
            detail = await probe_relay(server.uri)
            assert "received" in detail
            report = await probe(Endpoints(NODE, RELAY, relay=server.uri))
            assert [c.ok for c in report.checks] == [True] and not report.kick
            assert report.to_json()["verdict"] == "keep"
        closed = await probe(Endpoints(NODE, RELAY, relay=f"ws://127.0.0.1:{free_port()}"), timeout=2)
        assert [c.ok for c in closed.checks] == [False] and closed.kick
        assert "verdict: kick" in closed.lines()[-1]

    run(scenario())


def test_notify_needs_a_mailbox(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with relay(RelayConfig()) as bare:
            report = await probe(
                Endpoints(NODE, NOTIFY, notify="http" + bare.uri.removeprefix("ws")), timeout=3
            )
            assert report.kick and not report.checks[0].ok
        async with mailbox(tmp_path / "box.sqlite") as box, relay(RelayConfig(), mailbox=box) as server:
            assert "fetched" in await probe_notify("http" + server.uri.removeprefix("ws"))

    run(scenario())


def test_turn_without_a_credential_service_fails_and_the_verdict_is_kick() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig()) as server:
            port = free_port()
            ep = Endpoints(
                NODE,
                RELAY | TURN,
                relay=server.uri,
                turn=f"turn:127.0.0.1:{port}?transport=udp",
                credential=f"http://127.0.0.1:{free_port()}/turn-credentials",
            )
            report = await probe(ep, timeout=2)
            assert [c.name for c in report.checks] == ["relay", "turn"]
            assert [c.ok for c in report.checks] == [True, False] and report.kick

    run(scenario())


def test_nothing_to_probe_is_a_kick() -> None:
    assert ProbeReport(NODE, (), 0.0).kick
    assert not ProbeReport(NODE, (Check("relay", True, "ok", 1.0),), 0.0).kick
