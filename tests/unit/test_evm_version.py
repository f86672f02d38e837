"""The EVM version is set in two places that must agree: clubchat.deploy.backend.EVM_VERSION
(titanoboa tests, benchmarks) and ape-config.yaml's `vyper: evm_version` (ape-vyper, `ape run deploy`).

If they differed, the suite would test other bytecode than the one deployed (e.g.
prague vs cancun changes which opcodes the compiler may emit)."""

from __future__ import annotations

import re

import yaml

from clubchat.deploy.backend import CONTRACTS_DIR, EVM_VERSION
from clubchat.params import REPO_ROOT
from tests.utils.deployer import deployer_for

APE_CONFIG = REPO_ROOT / "ape-config.yaml"
_PRAGMA = re.compile(r"^#\s*pragma\s+evm-version\s+(\S+)", re.MULTILINE)


def test_ape_config_evm_version_matches_backend() -> None:
    assert APE_CONFIG.exists(), "ape-config.yaml is missing: ape run deploy would compile with its defaults"
    config = yaml.safe_load(APE_CONFIG.read_text())
    vyper = config.get("vyper") or {}
    assert "evm_version" in vyper, (
        "ape-config.yaml must pin `vyper: evm_version` (ape-vyper's default may differ)"
    )
    assert vyper["evm_version"] == EVM_VERSION


def test_titanoboa_compiles_for_backend_evm_version() -> None:
    assert deployer_for("ClubToken").compiler_data.settings.evm_version == EVM_VERSION


def test_no_contract_overrides_evm_version() -> None:
    """A per-file `# pragma evm-version` would silently beat both settings above."""
    overrides = {
        str(path.relative_to(REPO_ROOT)): m.group(1)
        for path in sorted(CONTRACTS_DIR.rglob("*.vy"))
        if (m := _PRAGMA.search(path.read_text())) and m.group(1) != EVM_VERSION
    }
    assert overrides == {}


def test_the_evm_version_is_defined_once() -> None:
    """Tests, benchmarks and the deploy backends all import clubchat.deploy.backend.EVM_VERSION."""
    definition = re.compile(r"^\s*EVM_VERSION\s*(?::[^=]+)?=", re.MULTILINE)
    defined_in = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("clubchat", "bench", "scripts", "tests")
        for path in sorted((REPO_ROOT / folder).rglob("*.py"))
        if definition.search(path.read_text())
    ]
    assert defined_in == ["clubchat/deploy/backend.py"]
