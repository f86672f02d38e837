"""clubchat.registry on a real anvil: the package API the node software and `ape run nodes` use."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from clubchat.chain import LocalSender
from clubchat.registry import (
    RELAY,
    TURN,
    TURN_CREDENTIAL,
    NodeRegistryClient,
    Registration,
    RegistryError,
    parse_kinds,
    status_table,
)
from tests.node.chain_env import WAD, chain

pytestmark = [pytest.mark.integration]

operator = Account.from_key("0x" + "0c" * 32)
delegator = Account.from_key("0x" + "0d" * 32)
node_key = Account.from_key("0x" + "0e" * 32)


def test_operator_lifecycle(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        for acct in (operator, delegator, node_key):
            c.fund(acct.address, 100_000 if acct is not node_key else 0)
        op = NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, operator))
        spec = Registration(
            kinds=parse_kinds("relay,turn"),
            node_key=node_key.address,
            endpoints={RELAY: "wss://op.example", TURN: "turns:op.example:5349"},
            credential_endpoint="https://op.example/cred",
            region="eu-west",
            commission_bps=800,
        )
        with pytest.raises(RegistryError, match="stake at least 20,000 CLUB"):
            op.register(spec, 10_000 * WAD)
        with pytest.raises(RegistryError, match="has not approved"):
            op.register(spec, 20_000 * WAD)
        op.register(spec, 20_000 * WAD, LocalSender(c.w3, node_key))
        NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, node_key)).heartbeat()
        op.stake_with_permit(operator, 1_000 * WAD)

        dl = NodeRegistryClient(c.w3, c.manifest, LocalSender(c.w3, delegator))
        dl.delegate(operator.address, 5_000 * WAD)
        dl.unbond(operator.address, 1_000 * WAD)

        s = op.status(operator.address, delegator.address)
        assert s.eligible and s.kinds == RELAY | TURN and s.commission_bps == 800
        assert s.bonded_wei == 25_000 * WAD and s.unbonding_wei == 1_000 * WAD
        assert s.account_shares == 4_000 * WAD and s.account_assets_wei == 4_000 * WAD
        assert s.endpoints[TURN_CREDENTIAL] == "https://op.example/cred"
        assert [e.assets_wei for e in s.unbonding] == [1_000 * WAD]
        assert op.sample(RELAY, b"\x01" * 32, 3) == [operator.address]
        with pytest.raises(RegistryError, match="withdraw after that"):
            dl.withdraw(0)
        with pytest.raises(RegistryError, match="not a registered node"):
            dl.delegate(delegator.address, WAD)
        assert status_table(s).row_count > 10
        with pytest.raises(RegistryError, match="unknown node kind"):
            parse_kinds("relay,stun")
