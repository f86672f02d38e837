"""Contract-wallet sign-in: the relay asks the wallet on-chain (EIP-1271) through Eip1271Verifier."""

from __future__ import annotations

import time
from pathlib import Path

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from vyper.compiler.output import build_abi_output

from clubchat.chain.anvil import Anvil, free_port
from clubchat.chain.tx import send_tx
from clubchat.node.eip1271 import Eip1271Verifier
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in, sign_in_hash
from tests.node.chain_env import DEPLOYER_KEY
from tests.node.harness import Raw, relay, run

pytestmark = [pytest.mark.integration]

MOCK = Path(__file__).resolve().parents[1] / "utils" / "contracts" / "MockERC1271Wallet.vy"
alice = Account.from_key("0x" + "a1" * 32)


def test_contract_wallet_signs_in_only_when_the_wallet_says_so() -> None:
    node = Anvil(free_port())
    w3 = node.start()
    try:
        deployer = Account.from_key(DEPLOYER_KEY)
        compiled = boa.load_partial(str(MOCK), compiler_args={"evm_version": "cancun"})
        factory = w3.eth.contract(
            abi=build_abi_output(compiled.compiler_data), bytecode=compiled.compiler_data.bytecode
        )
        receipt = send_tx(w3, deployer, factory.constructor())
        wallet = w3.eth.contract(address=receipt["contractAddress"], abi=factory.abi)
        verifier = Eip1271Verifier(w3)

        async def attempt(approve: bool, broken: bool = False, address: str = wallet.address) -> object:
            async with relay(verifier=verifier) as server:
                raw = await Raw.open(server.uri)
                c = raw.challenge
                text = build_sign_in(address, c.uri, c.chain_id, c.nonce, int(time.time()), 600).text()
                sig = bytes(
                    alice.sign_message(encode_defunct(text=text)).signature
                )  # the wallet's owner signs
                send_tx(w3, deployer, wallet.functions.set_approved(sign_in_hash(text), approve))
                send_tx(w3, deployer, wallet.functions.set_broken(broken))
                await raw.send(m.encode(m.SignIn(message=text, signature="0x" + sig.hex())))
                frame = await raw.frame(10)
                await raw.close()
                return frame

        ok = run(attempt(approve=True))
        assert isinstance(ok, m.SignedIn) and ok.address == wallet.address
        refused = run(attempt(approve=False))
        assert isinstance(refused, m.Error) and refused.code == "bad-sign-in" and "EIP-1271" in refused.reason
        reverted = run(attempt(approve=True, broken=True))
        assert isinstance(reverted, m.Error) and reverted.code == "bad-sign-in"
        # an address without code is never a contract wallet
        no_code = Account.create().address
        assert not run(verifier.is_valid_signature(no_code, b"\x00" * 32, b"\x00" * 65))
    finally:
        node.stop()
    # RPC gone: the verifier refuses instead of raising
    assert not run(
        Eip1271Verifier(w3, timeout=2).is_valid_signature(wallet.address, b"\x00" * 32, b"\x00" * 65)
    )
