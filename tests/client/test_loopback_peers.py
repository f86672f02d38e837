"""A TURN node on a loopback host relays to loopback peers by itself (both call ends on one machine
are loopback peers, which coturn refuses with `403 Forbidden IP` unless told otherwise); a node on
a public host never does."""

from __future__ import annotations

from pathlib import Path

import pytest

from clubchat.node.runner import NodeConfig, is_loopback
from clubchat.node.turn import CoturnSupervisor, TurnConfig

# Starts real processes (anvil, coturn or node processes) on loopback.
pytestmark = pytest.mark.integration


def _node(tmp_path: Path, host: str, allow: bool = False) -> NodeConfig:
    turn = TurnConfig(data_dir=tmp_path / "coturn", listen_ip=host, allow_loopback_peers=allow)
    return NodeConfig(data_dir=tmp_path, kinds=frozenset({"turn"}), turn=turn)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_host_allows_loopback_peers_without_a_flag(tmp_path: Path, host: str) -> None:
    config = _node(tmp_path, host)
    assert config.turn is not None and config.turn.allow_loopback_peers is True
    assert "--allow-loopback-peers" in CoturnSupervisor(config.turn).command()


@pytest.mark.parametrize("host", ["203.0.113.7", "0.0.0.0", "turn.example"])
def test_public_host_never_allows_loopback_peers(tmp_path: Path, host: str) -> None:
    config = _node(tmp_path, host)
    assert config.turn is not None and config.turn.allow_loopback_peers is False
    assert "--allow-loopback-peers" not in CoturnSupervisor(config.turn).command()
    with pytest.raises(ValueError, match=f"only on a loopback host, not {host}"):
        _node(tmp_path, host, allow=True)


def test_is_loopback() -> None:
    assert is_loopback("127.255.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.org")
