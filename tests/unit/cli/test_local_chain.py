"""`club chain fund|advance` refuse a live network, naming its chain id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from clubchat.chain.anvil import Anvil, free_port
from clubchat.chain.manifest import ContractRecord, Manifest
from clubchat.cli import main

pytestmark = [pytest.mark.integration]

SEPOLIA = 11155111


@pytest.fixture(scope="module")
def live_looking_anvil() -> Iterator[Anvil]:
    with Anvil(free_port(), chain_id=SEPOLIA) as node:
        yield node


def test_fund_refused_on_a_live_chain_id(live_looking_anvil: Anvil) -> None:
    result = CliRunner().invoke(
        main,
        ["chain", "fund", "0x" + "11" * 20, "--club", "1", "--rpc-url", live_looking_anvil.url],
    )
    assert result.exit_code == 1
    assert (
        "Error: `club chain fund` works only on a local development chain (chain id 31337 or 1337); "
        f"this RPC serves chain {SEPOLIA}"
    ) in result.output
    assert "Traceback" not in result.output


def test_advance_refused_on_a_live_chain_id(live_looking_anvil: Anvil) -> None:
    w3_time = live_looking_anvil
    result = CliRunner().invoke(main, ["chain", "advance", "--days", "1", "--rpc-url", w3_time.url])
    assert result.exit_code == 1
    assert "moving the clock works only on a local development chain" in result.output


def test_bad_amount_refused_before_connecting() -> None:
    result = CliRunner().invoke(main, ["chain", "fund", "0x" + "11" * 20, "--club", "10,000"])
    assert result.exit_code == 2
    assert "write CLUB amounts without thousands separators, e.g. 10000" in result.output


def test_manifest_of_another_chain_is_one_sentence(live_looking_anvil: Anvil, tmp_path: Path) -> None:
    manifest = Manifest(
        network="local",
        chain_id=31337,
        block=1,
        contracts={"NodeRegistry": ContractRecord("0x" + "22" * 20, [], 1)},
        parameters={},
        deployer="0x" + "00" * 20,
        treasury="0x" + "00" * 20,
        genesis_time=0,
    )
    path = tmp_path / "local.json"
    manifest.save(path)
    args = ["node", "status", "0x" + "33" * 20, "--rpc-url", live_looking_anvil.url, "--network", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert (
        f"describes chain 31337 but the RPC serves chain {SEPOLIA}; point to the right RPC" in result.output
    )
