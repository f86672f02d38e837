"""The client commands as a user meets them: errors a user can cause end in one sentence (the
traceback only with --debug), and `club listen` prints messages as text and saves files under
their sanitised name with their MIME type, leaving no task pending when it stops."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.chain.anvil import Anvil, free_port
from clubchat.chain.rpc import ChainConnectionError
from clubchat.cli import main
from clubchat.client.cli import _listen
from clubchat.client.session import place_call, send_message
from clubchat.node.localnet import free_port_range, local_network
from tests.node.harness import run

# Starts real processes (anvil, coturn or node processes) on loopback.
pytestmark = pytest.mark.integration

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
ALICE_KEY = "0x" + "a1" * 32


def _dead_rpc() -> str:
    return f"http://127.0.0.1:{free_port_range(1)}"


@pytest.mark.parametrize("key", ["0x1234", "abandon ability able about above absent", bob.address])
def test_a_bad_key_is_named_before_the_rpc_is_tried(key: str) -> None:
    result = CliRunner().invoke(main, ["message", bob.address, "hi", "--key", key, "--rpc", _dead_rpc()])
    assert result.exit_code == 2
    assert "Invalid value for --key: not a private key" in result.output
    assert "JSON-RPC" not in result.output and "Traceback" not in result.output


def test_unreachable_rpc_is_one_sentence_and_debug_shows_the_traceback() -> None:
    rpc = _dead_rpc()
    for command in (["message", bob.address, "hi"], ["call", bob.address], ["listen"]):
        result = CliRunner().invoke(main, [*command, "--key", ALICE_KEY, "--rpc", rpc])
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert lines == [
            f"Error: no Ethereum JSON-RPC node answers at {rpc} (ConnectionError); start one or pass its URL"
        ]
    for args in (["--debug", "message", bob.address, "hi"], ["message", bob.address, "hi", "--debug"]):
        result = CliRunner().invoke(main, [*args, "--key", ALICE_KEY, "--rpc", rpc])
        assert isinstance(result.exception, ChainConnectionError), result.output


def test_a_manifest_of_another_chain_is_one_sentence(tmp_path: Path) -> None:
    manifest = tmp_path / "other.json"
    registry = {"address": "0x" + "11" * 20, "abi": [], "block": 0}
    manifest.write_text(
        json.dumps({"chain_id": 1, "block": 0, "contracts": {"NodeRegistry": registry}, "parameters": {}})
    )
    anvil = Anvil(free_port(), chain_id=4242)
    anvil.start()
    try:
        args = ["--key", ALICE_KEY, "--rpc", anvil.url, "--manifest", str(manifest)]
        result = CliRunner().invoke(main, ["call", bob.address, *args])
    finally:
        anvil.stop()
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {manifest} describes chain 1 but the RPC serves chain 4242; "
        "point to the right RPC or re-run `ape run deploy`"
    ]


def test_listen_prints_text_and_keeps_file_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "received"
    data = b"%PDF-1.4 not really\n" * 1000

    async def scenario() -> None:
        async with local_network(tmp_path) as net:
            listening = asyncio.create_task(_listen(bob, net.discovery, 2, out, 1))
            for _ in range(200):  # until `listening` is printed
                if "listening" in capsys.readouterr().out:
                    break
                await asyncio.sleep(0.05)
            sent, _ = await send_message(alice, net.discovery, bob.address, "hi bob")
            assert sent.status == "delivered"
            session = await place_call(alice, net.discovery, bob.address)
            assert session.call.files is not None
            ack = await session.call.files.send_file(data, "application/pdf", name="../../minutes.pdf")
            assert ack.ok
            await session.hang_up("done")
            await asyncio.wait_for(listening, 20)  # --calls 1: returns after the call

    caplog.set_level(logging.ERROR, logger="asyncio")
    run(scenario(), timeout=90)
    gc.collect()
    assert "Task was destroyed but it is pending" not in caplog.text
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    message = next(e for e in events if e["event"] == "message")
    assert message["text"] == "hi bob" and message["sender"] == alice.address
    assert "payload" not in message
    got = next(e for e in events if e["event"] == "file")
    assert (got["name"], got["mime"], got["ok"]) == ("minutes.pdf", "application/pdf", True)
    assert got["path"] == str(out / "minutes.pdf")
    assert (out / "minutes.pdf").read_bytes() == data
    assert got["sha256"] == hashlib.sha256(data).hexdigest()
    assert [p.name for p in tmp_path.rglob("minutes.pdf")] == ["minutes.pdf"]  # nothing outside out
