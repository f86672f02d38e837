"""Errors a user causes end `club` in one sentence; `club --debug` keeps the traceback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from clubchat.chain.anvil import free_port
from clubchat.cli import main

KEY = "0x" + "11" * 32


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_busy_port_is_one_sentence(busy_port: int, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["node", "run", "--port", str(busy_port), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: a port is already in use" in result.output
    assert "pick another port or stop the process using it" in result.output
    assert "Traceback" not in result.output


def test_debug_keeps_the_traceback(busy_port: int, tmp_path: Path) -> None:
    args = ["--debug", "node", "run", "--port", str(busy_port), "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, OSError)


def test_unreachable_rpc_is_one_sentence() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["keeper", "run", "--once", "--key", KEY, "--rpc-url", url])
    assert result.exit_code == 1
    assert f"Error: no Ethereum JSON-RPC node answers at {url}" in result.output


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("0x1234", "not a private key: got 4 characters, expected 64 hex digits (0x optional)"),
        ("test " * 11 + "junk", "that looks like a mnemonic"),
        ("0x" + "ab" * 20, "that is an address, not a private key"),
    ],
)
def test_bad_key_is_one_sentence_before_connecting(key: str, message: str) -> None:
    result = CliRunner().invoke(main, ["keeper", "run", "--once", "--key", key])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
