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
from clubchat.deploy.backend import EVM_VERSION
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
        compiled = boa.load_partial(str(MOCK), compiler_args={"evm_version": EVM_VERSION})
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


# runtime code `JUMPDEST PUSH1 0 JUMP`: loops until it runs out of gas, whatever it is called with
BURNER_INITCODE = "0x635b6000566000526004601cf3"


def test_a_gas_burning_wallet_costs_only_the_gas_cap() -> None:
    node = Anvil(free_port())
    w3 = node.start()
    try:
        deployer = Account.from_key(DEPLOYER_KEY)
        tx = {"data": BURNER_INITCODE, "gas": 100_000}
        tx_hash = w3.eth.send_raw_transaction(
            deployer.sign_transaction(
                {
                    **tx,
                    "nonce": w3.eth.get_transaction_count(deployer.address),
                    "gasPrice": w3.eth.gas_price,
                    "chainId": w3.eth.chain_id,
                }
            ).raw_transaction
        )
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        burner = receipt["contractAddress"]
        assert w3.eth.get_code(burner) == bytes.fromhex("5b600056")
        verifier = Eip1271Verifier(w3, gas_cap=200_000)
        # it runs out of the capped gas (and the answer is "not valid"); the RPC node never gets
        # to spend its own default (block) gas limit on it
        assert not run(verifier.is_valid_signature(burner, b"\x00" * 32, b"\x00" * 65))
        assert verifier.stats == {"checks": 1, "busy": 0, "no-code-cached": 0, "timeouts": 0}
        estimate_error = ""
        try:
            w3.eth.call({"to": burner, "data": "0x1626ba7e", "gas": 200_000})
        except Exception as exc:
            estimate_error = str(exc)
        assert "OutOfGas" in estimate_error or "out of gas" in estimate_error.lower(), estimate_error
        verifier.close()
    finally:
        node.stop()


def test_a_multisig_signs_in_with_its_owners_concatenated_signatures() -> None:
    """A Safe-style 2-of-3 wallet signs with 2 x 65 bytes, longer than an EOA signature: the relay
    passes all of it to the wallet's isValidSignature, and one owner's signature alone is refused."""
    owners = sorted(
        (Account.from_key("0x" + f"{i:02x}" * 32) for i in (0x51, 0x52, 0x53)),
        key=lambda a: int(a.address, 16),
    )
    node = Anvil(free_port())
    w3 = node.start()
    try:
        deployer = Account.from_key(DEPLOYER_KEY)
        source = Path(__file__).resolve().parents[2] / "contracts" / "wallets" / "MultisigWallet.vy"
        compiled = boa.load_partial(str(source), compiler_args={"evm_version": EVM_VERSION})
        factory = w3.eth.contract(
            abi=build_abi_output(compiled.compiler_data), bytecode=compiled.compiler_data.bytecode
        )
        receipt = send_tx(w3, deployer, factory.constructor([o.address for o in owners], 2))
        wallet = str(receipt["contractAddress"])

        async def attempt(signers: list[Account]) -> object:
            async with relay(verifier=Eip1271Verifier(w3)) as server:
                raw = await Raw.open(server.uri)
                c = raw.challenge
                text = build_sign_in(wallet, c.uri, c.chain_id, c.nonce, int(time.time()), 600).text()
                digest = sign_in_hash(text)
                sig = b"".join(bytes(o.unsafe_sign_hash(digest).signature) for o in signers)
                await raw.send(m.encode(m.SignIn(message=text, signature="0x" + sig.hex())))
                frame = await raw.frame(10)
                await raw.close()
                return frame

        ok = run(attempt([owners[0], owners[2]]))
        assert isinstance(ok, m.SignedIn) and ok.address == wallet
        refused = run(attempt([owners[1]]))
        assert isinstance(refused, m.Error) and refused.code == "bad-sign-in"
    finally:
        node.stop()
