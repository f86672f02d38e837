"""The real `ape run deploy` against an anvil of its own: manifest, genesis, roles, idempotent re-run.

One anvil on a free port (never 8545) serves the whole module; ape attaches to it
through APE_FOUNDRY_HOST and writes its manifest into a temporary directory, so a
developer's deployments/local.json is never touched.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from web3 import Web3

from clubchat.chain import Manifest, load_manifest
from clubchat.chain.anvil import Anvil, free_port
from clubchat.demo import run_demo
from clubchat.demo.call_limit import FREE_CALL_SECONDS
from clubchat.deploy.run import ApeDeployError, run_ape_deploy
from clubchat.params import DEFAULT_PATH, Parameters

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FOUNDATION = {"ClubToken", "Emission", "Vesting", "VestingEscrow"}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="module")
def anvil() -> Iterator[tuple[Anvil, Web3]]:
    node = Anvil(free_port())
    w3 = node.start()
    try:
        yield node, w3
    finally:
        node.stop()


def _deploy(node: Anvil, out_dir: Path, *extra: str) -> list[str]:
    return run_ape_deploy(node.url, extra_args=["--out-dir", str(out_dir), *extra], timeout=300)


@pytest.fixture(scope="module")
def first_run(anvil: tuple[Anvil, Web3], out_dir: Path) -> tuple[list[str], Manifest]:
    node, _ = anvil
    lines = _deploy(node, out_dir)
    return lines, load_manifest("local", directory=out_dir)


@pytest.fixture(scope="module")
def w3(anvil: tuple[Anvil, Web3]) -> Web3:
    return anvil[1]


@pytest.fixture(scope="module")
def manifest(first_run: tuple[list[str], Manifest]) -> Manifest:
    return first_run[1]


def test_manifest_describes_this_chain(manifest: Manifest, w3: Web3, out_dir: Path) -> None:
    assert manifest.source == out_dir / "local.json"
    assert manifest.network == "ethereum:local"
    assert manifest.chain_id == w3.eth.chain_id == 31337
    assert 0 < manifest.block <= w3.eth.block_number
    assert manifest.block == min(r.block for r in manifest.contracts.values())
    manifest.check_chain(w3)


def test_every_contract_has_code_and_abi(manifest: Manifest, w3: Web3) -> None:
    assert set(manifest.contracts) >= FOUNDATION
    for name, record in manifest.contracts.items():
        assert len(w3.eth.get_code(Web3.to_checksum_address(record.address))) > 0, name
        functions = {e["name"] for e in record.abi if e.get("type") == "function"}
        assert functions, f"{name} has no functions in its ABI"
        assert manifest.block <= record.block <= w3.eth.block_number


def test_parameters_are_the_raw_parameters_file(manifest: Manifest) -> None:
    with open(DEFAULT_PATH) as fh:
        assert manifest.parameters == yaml.safe_load(fh)


def test_genesis_balances_equal_the_parameters(manifest: Manifest, w3: Web3, params: Parameters) -> None:
    token = manifest.contract(w3, "ClubToken")
    g = params.genesis
    assert token.functions.totalSupply().call() == g.total_wei
    assert token.functions.cap().call() == params.token.cap_wei
    assert token.functions.balanceOf(manifest.treasury).call() == g.treasury_wei + g.liquidity_wei
    assert token.functions.balanceOf(manifest.deployer).call() == 0
    emission = manifest.contract(w3, "Emission")
    assert emission.functions.remaining().call() == params.emission_reserve_wei
    assert emission.functions.emitted().call() == 0


def test_vesting_escrows_match_allocations_and_distinct_test_accounts(
    manifest: Manifest, w3: Web3, params: Parameters
) -> None:
    token = manifest.contract(w3, "ClubToken")
    escrow_abi = manifest.contracts["VestingEscrow"].abi
    names = [a.name for a in params.genesis.vesting]
    assert list(manifest.escrows) == names
    # Local deployments vest to anvil accounts 1, 2, 3 (account 0 deploys).
    assert list(manifest.beneficiaries.values()) == w3.eth.accounts[1 : 1 + len(names)]
    for alloc in params.genesis.vesting:
        escrow = w3.eth.contract(address=manifest.escrows[alloc.name], abi=escrow_abi)
        assert escrow.functions.beneficiary().call() == manifest.beneficiaries[alloc.name]
        assert escrow.functions.total().call() == alloc.amount_wei
        assert escrow.functions.start().call() == manifest.genesis_time
        assert escrow.functions.cliff().call() == alloc.cliff_seconds
        assert escrow.functions.duration().call() == alloc.duration_seconds
        assert escrow.functions.revocable().call() == alloc.revocable
        assert token.functions.balanceOf(escrow.address).call() == alloc.amount_wei


def test_registry_is_deployed_with_its_rules_and_directory(manifest: Manifest, w3: Web3) -> None:
    # NodeRegistry's runtime code must fit EIP-170, which anvil enforces; its endpoint rules and
    # its listing are separate contracts, wired by address.
    registry = manifest.contract(w3, "NodeRegistry")
    code = w3.eth.get_code(Web3.to_checksum_address(manifest.address("NodeRegistry")))
    assert 0 < len(code) <= 24_576
    assert registry.functions.ENDPOINT_RULES().call() == manifest.address("EndpointRules")
    directory = manifest.contract(w3, "NodeDirectory")
    assert directory.functions.REGISTRY().call() == manifest.address("NodeRegistry")
    count = registry.functions.node_count().call()
    page, nxt = directory.functions.list_nodes(0, False, 0, 100).call()
    assert nxt == min(count, 100) and len(page) == nxt


def test_only_emission_can_mint(manifest: Manifest, w3: Web3) -> None:
    token = manifest.contract(w3, "ClubToken")
    minter = token.functions.MINTER_ROLE().call()
    assert token.functions.hasRole(minter, manifest.address("Emission")).call()
    assert not token.functions.hasRole(minter, manifest.deployer).call()


def test_rerun_deploys_nothing_and_sends_no_transaction(
    anvil: tuple[Anvil, Web3], out_dir: Path, manifest: Manifest, w3: Web3
) -> None:
    node, _ = anvil
    nonce = w3.eth.get_transaction_count(manifest.deployer)
    block = w3.eth.block_number
    lines = _deploy(node, out_dir)
    assert any(line.endswith(f"0 deployed, {len(manifest.contracts)} reused") for line in lines), lines[-5:]
    assert w3.eth.get_transaction_count(manifest.deployer) == nonce
    assert w3.eth.block_number == block
    again = load_manifest("local", directory=out_dir)
    assert again.to_dict() == manifest.to_dict()


def test_first_run_reported_each_new_contract(first_run: tuple[list[str], Manifest]) -> None:
    lines, manifest = first_run
    deployed = {line.split()[1] for line in lines if line.startswith("deploy ")}
    assert deployed == set(manifest.contracts)


def test_live_network_refuses_a_manifest_entry_with_other_code(
    manifest: Manifest, w3: Web3, params: Parameters, tmp_path: Path
) -> None:
    """On a live network (here an anvil posing as Sepolia) a mismatch stops the run before any transaction.

    The deployment's code is copied to the same addresses on the second chain, so the manifest
    is valid there except for the tampered entry; the run reuses contracts up to it and refuses.
    """
    sepolia_id = 11_155_111
    node = Anvil(free_port(), chain_id=sepolia_id)
    live = node.start()
    try:
        for record in manifest.contracts.values():
            code = w3.eth.get_code(Web3.to_checksum_address(record.address))
            live.provider.make_request("anvil_setCode", [record.address, code.to_0x_hex()])  # type: ignore[arg-type]
        tampered = manifest.to_dict()
        tampered["chain_id"] = sepolia_id
        tampered["contracts"]["Vesting"]["address"] = manifest.address("Emission")
        (tmp_path / "sepolia.json").write_text(json.dumps(tampered))
        env = dict(os.environ, SEPOLIA_RPC_URL=node.url)
        for alloc in params.genesis.vesting:
            env[f"CLUBCHAT_BENEFICIARY_{alloc.name.upper()}"] = manifest.beneficiaries[alloc.name]
        deployer = live.eth.accounts[0]
        with pytest.raises(ApeDeployError) as info:
            run_ape_deploy(
                None,
                network="ethereum:sepolia:node",
                extra_args=["--out-dir", str(tmp_path), "--account", "TEST::0"],
                base_env=env,
                timeout=300,
            )
        assert live.eth.get_transaction_count(deployer) == 0
    finally:
        node.stop()
    text = str(info.value)
    assert "reuse   ClubToken" in text
    assert (
        f"Vesting at {manifest.address('Emission')} (from {tmp_path / 'sepolia.json'}) runs different code "
        "than contracts/token/Vesting.vy; remove that manifest entry to redeploy it"
    ) in text


def test_testnet_without_rpc_url_fails_in_one_sentence(out_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SEPOLIA_RPC_URL"}
    with pytest.raises(ApeDeployError) as info:
        run_ape_deploy(
            None, network="ethereum:sepolia:node", extra_args=["--out-dir", str(out_dir)], base_env=env
        )
    assert "SEPOLIA_RPC_URL is not set; export it with an RPC endpoint of ethereum:sepolia" in str(info.value)
    assert not (out_dir / "sepolia.json").exists()


def test_demo_on_the_deployment_reports_consistent_figures(
    anvil: tuple[Anvil, Web3], out_dir: Path, manifest: Manifest, w3: Web3, params: Parameters
) -> None:
    """`club demo`'s job on this anvil (its deploy step is a no-op re-run); runs last: it mints."""
    node, _ = anvil
    output = io.StringIO()
    report_path = out_dir / "demo-report.json"
    report = run_demo(node.url, 3, report_path, Console(file=output, width=200), deployments_dir=out_dir)
    text = output.getvalue()

    assert json.loads(report_path.read_text()) == json.loads(json.dumps(report, default=str))
    for title in ("Deployment", "Genesis allocations", "Emission epochs", "Vesting escrows", "Supply"):
        assert title in text
    assert f"0 deployed, {len(manifest.contracts)} reused" in text
    # The demo used the anvil it was given and left it running.
    assert w3.eth.chain_id == 31337
    policing = report["policing"]  # a fork slashed on a member's proof; flags decided by the nodes
    assert policing["fork"]["jailed"] and policing["fork"]["cut_wei"] * 10 == policing["fork"]["pool_wei"]
    assert [f["outcome"] for f in policing["flags"]] == ["rejected", "kicked"]

    steps = report["emission"]["steps"]
    assert [(s["first_epoch"], s["epochs"]) for s in steps] == [(0, 1), (1, 1), (2, 2)]
    for step in steps:
        assert step["minted_wei"] == sum(step["per_receiver_wei"]) + step["tip_wei"]
        assert step["tip_wei"] == step["keeper_received_wei"] == params.emission.tip_wei * step["epochs"]
    emitted = sum(s["minted_wei"] for s in steps)
    assert report["emission"]["emitted_wei"] == emitted
    assert steps[-1]["remaining_wei"] == params.emission_reserve_wei - emitted

    supply = report["supply"]
    assert supply["total_wei"] == params.genesis.total_wei + emitted
    assert supply["total_wei"] + supply["emission_remaining_wei"] == supply["cap_wei"] == params.token.cap_wei
    assert supply["total_wei"] == supply["locked_wei"] + supply["treasury_wei"] + supply["circulating_wei"]

    ads = report["ads"]  # one NOTIFY node, two opted-in members receipted up to the cap, one batch
    assert ads["delivered"] == {"alice": 3, "bob": 3, "carol": 0, "dave": 0} and ads["per_user_cap"] == 3
    assert ads["receipt_counts"] == {"alice": 3, "bob": 3, "carol": 0, "dave": 0}
    assert (ads["receipts_settled"], ads["batches"], ads["views_settled"]) == (2, 1, 6)
    assert sum(ads["split_wei"].values()) == ads["spent_wei"] == 6 * ads["price_wei"]
    assert ads["refunded_wei"] == ads["budget_wei"] - ads["spent_wei"]
    assert ads["paid_requests"]["unpaid_refused_with"] == "payment-required"
    notify = ads["notify_node"]  # the NOTIFY node came from the registry's sample, with no fallback
    assert notify["registry_sample"][notify["sample_index"]] == notify["uri"]
    gated = ads["premium_only"]  # alice bought tier 1 and got it; bob (free) was never sent it
    assert gated["delivered"] == {"alice": 1, "bob": 0} and gated["receipts_held"] == {"alice": 1, "bob": 0}
    assert gated["receipts_settled"] == 1 and gated["alice_earned_wei"] > 0
    assert gated["refunded_wei"] == 10 * 10**18 - ads["price_wei"]
    rooms = report["communities"]
    assert rooms["ban"]["code"] == "banned" and rooms["ban"]["after"].startswith("banned:")
    assert rooms["non_member"].startswith("not-member:")
    assert rooms["free_message_refused"].startswith("over-tier-limit: tier 0 messages")
    assert rooms["free_file_refused"].startswith("over-tier-limit: tier 0 files")
    assert rooms["premium_message_delivered"] == rooms["room_message_delivered"] == 1
    call_end = rooms["free_call_end"]  # governance shortened free calls; coturn ended bob's, not alice's
    assert call_end["governance"]["before_seconds"] == params.premium.tiers[0].max_call_seconds
    assert call_end["governance"]["after_seconds"] == call_end["limit_seconds"] == FREE_CALL_SECONDS
    assert rooms["turn_ttl_seconds"] == {"free": FREE_CALL_SECONDS, "plus": 3600}
    assert call_end["media_started_s_before_limit"] > 1 and call_end["packets_heard"]["free"] > 0
    assert call_end["free_media_last_heard_s_after_limit"] <= call_end["deadline_s_after_limit"]
    assert call_end["premium_media_last_heard_s_after_limit"] > call_end["deadline_s_after_limit"] + 1
    owner = rooms["allowlist_owner"]  # a contract wallet owns the allowlist community
    assert owner["is_contract"] and owner["owner_of"] == owner["address"]
    relay = rooms["relay"]  # the room's relay came from the registry's sample for the room
    assert relay["uri"] in relay["registry_sample"] and relay["sample_index"] == relay["tried"] - 1

    for row in report["vesting"]:
        assert row["vested_wei"] + row["locked_wei"] == row["total_wei"]
        assert row["claimable_wei"] == row["vested_wei"]  # nobody has claimed yet
        assert row["votes_delegated_to"] == row["beneficiary"]


def test_rerun_with_other_parameters_refuses_and_names_them(
    anvil: tuple[Anvil, Web3], out_dir: Path, manifest: Manifest, w3: Web3, tmp_path: Path
) -> None:
    """The chain keeps the deployed values, so the manifest must not take the other file's."""
    node, _ = anvil
    other = yaml.safe_load(DEFAULT_PATH.read_text())
    other["registry"]["heartbeat_seconds"] = 1800
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other))
    nonce = w3.eth.get_transaction_count(manifest.deployer)
    with pytest.raises(ApeDeployError) as err:
        _deploy(node, out_dir, "--parameters", str(path))
    assert "was deployed with other parameters (registry.heartbeat_seconds: 3600 -> 1800)" in str(err.value)
    assert w3.eth.get_transaction_count(manifest.deployer) == nonce
    assert load_manifest("local", directory=out_dir).parameters == manifest.parameters
