"""Each interface in interfaces/ declares the events its contract emits; the contract declares none.

Events are declared once, in the interface, and logged as `log IX.Event(...)`; so the interface
describes the ABI the contract emits (names, types and `indexed` topics), which is what other
contracts, indexers and the tooling read.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from clubchat.deploy.backend import contract_path
from clubchat.params import REPO_ROOT

# contract -> its interface, and the modules it initializes whose events it emits.
CASES = {
    "ClubGovernor": ("IClubGovernor", []),
    "Emission": ("IEmission", []),
    "ClubToken": ("IClubToken", ["contracts/modules/votes.vy"]),
    "Communities": ("ICommunities", []),
    "Premium": ("IPremium", []),
    "AdMarket": ("IAdMarket", []),
    "Disputes": ("IDisputes", []),
    "NodeRegistry": ("INodeRegistry", ["contracts/modules/sumtree.vy"]),
}


def _abi(path: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "vyper", "-p", str(REPO_ROOT), "-f", "abi", path],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _events(abi: list[dict]) -> dict[str, tuple]:
    return {
        e["name"]: tuple((i["name"], i["type"], i["indexed"]) for i in e["inputs"])
        for e in abi
        if e["type"] == "event"
    }


# Events of imported snekmate modules (access control roles), declared by snekmate's own interfaces.
SNEKMATE_EVENTS = {"RoleGranted", "RoleRevoked", "RoleAdminChanged"}


@pytest.mark.parametrize("contract", sorted(CASES))
def test_interface_declares_the_events_the_contract_emits(contract):
    interface, modules = CASES[contract]
    source = contract_path(contract)
    emitted = _events(_abi(str(source.relative_to(REPO_ROOT))))
    declared = _events(_abi(f"interfaces/{interface}.vyi"))
    ours = {name: inputs for name, inputs in emitted.items() if name not in SNEKMATE_EVENTS}
    assert ours == declared
    for path in [source, *(REPO_ROOT / m for m in modules)]:
        assert re.search(r"^event ", path.read_text(), re.MULTILINE) is None, f"{path.name} declares an event"
