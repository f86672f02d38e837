"""`club report` and `club dispute ...` against a private anvil with the protocol's registry and
Disputes deployed by the plan's web3 backend: a forked relay is slashed and jailed by a reporter's
commit-wait-reveal; a flag is drawn, voted on by the panel with commit-reveal and finalised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.chain.tx import LocalSender, send_call
from clubchat.cli import main
from clubchat.client.history import HistoryStore
from clubchat.client.history import SignedEntry as Kept
from clubchat.deploy.plan import Deployment, deploy_disputes
from clubchat.params import load
from clubchat.protocol.log_entry import Domain, LogEntry, log_domain, sign_log_entry
from clubchat.registry.words import node_record
from tests.node.chain_env import WAD, Chain, chain

pytestmark = [pytest.mark.integration]


def _account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"clubchat-tests:disputes-cli:{name}"))


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Chain, list[tuple[LocalAccount, LocalAccount]]]]:
    tmp = tmp_path_factory.mktemp("disputes-cli")
    with chain(tmp) as c:
        # A chain that makes blocks by itself (as a real one does), besides mining each transaction.
        c.w3.provider.make_request("evm_setIntervalMining", [1])
        params = load()
        deploy_disputes(c.backend, params, _deployment(c))
        c.manifest.contracts.update(c.backend.records)
        c.manifest.save(c.manifest_path)
        stake = params.registry.min_self_stake_per_kind_wei * 2
        nodes = []
        for i in range(4):
            op, key = _account(f"op{i}"), _account(f"key{i}")
            c.fund(op.address, stake // WAD)
            c.fund(key.address, 0)
            sender = LocalSender(c.w3, op)
            # The node key consents to its operator first (it sends its own transactions anyway).
            send_call(LocalSender(c.w3, key), c.registry.functions.approve_operator(op.address))
            send_call(sender, c.token.functions.approve(c.registry.address, stake))
            send_call(
                sender,
                c.registry.functions.register(
                    1, key.address, "eu-west", "", [f"wss://n{i}.example"], "", 500, stake
                ),
            )
            send_call(LocalSender(c.w3, key), c.registry.functions.heartbeat())
            nodes.append((op, key))
        yield c, nodes


def _deployment(c: Chain) -> Deployment:
    """The plan's Deployment of what chain_env deployed (token and registry)."""
    dep = Deployment(treasury=c.backend.deployer)
    dep.contracts.update({"ClubToken": c.token, "NodeRegistry": c.registry})
    return dep


def _run(c: Chain, *args: str, key: LocalAccount | None = None) -> str:
    argv = [*args, "--rpc-url", c.w3.provider.endpoint_uri, "--network", str(c.manifest_path)]  # type: ignore[attr-defined]
    if key is not None:
        argv += ["--key", key.key.hex()]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _signing(c: Chain) -> tuple[Domain, int]:
    """The relay-log domain of this deployment and the chain's time."""
    disputes = c.manifest.contract(c.w3, "Disputes")
    return log_domain(int(c.w3.eth.chain_id), disputes.address), int(
        c.w3.eth.get_block("latest")["timestamp"]
    )


def test_report_slashes_a_forked_relay(env, tmp_path: Path) -> None:
    c, nodes = env
    op, key = nodes[0]
    domain, now = _signing(c)
    files = []
    for body in (b"\xaa", b"\xbb"):
        e = LogEntry(op.address, b"\x01" * 32, 7, b"\x00" * 32, body * 32, now)
        sig = sign_log_entry(bytes(key.key), domain, e).packed()
        path = tmp_path / f"{body.hex()}.json"
        path.write_text(json.dumps({"entry": e.to_json(), "signature": "0x" + sig.hex()}))
        files.append(str(path))
    reporter = _account("reporter")
    c.fund(reporter.address, 0)
    pool = node_record(c.registry, op.address)[10]
    out = _run(c, "report", *files, key=reporter)
    assert f"fork of {op.address} proven" in out and "jailed until" in out
    assert node_record(c.registry, op.address)[3] is True  # jailed
    cut = pool - node_record(c.registry, op.address)[10]
    assert cut == (pool + 9) // 10
    assert c.token.functions.balanceOf(reporter.address).call() == cut // 2
    # The same fork again: refused before sending, in one sentence.
    url = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    argv = [
        "report",
        *files,
        "--rpc-url",
        url,
        "--network",
        str(c.manifest_path),
        "--key",
        reporter.key.hex(),
    ]
    again = CliRunner().invoke(main, argv)
    assert again.exit_code == 1 and "already proven" in again.output


def test_flag_draw_vote_finalize(env) -> None:
    c, nodes = env
    flagger = _account("flagger")
    c.fund(flagger.address, 2000)
    target = nodes[1][0]
    out = _run(
        c, "dispute", "flag", target.address, "--reason", "offline", "--evidence", "ipfs://x", key=flagger
    )
    dispute_id = int(out.split()[1])
    out = _run(c, "dispute", "draw", str(dispute_id), key=flagger)
    panel = [a.strip() for a in out.removeprefix("panel:").strip().split(",")]
    assert target.address not in panel and panel
    reviewers = {op.address: op for op, _ in nodes}
    for r in panel:
        _run(c, "dispute", "vote", str(dispute_id), "--reviewer", r, "--kick", key=reviewers[r])
    status = _run(c, "dispute", "status", str(dispute_id))
    assert "voting" in status and all(r in status for r in panel)
    c.w3.provider.make_request("evm_increaseTime", [3601])
    c.w3.provider.make_request("evm_mine", [])
    for r in panel:
        assert "revealed kick" in _run(
            c, "dispute", "vote", str(dispute_id), "--reviewer", r, "--reveal", key=reviewers[r]
        )
    c.w3.provider.make_request("evm_increaseTime", [3601])
    c.w3.provider.make_request("evm_mine", [])
    out = _run(c, "dispute", "finalize", str(dispute_id), key=flagger)
    assert "kicked" in out
    assert node_record(c.registry, target.address)[3] is True
    assert c.token.functions.balanceOf(flagger.address).call() > 1000 * WAD  # bond back + reward


def test_report_finds_the_fork_in_the_client_store(env, tmp_path: Path) -> None:
    c, nodes = env
    op, key = nodes[3]
    domain, now = _signing(c)
    store = HistoryStore(tmp_path / "store.jsonl")
    # Two runs of a client each kept one signed entry of seq 3: the relay forked between them.
    for body in (b"\x01", b"\x02"):
        e = LogEntry(op.address, b"\x05" * 32, 3, b"\x00" * 32, body * 32, now)
        store.keep(
            f"ws://n3.example/{body.hex()}", Kept(e, sign_log_entry(bytes(key.key), domain, e).packed())
        )
    reporter = _account("store-reporter")
    c.fund(reporter.address, 0)
    out = _run(c, "report", "--store", str(store.path), key=reporter)
    assert f"fork of {op.address} proven" in out
    assert node_record(c.registry, op.address)[3] is True
    # Proven now: nothing left in the store to report.
    url = c.w3.provider.endpoint_uri  # type: ignore[attr-defined]
    argv = ["report", "--store", str(store.path), "--rpc-url", url, "--network", str(c.manifest_path)]
    again = CliRunner().invoke(main, [*argv, "--key", reporter.key.hex()])
    assert again.exit_code == 1 and "no fork that is not proven yet" in again.output
