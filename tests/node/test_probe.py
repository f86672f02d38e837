"""The reviewer's probes (clubchat.disputes.probe) against in-process nodes on loopback: a relay that
serves passes, a relay without a mailbox fails the NOTIFY check, an unreachable TURN service fails
the TURN check, a real coturn passes it (and fails it once stopped), and the verdict is kick exactly
when a registered service failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clubchat.chain.anvil import free_port
from clubchat.disputes.probe import Check, Endpoints, ProbeReport, probe, probe_notify, probe_relay
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.turn import CoturnSupervisor
from clubchat.protocol import messages as m
from clubchat.registry.kinds import NOTIFY, RELAY, TURN
from tests.node.harness import mailbox, relay, run
from tests.node.test_turn import _config as turn_config

NODE = "0x" + "ab" * 20
SEALED_TYPES = ("sealed", "sealed-signal")


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


@pytest.mark.integration
def test_turn_probe_allocates_at_a_real_coturn_and_fails_once_it_stops(tmp_path: Path) -> None:
    """The TURN check against the suite's coturn: credentials from the node's credential endpoint,
    an allocation relayed from coturn's relay port range; with coturn stopped, the same endpoints
    fail the check and the verdict is kick."""
    cfg = turn_config(tmp_path)

    async def scenario() -> None:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        try:
            async with relay(RelayConfig(), turn_credentials=cfg.issuer()) as server:
                ep = Endpoints(
                    NODE,
                    RELAY | TURN,
                    relay=server.uri,
                    turn=f"turn:127.0.0.1:{cfg.port}?transport=udp",
                    credential=server.credential_uri,
                )
                report = await probe(ep, timeout=5)
                assert [(c.name, c.ok) for c in report.checks] == [("relay", True), ("turn", True)]
                assert not report.kick and report.to_json()["verdict"] == "keep"
                turn = report.checks[1].detail
                assert turn.startswith(
                    f"credentials from {server.credential_uri}, allocation relayed at 127.0.0.1:"
                )
                assert cfg.min_port <= int(turn.rsplit(":", 1)[1]) <= cfg.max_port
                await sup.stop()  # the node's software stops giving TURN; its credential service stays
                stopped = await probe(ep, timeout=2)
                assert [(c.name, c.ok) for c in stopped.checks] == [("relay", True), ("turn", False)]
                assert stopped.kick and "verdict: kick" in stopped.lines()[-1]
                assert "credentials from" not in stopped.checks[1].detail
        finally:
            await sup.stop()

    run(scenario())


class _CensorsEncrypted(RelayServer):
    """Takes every envelope ('delivered') but forwards only those it can read: a relay that
    censors end-to-end encrypted traffic and serves anything in clear, e.g. a plaintext probe."""

    def _forward(self, conn: Any, env: dict[str, Any], raw: str, now: float) -> bool:
        if env["payload"]["type"] in SEALED_TYPES:
            self._push(conn, m.encode(m.Sent(id=env["id"], status="delivered")))
            return True
        return super()._forward(conn, env, raw, now)


def test_probe_is_sealed_so_a_relay_dropping_encrypted_traffic_is_caught() -> None:
    """The probe envelope is sealed end to end like every client's, so a relay cannot serve
    reviewers' probes and drop users' messages: one that drops only sealed envelopes fails the
    relay check (with plaintext probes it passed)."""

    async def scenario() -> None:
        server = _CensorsEncrypted(RelayConfig())
        await server.start()
        try:
            report = await probe(Endpoints(NODE, RELAY, relay=server.uri), timeout=2)
        finally:
            await server.stop()
        assert [c.ok for c in report.checks] == [False] and report.kick
        assert "TimeoutError" in report.checks[0].detail

    run(scenario())
