"""clubchat.chain.tx: every sender reports a revert in one sentence with the contract's reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from clubchat.chain.ape_sender import ApeSender
from clubchat.chain.tx import LocalSender, TransactionFailed, Web3Sender, send_call, short, wait_for_receipt
from tests.node.chain_env import chain

NOT_A_NODE_KEY = "registry: not a node key"


@pytest.mark.integration
def test_web3_senders_refuse_a_reverting_call_with_its_reason(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        stranger = Account.create()
        c.fund(stranger.address, 0)
        target = short(str(c.registry.address))
        for sender in (LocalSender(c.w3, stranger), Web3Sender(c.w3, c.w3.eth.accounts[1])):
            before = c.w3.eth.get_transaction_count(Web3.to_checksum_address(sender.address))
            with pytest.raises(TransactionFailed) as info:
                send_call(sender, c.registry.functions.heartbeat())
            assert str(info.value) == f"a transaction to {target} would revert: {NOT_A_NODE_KEY}"
            # nothing was sent
            assert c.w3.eth.get_transaction_count(Web3.to_checksum_address(sender.address)) == before


@pytest.mark.integration
def test_a_mined_revert_is_reported_with_its_reason(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        fn = c.registry.functions.heartbeat()
        tx: dict[str, Any] = {
            "from": c.w3.eth.accounts[1],
            "to": c.registry.address,
            "data": fn._encode_transaction_data(),
            "value": 0,
            "gas": 100_000,  # a fixed limit: no estimate, so the revert happens on chain
        }
        tx_hash = c.w3.eth.send_transaction(tx)  # type: ignore[arg-type]
        with pytest.raises(TransactionFailed) as info:
            wait_for_receipt(c.w3, tx_hash, tx, timeout=30)
        used = int(c.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])
        assert str(info.value) == (
            f"transaction {tx_hash.to_0x_hex()} to {short(str(c.registry.address))} reverted "
            f"(gas {used:,} of 100,000): {NOT_A_NODE_KEY}"
        )


@pytest.mark.integration
def test_local_sender_deploys_and_calls(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        holder = Account.create()
        c.fund(holder.address, 5)
        sender = LocalSender(c.w3, holder)
        tx = send_call(sender, c.token.functions.transfer(c.w3.eth.accounts[2], 2 * 10**18))
        assert tx == sender.last_tx and sender.last_receipt is not None
        assert sender.last_receipt["status"] == 1
        assert c.token.functions.balanceOf(holder.address).call() == 3 * 10**18


class _RevertingApeAccount:
    address = "0x000000000000000000000000000000000000dEaD"

    def transfer(self, to: str, value: int, data: bytes) -> Any:
        from ape.exceptions import ContractLogicError

        raise ContractLogicError(NOT_A_NODE_KEY)


def test_ape_sender_turns_a_revert_into_one_sentence() -> None:
    registry = "0x1111111111111111111111111111111111111111"
    with pytest.raises(TransactionFailed) as info:
        ApeSender(_RevertingApeAccount()).send(registry, b"\x3d\x18\xb9\x12")
    assert str(info.value) == f"a transaction to 0x1111…1111 would revert: {NOT_A_NODE_KEY}"


def test_run_time_packages_do_not_import_ape() -> None:
    code = (
        "import sys\n"
        "import clubchat.chain, clubchat.registry, clubchat.governance, clubchat.demo\n"
        "import clubchat.node.cli, clubchat.client.cli, clubchat.cli\n"
        "print(sorted(m for m in sys.modules if m == 'ape' or m.startswith('ape.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
