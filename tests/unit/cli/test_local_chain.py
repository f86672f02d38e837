"""`club chain fund|advance` refuse a live network, naming its chain id (issue 12, item 1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from clubchat.chain.anvil import Anvil, free_port
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
