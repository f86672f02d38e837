"""clubchat.chain.manifest: naming, loading, validation messages and web3 handles (no chain needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from clubchat.chain import ManifestError, load_manifest, manifest_name, manifest_path
from clubchat.chain.manifest import from_dict

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
EMISSION = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
DEPLOYER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ABI = [
    {
        "type": "function",
        "name": "totalSupply",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
    }
]


def _raw(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "network": "ethereum:local",
        "chain_id": 31337,
        "block": 1,
        "genesis_time": 1_700_000_000,
        "deployer": DEPLOYER,
        "treasury": DEPLOYER,
        "beneficiaries": {"team": TOKEN.lower()},
        "escrows": {},
        "contracts": {
            "ClubToken": {"address": TOKEN, "abi": ABI, "block": 1},
            "Emission": {"address": EMISSION.lower(), "abi": ABI, "block": 3},
        },
        "parameters": {"token": {"symbol": "CLUB"}},
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("ecosystem", "network", "stem"),
    [
        ("ethereum", "local", "local"),
        ("arbitrum", "local", "local"),
        ("ethereum", "sepolia", "sepolia"),
        ("arbitrum", "sepolia", "arbitrum-sepolia"),
        ("moonbeam", "moonbase", "moonbeam-moonbase"),
        ("ethereum", "sepolia-fork", "local-ethereum-sepolia-fork"),
    ],
)
def test_manifest_name(ecosystem: str, network: str, stem: str) -> None:
    assert manifest_name(ecosystem, network) == stem


def test_manifest_path_accepts_a_name_or_a_network_choice(tmp_path: Path) -> None:
    assert manifest_path("local", tmp_path) == tmp_path / "local.json"
    assert manifest_path("ethereum:local:foundry", tmp_path) == tmp_path / "local.json"
    assert manifest_path("arbitrum:sepolia:node", tmp_path) == tmp_path / "arbitrum-sepolia.json"


def test_round_trip_through_disk_checksums_addresses(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    path.write_text(json.dumps(_raw()))
    m = load_manifest("local", directory=tmp_path)
    assert m.chain_id == 31337
    assert m.block == 1
    assert m.address("Emission") == EMISSION
    assert m.beneficiaries == {"team": TOKEN}
    assert m.contracts["Emission"].block == 3
    assert m.source == path

    again = tmp_path / "again.json"
    m.save(again)
    assert load_manifest(again).to_dict() == m.to_dict()
    assert not list(tmp_path.glob(".*.tmp")), "atomic save leaves no temporary file"


def test_load_by_explicit_path_string(tmp_path: Path) -> None:
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(_raw()))
    assert load_manifest(str(path)).address("ClubToken") == TOKEN


def test_contract_handle_has_address_and_abi() -> None:
    m = from_dict(_raw())
    w3 = Web3()  # no provider needed to build a handle
    token = m.contract(w3, "ClubToken")
    assert token.address == TOKEN
    assert [f.fn_name for f in token.all_functions()] == ["totalSupply"]


def test_unknown_contract_names_what_exists() -> None:
    m = from_dict(_raw())
    with pytest.raises(ManifestError, match=r"has no contract 'Vesting' \(it has: ClubToken, Emission\)"):
        m.contract(Web3(), "Vesting")


def test_missing_file_says_how_to_deploy(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"no deployment manifest at .*sepolia\.json; deploy first with"):
        load_manifest("sepolia", directory=tmp_path)


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match=r"local\.json is not valid JSON \(.* at line 1\)"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the manifest must be a JSON object"),
        ({k: v for k, v in _raw().items() if k != "chain_id"}, "missing key 'chain_id'"),
        (_raw(contracts={}), "contracts must be a non-empty object keyed by contract name"),
        (_raw(contracts={"ClubToken": "0x12"}), "contracts.ClubToken must be an object"),
        (
            _raw(contracts={"ClubToken": {"address": "0x1234", "abi": ABI}}),
            "contracts.ClubToken.address must be a 0x-prefixed 20-byte hex address, got '0x1234'",
        ),
        (
            _raw(contracts={"ClubToken": {"address": TOKEN, "abi": {"x": 1}}}),
            "contracts.ClubToken.abi must be a list of ABI entries",
        ),
        (_raw(chain_id="31337"), "chain_id must be a non-negative integer, got '31337'"),
        (_raw(block=True), "block must be a non-negative integer, got True"),
        (_raw(parameters=[]), "parameters must be an object"),
        (_raw(escrows={"team": 5}), "escrows.team must be a 0x-prefixed 20-byte hex address, got 5"),
    ],
)
def test_validation_errors_are_one_sentence(data: Any, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        from_dict(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
