"""clubchat.deploy.manifest: assembling a manifest and deciding when a dev chain's one is stale."""

from __future__ import annotations

from clubchat.chain.manifest import ContractRecord
from clubchat.deploy.manifest import build_manifest, stale_reason
from clubchat.params import Parameters

A = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
B = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
C = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
RECORDS = {
    "ClubToken": ContractRecord(A, [], 2),
    "Emission": ContractRecord(B, [], 5),
    "Timelock": ContractRecord(C, [], 1),
}
CODE = {A: b"\x01token", B: b"\x02emission", C: b"\x03timelock"}
SOURCE = {"ClubToken": b"\x01token", "Emission": b"\x02emission", "Timelock": b"\x03timelock"}


def _matches(name: str, code: bytes) -> bool:
    return code.startswith(SOURCE[name])


def test_build_manifest_starts_at_the_earliest_block_and_checksums(params: Parameters) -> None:
    m = build_manifest(
        network="ethereum:local",
        chain_id=31337,
        records=RECORDS,
        params=params,
        deployer=A.lower(),
        treasury=C.lower(),
        genesis_time=123,
        beneficiaries={"team": B.lower()},
        escrows={"team": A.lower()},
    )
    assert m.block == 1
    assert (m.deployer, m.treasury, m.beneficiaries, m.escrows) == (A, C, {"team": B}, {"team": A})
    assert m.parameters is params.raw
    assert m.to_dict()["contracts"]["Emission"] == {"address": B, "abi": [], "block": 5}


def test_build_manifest_of_nothing_yet_has_block_zero(params: Parameters) -> None:
    m = build_manifest(
        network="ethereum:local",
        chain_id=1,
        records={},
        params=params,
        deployer=A,
        treasury=A,
        genesis_time=0,
        beneficiaries={},
        escrows={},
    )
    assert m.block == 0


def test_unchanged_contracts_are_not_stale() -> None:
    assert stale_reason(RECORDS, lambda a: CODE[a], _matches) is None


def test_reset_chain_lists_every_missing_contract() -> None:
    assert stale_reason(RECORDS, lambda a: b"", _matches) == (
        "ClubToken, Emission, Timelock not on this chain (it was reset)"
    )


def test_other_code_at_an_address_is_a_change() -> None:
    # After a restart with another plan order, the token's old address holds the timelock.
    code = {**CODE, A: CODE[C]}
    assert stale_reason(RECORDS, lambda a: code[a], _matches) == "ClubToken changed since deployed"


def test_missing_and_changed_are_both_reported() -> None:
    code = {A: b"", B: b"\x02emission-v2", C: CODE[C]}

    def matches(name: str, code: bytes) -> bool:
        return code == SOURCE[name]

    assert stale_reason(RECORDS, lambda a: code[a], matches) == (
        "ClubToken not on this chain (it was reset); Emission changed since deployed"
    )
