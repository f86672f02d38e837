"""A private anvil with ClubToken and NodeRegistry deployed by the plan's web3 backend
(`clubchat.deploy.web3_backend`), and a deployment manifest for it: what node and client code read
at run time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3

from clubchat.chain import Manifest
from clubchat.chain.anvil import Anvil, free_port
from clubchat.chain.tx import LocalSender, send_call, send_tx
from clubchat.deploy.plan import Deployment, deploy_disputes, deploy_registry, token_constructor_args
from clubchat.deploy.web3_backend import Web3Backend
from clubchat.params import load

# anvil's first default account (mnemonic "test test ... junk"); a well-known test key.
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
WAD = 10**18


@dataclass
class Chain:
    anvil: Anvil
    w3: Web3
    manifest: Manifest
    manifest_path: Path
    token: Any
    registry: Any
    backend: Web3Backend

    def fund(self, who: str, club: int) -> None:
        """Mint `club` CLUB and 1 ETH to `who` (the deployer keeps MINTER_ROLE here)."""
        if club:
            send_tx(self.w3, self.backend.account, self.token.functions.mint(who, club * WAD))
        tx = {
            "to": who,
            "value": WAD,
            "gas": 21_000,
            "gasPrice": self.w3.eth.gas_price,
            "chainId": self.w3.eth.chain_id,
            "nonce": self.w3.eth.get_transaction_count(self.backend.deployer, "pending"),
        }
        signed = self.backend.account.sign_transaction(tx)
        receipt = self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )
        assert receipt["status"] == 1

    def register_relay(self, op: Any, key: Any, stake_wei: int, endpoint: str) -> None:
        """Fund `op` with `stake_wei` and `key` with gas, and register `op` as a RELAY node with
        node key `key` (which consents first) at `endpoint` (eu-west, 5 % commission)."""
        self.fund(op.address, stake_wei // WAD)
        self.fund(key.address, 0)
        send_call(LocalSender(self.w3, key), self.registry.functions.approve_operator(op.address))
        sender = LocalSender(self.w3, op)
        send_call(sender, self.token.functions.approve(self.registry.address, stake_wei))
        fn = self.registry.functions.register
        send_call(sender, fn(1, key.address, "eu-west", "", [endpoint], "", 500, stake_wei))

    def with_disputes(self) -> Any:
        """Deploy Disputes (the plan's parameters) on this chain, save it in the manifest; returns it."""
        dep = Deployment(treasury=self.backend.deployer)
        dep.contracts.update({"ClubToken": self.token, "NodeRegistry": self.registry})
        deploy_disputes(self.backend, load(), dep)
        self.manifest.contracts.update(self.backend.records)
        self.manifest.save(self.manifest_path)
        return self.manifest.contract(self.w3, "Disputes")


@contextmanager
def chain(tmp_path: Path) -> Iterator[Chain]:
    params = load()
    node = Anvil(free_port(), log_path=tmp_path / "anvil.log")
    w3 = node.start()
    try:
        deployer = Account.from_key(DEPLOYER_KEY)
        backend = Web3Backend(w3, deployer)
        dep = Deployment(treasury=deployer.address, genesis_time=backend.timestamp())
        dep.contracts["ClubToken"] = backend.deploy("ClubToken", *token_constructor_args(params))
        registry = deploy_registry(backend, params, dep)
        first = min(r.block for r in backend.records.values())
        manifest = Manifest(
            network="local",
            chain_id=int(w3.eth.chain_id),
            block=first,
            contracts=backend.records,
            parameters={},
            deployer=deployer.address,
            treasury=deployer.address,
            genesis_time=dep.genesis_time,
        )
        path = tmp_path / "local.json"
        manifest.save(path)
        yield Chain(node, w3, manifest, path, dep.contracts["ClubToken"], registry, backend)
    finally:
        node.stop()
