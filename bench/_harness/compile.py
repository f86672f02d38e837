"""Compile the measured contracts: OpenZeppelin baselines with npm `solc`, ours with the virtualenv's vyper.

Both compile for the one EVM version of the project (`clubchat.deploy.backend.EVM_VERSION`).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness.paths import BUILD_DIR, NODE_MODULES, REPO_ROOT, SOLIDITY_DIR, BenchError
from clubchat.deploy.backend import EVM_VERSION

SOLC_OPTIMIZER_RUNS = 200


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what `Chain.deploy` needs, and a line saying how it was built."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a compiler in the repository root; the caller checks the return code."""
    return subprocess.run(list(cmd), cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def _package_version(package: str) -> str:
    meta = json.loads((NODE_MODULES / package / "package.json").read_text())
    return str(meta["version"])


def solc_version() -> str:
    return _package_version("solc")


def openzeppelin_version() -> str:
    return _package_version("@openzeppelin/contracts")


def compile_solidity(sources: Sequence[str]) -> dict[str, Artifact]:
    """Compile Solidity files (paths relative to the repo root) with solcjs; artifacts by contract name.

    OpenZeppelin contracts imported by the sources are compiled too and are returned under their own
    names (e.g. `TimelockController`). The solc output is cached under .build/bench, keyed by the
    sources, the compiler settings and the solc/OpenZeppelin versions.
    """
    if not (NODE_MODULES / "solc").is_dir() or not (NODE_MODULES / "@openzeppelin" / "contracts").is_dir():
        raise BenchError("node_modules lacks solc or @openzeppelin/contracts; run `npm ci` in the repo root")
    settings = {"optimizer_runs": SOLC_OPTIMIZER_RUNS, "evm_version": EVM_VERSION}
    key = hashlib.sha256()
    key.update(json.dumps([settings, solc_version(), openzeppelin_version()]).encode())
    for src in sources:
        key.update(src.encode() + b"\0" + (REPO_ROOT / src).read_bytes())
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    cached = BUILD_DIR / f"solc-{key.hexdigest()[:16]}.json"
    if cached.exists():
        output = json.loads(cached.read_text())
    else:
        settings_file = BUILD_DIR / "solc-settings.json"
        settings_file.write_text(json.dumps(settings))
        proc = _run(["node", str(SOLIDITY_DIR / "compile.js"), str(settings_file), *sources])
        if proc.returncode != 0:
            raise BenchError(f"solcjs failed: {proc.stderr.strip()}")
        output = json.loads(proc.stdout)
        errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
        if errors:
            raise BenchError("solc errors:\n" + "\n".join(e["formattedMessage"] for e in errors))
        cached.write_text(json.dumps(output))
    label = f"solc {solc_version()} (solcjs, optimizer {SOLC_OPTIMIZER_RUNS} runs, evm {EVM_VERSION})"
    artifacts: dict[str, Artifact] = {}
    for unit in output["contracts"].values():
        for name, out in unit.items():
            bytecode = out["evm"]["bytecode"]["object"]
            if bytecode:
                artifacts[name] = Artifact(name, out["abi"], "0x" + bytecode, label)
    return artifacts


_EVM_PRAGMA = re.compile(r"^#\s*pragma\s+evm-version\s+(\w+)", re.MULTILINE)
_OPTIMIZE_PRAGMA = re.compile(r"^#\s*pragma\s+optimize\s+(\w+)", re.MULTILINE)
_VENOM_PRAGMA = re.compile(r"^#\s*pragma\s+experimental-codegen", re.MULTILINE)


def compile_vyper(path: Path) -> Artifact:
    """Compile a Vyper contract of the repo with the vyper in this virtualenv.

    Imports resolve the way titanoboa and ape-vyper resolve them: from the repo root (`interfaces`,
    `contracts.modules`) and from site-packages (`snekmate`). The EVM version is EVM_VERSION unless
    the source pins its own with `# pragma evm-version`, which the label then reports.
    """
    source = path.read_text()
    pinned = _EVM_PRAGMA.search(source)
    evm = pinned.group(1) if pinned else EVM_VERSION
    cmd = [sys.executable, "-m", "vyper", "-f", "abi,bytecode", "-p", str(REPO_ROOT)]
    if not pinned:
        cmd += ["--evm-version", EVM_VERSION]
    proc = _run([*cmd, str(path.relative_to(REPO_ROOT))])
    if proc.returncode != 0:
        raise BenchError(f"vyper cannot compile {path.relative_to(REPO_ROOT)}:\n{proc.stderr.strip()}")
    abi_line, bytecode = proc.stdout.strip().splitlines()[-2:]
    version = subprocess.run(
        [sys.executable, "-m", "vyper", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    pinned_optimize = _OPTIMIZE_PRAGMA.search(source)
    optimize = pinned_optimize.group(1) if pinned_optimize else "gas"
    codegen = "Venom" if _VENOM_PRAGMA.search(source) else "legacy"
    label = f"vyper {version.split('+')[0]} ({codegen}, -O {optimize}, evm {evm})"
    return Artifact(path.stem, json.loads(abi_line), bytecode.strip(), label)
