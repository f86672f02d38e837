"""TURN node: coturn supervision (own files, restart on crash, clean stop) and REST credentials that
coturn itself accepts — and rejects when wrong or expired."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import signal
import time
from pathlib import Path

import aioice.stun
import pytest
from aioice.turn import create_turn_endpoint
from eth_account import Account

from clubchat.client.relay_client import RelayClient
from clubchat.node.localnet import free_port_range
from clubchat.node.turn import CoturnError, CoturnSupervisor, TurnConfig, rest_credentials
from tests.node.harness import relay, run

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
carol = Account.from_key("0x" + "c3" * 32)


def _config(tmp_path: Path, **kw: object) -> TurnConfig:
    base = free_port_range(41)
    args: dict[str, object] = {
        "data_dir": tmp_path / "coturn",
        "port": base,
        "min_port": base + 1,
        "max_port": base + 40,
        "secret": "test-secret",
    }
    args.update(kw)
    return TurnConfig(**args)  # type: ignore[arg-type]


def test_rest_credentials_format() -> None:
    username, password = rest_credentials("s3cret", alice.address, now=1_800_000_000, ttl=600)
    assert username == f"1800000600:{alice.address}"
    expected = hmac.new(b"s3cret", username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(password) == expected
    assert len(base64.b64decode(password)) == 20


def test_command_is_private_and_loopback_peers_off_by_default(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    cmd = CoturnSupervisor(cfg).command()
    assert cmd[1:3] == ["-c", str(cfg.data_dir / "turnserver.conf")] and "-n" not in cmd  # -n skips it
    assert "--allow-loopback-peers" not in cmd
    for flag, value in [
        ("-c", str(cfg.data_dir / "turnserver.conf")),
        ("--pidfile", str(cfg.data_dir / "turnserver.pid")),
        ("--log-file", str(cfg.data_dir / "turnserver.log")),
        ("--userdb", str(cfg.data_dir / "turndb")),
        ("--listening-port", str(cfg.port)),
        ("--min-port", str(cfg.min_port)),
    ]:
        assert cmd[cmd.index(flag) + 1] == value
    assert "--use-auth-secret" in cmd
    # the admin CLI (for ending expired sessions) listens on loopback only, behind a random password
    sup = CoturnSupervisor(cfg)
    cli = [a for a in sup.command() if a.startswith("--cli-")]
    assert cli[:2] == ["--cli-ip=127.0.0.1", f"--cli-port={sup.cli_port}"]
    assert (
        "--allow-loopback-peers" in CoturnSupervisor(_config(tmp_path, allow_loopback_peers=True)).command()
    )


def test_the_secrets_are_in_a_private_config_file_not_on_the_command_line(tmp_path: Path) -> None:
    """Every local user can read a process's command line (`ps`): the REST secret there would let
    anyone on the machine mint TURN credentials, the CLI password end sessions."""
    cfg = _config(tmp_path)
    sup, other = CoturnSupervisor(cfg), CoturnSupervisor(cfg)
    cfg.data_dir.mkdir(parents=True)
    sup._write_config()
    line = " ".join(sup.command())
    assert "test-secret" not in line and sup._cli_password not in line
    conf = cfg.data_dir / "turnserver.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    lines = conf.read_text().splitlines()
    assert "static-auth-secret=test-secret" in lines
    assert f"cli-password={sup._cli_password}" in lines and len(sup._cli_password) == 32
    assert sup._cli_password != other._cli_password  # one per supervisor
    for bad in ("two words", "with#hash", "line\nbreak", ""):
        with pytest.raises(ValueError, match="printable ASCII without spaces"):
            _config(tmp_path, secret=bad)


def test_missing_binary_says_what_to_do(tmp_path: Path) -> None:
    sup = CoturnSupervisor(_config(tmp_path, binary="no-such-turnserver"))
    with pytest.raises(CoturnError, match="make setup"):
        sup.command()


async def _allocate(cfg: TurnConfig, username: str, password: str) -> tuple[str, int]:
    class Sink(asyncio.DatagramProtocol):
        pass

    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.05  # fail fast when coturn stays silent
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(Sink, ("127.0.0.1", cfg.port), username, password, lifetime=60), 10
        )
    finally:
        aioice.stun.RETRY_RTO = old
    relayed: tuple[str, int] = transport.get_extra_info("sockname")
    transport.close()
    return relayed


@pytest.mark.integration
def test_coturn_accepts_issued_credentials_and_rejects_bad_ones(tmp_path: Path) -> None:
    cfg = _config(tmp_path)

    async def scenario() -> None:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        try:
            creds = cfg.issuer()(alice.address)
            assert creds.uris == (f"turn:127.0.0.1:{cfg.port}?transport=udp",)
            host, port = await _allocate(cfg, creds.username, creds.password)
            assert host == "127.0.0.1" and cfg.min_port <= port <= cfg.max_port
            with pytest.raises(aioice.stun.TransactionFailed, match=r"\(401 - Unauthorized\)"):
                await _allocate(cfg, creds.username, base64.b64encode(b"x" * 20).decode())
            expired_user, expired_pw = rest_credentials(
                cfg.secret, alice.address, int(time.time()) - 1200, 600
            )
            with pytest.raises(aioice.stun.TransactionFailed, match=r"\(401 - Unauthorized\)"):
                await _allocate(cfg, expired_user, expired_pw)
        finally:
            await sup.stop()

    run(scenario())


@pytest.mark.integration
def test_supervisor_restarts_a_crashed_coturn_and_stops_cleanly(tmp_path: Path) -> None:
    cfg = _config(tmp_path)

    async def scenario() -> None:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        try:
            assert sup.running
            first = sup.proc.pid  # type: ignore[union-attr]
            assert int(sup.pid_path.read_text()) == first
            os.kill(first, signal.SIGKILL)
            for _ in range(200):
                if sup.restarts == 1 and sup.running and sup.proc.pid != first:  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.05)
            assert sup.restarts == 1 and sup.running
            creds = cfg.issuer()(alice.address)
            await _allocate(cfg, creds.username, creds.password)  # the new coturn serves
        finally:
            await sup.stop()
        assert not sup.running
        pid = sup.proc.pid  # type: ignore[union-attr]
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    run(scenario())


def test_credential_endpoint_serves_signed_in_wallets(tmp_path: Path) -> None:
    cfg = _config(tmp_path, credential_ttl=300)

    async def scenario() -> None:
        async with relay(turn_credentials=cfg.issuer()) as server:
            c = await RelayClient.connect(server.uri, alice)
            before = int(time.time())
            creds = await c.turn_credentials()
            expiry, address = creds.username.split(":")
            assert address == alice.address  # EIP-55, as signed in
            assert before + 300 <= int(expiry) <= int(time.time()) + 300
            assert creds.ttl == 300
            assert creds.password == rest_credentials(cfg.secret, alice.address, int(expiry) - 300, 300)[1]
            await c.close()

    run(scenario())


# -- limits: one credential, one wallet, one allocation's lifetime ---------------------------------


def test_command_caps_allocations_per_user_in_total_and_their_lifetime(tmp_path: Path) -> None:
    cmd = CoturnSupervisor(_config(tmp_path, credential_ttl=300)).command()
    assert cmd[cmd.index("--user-quota") + 1] == "4"
    assert cmd[cmd.index("--total-quota") + 1] == "20"  # half of the 40 relay ports
    assert "--max-allocate-lifetime=300" in cmd  # coturn ignores the option without `=`
    cmd = CoturnSupervisor(_config(tmp_path, user_quota=2, total_quota=10)).command()
    assert cmd[cmd.index("--user-quota") + 1] == "2" and cmd[cmd.index("--total-quota") + 1] == "10"
    with pytest.raises(ValueError, match="total_quota must be between 1 and the 40 relay ports"):
        _config(tmp_path, total_quota=41)
    with pytest.raises(ValueError, match="user_quota must be positive"):
        _config(tmp_path, user_quota=0)


async def _hold(cfg: TurnConfig, username: str, password: str, lifetime: int = 600) -> object:
    """An allocation kept open (the caller closes the returned transport)."""
    old = aioice.stun.RETRY_RTO
    aioice.stun.RETRY_RTO = 0.05
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol, ("127.0.0.1", cfg.port), username, password, lifetime
            ),
            10,
        )
    finally:
        aioice.stun.RETRY_RTO = old
    return transport


def test_one_credential_cannot_take_every_relay_port(tmp_path: Path) -> None:
    """a12 `exhaust`: one wallet's credential used from many sockets until coturn refuses."""
    cfg = _config(tmp_path)  # 40 relay ports, the default quotas

    async def scenario() -> None:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        held: list[object] = []
        try:
            attacker = cfg.issuer()(bob.address)
            refusal = ""
            for _ in range(40):
                try:
                    held.append(await _hold(cfg, attacker.username, attacker.password))
                except aioice.stun.TransactionFailed as exc:
                    refusal = str(exc)
                    break
            assert len(held) == 4 and "486 - Allocation Quota Reached" in refusal, (len(held), refusal)
            honest = cfg.issuer()(alice.address)
            held.append(await _hold(cfg, honest.username, honest.password))  # still a port for Alice
        finally:
            for transport in held:
                transport.close()  # type: ignore[attr-defined]
            await sup.stop()

    run(scenario())


def test_an_allocation_is_granted_no_longer_than_the_credential_lives(tmp_path: Path) -> None:
    cfg = _config(tmp_path, credential_ttl=600)

    async def scenario() -> int:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        try:
            creds = cfg.issuer()(alice.address)
            transport = await _hold(cfg, creds.username, creds.password, lifetime=3600)
            inner = transport._TurnTransport__inner_protocol  # type: ignore[attr-defined]
            request = aioice.stun.Message(
                message_method=aioice.stun.Method.REFRESH, message_class=aioice.stun.Class.REQUEST
            )
            request.attributes["LIFETIME"] = 3600
            response, _ = await inner.request_with_retry(request)
            transport.close()  # type: ignore[attr-defined]
            return int(response.attributes["LIFETIME"])
        finally:
            await sup.stop()

    assert run(scenario()) == 600  # asked for an hour


async def _refresh(transport: object, lifetime: int = 600) -> int:
    """A REFRESH on an allocation: the lifetime granted (raises TransactionFailed when refused)."""
    inner = transport._TurnTransport__inner_protocol  # type: ignore[attr-defined]
    request = aioice.stun.Message(
        message_method=aioice.stun.Method.REFRESH, message_class=aioice.stun.Class.REQUEST
    )
    request.attributes["LIFETIME"] = lifetime
    response, _ = await asyncio.wait_for(inner.request_with_retry(request), 3)
    return int(response.attributes["LIFETIME"])


def test_an_allocation_ends_soon_after_its_credential_expires_however_it_is_refreshed(
    tmp_path: Path,
) -> None:
    """a14: coturn accepts refreshes with an expired REST credential; the supervisor cancels the
    session within `expiry_sweep` s of the expiry, and leaves sessions with live credentials alone."""
    cfg = _config(tmp_path, credential_ttl=4, expiry_sweep=0.5)

    async def scenario() -> None:
        sup = CoturnSupervisor(cfg)
        await sup.start()
        held: list[object] = []
        try:
            short = cfg.issuer()(alice.address)  # expires in 4 s
            live_user, live_pw = rest_credentials(cfg.secret, bob.address, int(time.time()), 600)
            held += [await _hold(cfg, short.username, short.password), await _hold(cfg, live_user, live_pw)]
            expiry = int(short.username.split(":")[0])
            granted = []
            while time.time() < expiry - 0.5:  # refreshed while its credential lives: granted
                granted.append(await _refresh(held[0]))
                await asyncio.sleep(0.5)
            assert granted and max(granted) <= 4
            await asyncio.sleep(expiry - time.time() + cfg.expiry_sweep + 1.0)  # a sweep after expiry
            # Gone: coturn answers 437 (no such allocation), which also ends aioice's own refresh
            # loop, and with it the client transaction (hence the timeout as an equal outcome).
            with pytest.raises((aioice.stun.TransactionFailed, TimeoutError)):
                await _refresh(held[0])
            assert sup.expired_cancelled == 1
            assert [u.username for u in sup.usage()] == [short.username]  # its session's end, logged
            assert await _refresh(held[1]) == 4  # the live credential's allocation is still there
            assert await sup.cancel_expired() == 0
        finally:
            for transport in held:
                transport.close()  # type: ignore[attr-defined]
            await sup.stop()

    run(scenario(), timeout=60)


def test_a_wallet_gets_the_same_credential_until_half_of_it_is_gone(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    issue = _config(tmp_path, credential_ttl=600, max_wallets=2).issuer(clock=lambda: now[0])
    first = issue(alice.address)
    now[0] += 299
    again = issue(alice.address.lower())  # the same wallet, however it is spelled
    assert (again.username, again.password, again.ttl) == (first.username, first.password, 301)
    now[0] += 2  # 299 s left: less than half
    fresh = issue(alice.address)
    assert fresh.username == f"{1_800_000_301 + 600}:{alice.address}" and fresh.ttl == 600
    issue(bob.address)
    issue(carol.address)  # a third wallet: the longest-held (Alice) is forgotten
    assert issue(alice.address).username == f"{1_800_000_301 + 600}:{alice.address}"  # re-issued, same second
    assert len(issue._current) == 2


@pytest.mark.integration
def test_a_node_killed_with_sigkill_takes_its_coturn_along(tmp_path: Path) -> None:
    """coturn runs in its own session, so killing the node's process group does not reach it; without a
    parent-death signal every SIGKILLed TURN node (a crash, an OOM kill, a test harness timeout) left an
    orphaned coturn holding its ports."""
    from clubchat.node.process import NodeProcess

    turn_port = free_port_range(9)
    low, high = turn_port + 1, turn_port + 8
    node = NodeProcess(
        tmp_path / "node",
        "--kinds",
        "turn",
        "--turn-port",
        str(turn_port),
        "--turn-min-port",
        str(low),
        "--turn-max-port",
        str(high),
    )
    pid_file = tmp_path / "node" / "coturn" / "turnserver.pid"
    try:
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.05)
        coturn = int(pid_file.read_text())
        os.kill(coturn, 0)  # running
    finally:
        node.kill()  # SIGKILL: the node gets no chance to stop coturn itself
    for _ in range(100):
        try:
            os.kill(coturn, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(coturn, signal.SIGKILL)
    pytest.fail(f"coturn {coturn} outlived the node that started it")
