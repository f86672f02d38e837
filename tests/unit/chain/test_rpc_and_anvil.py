"""clubchat.chain.rpc and clubchat.chain.anvil: connecting, starting and stopping a local chain."""

from __future__ import annotations

import pytest

from clubchat.chain import ChainConnectionError, connect
from clubchat.chain.anvil import Anvil, AnvilError, free_port, is_listening


def test_connect_to_nothing_fails_in_one_sentence() -> None:
    port = free_port()
    with pytest.raises(ChainConnectionError) as info:
        connect(f"http://127.0.0.1:{port}", timeout=1)
    message = str(info.value)
    assert message.startswith(f"no Ethereum JSON-RPC node answers at http://127.0.0.1:{port} (")
    assert message.endswith("); start one or pass its URL")


@pytest.mark.integration
def test_anvil_starts_answers_and_stops_with_its_children() -> None:
    node = Anvil(free_port())
    w3 = node.start()
    try:
        assert w3.eth.chain_id == 31337
        # anvil's default mnemonic: the first account is the one ape and the demo deploy from.
        assert w3.eth.accounts[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        with pytest.raises(AnvilError, match=rf"port {node.port} on 127\.0\.0\.1 is already in use"):
            Anvil(node.port).start()
    finally:
        node.stop()
    assert not is_listening("127.0.0.1", node.port)
    node.stop()  # stopping twice is harmless
