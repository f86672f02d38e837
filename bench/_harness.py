"""Shared machinery of the gas benchmarks: compile, run on a private anvil, measure receipts, report.

Every benchmark compares an OpenZeppelin 5 baseline (compiled here with the npm `solc` package) with the
Club Chat Vyper contract on the same EVM: one anvil started on a free loopback port for the run and
stopped afterwards. Operations are real signed transactions, each mined in its own block with a fresh
timestamp, and the figure reported is the receipt's `gasUsed` (it includes the 21,000 intrinsic gas and
the calldata cost). Implementations start from identical chain state: each one runs inside an anvil
snapshot taken before its first deployment, so the same deployer nonce gives the same contract
addresses, and every scenario runs from a snapshot of the same post-setup state.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
SOLIDITY_DIR = BENCH_DIR / "solidity"
BUILD_DIR = REPO_ROOT / ".build" / "bench"
NODE_MODULES = REPO_ROOT / "node_modules"
ANVIL_BIN = NODE_MODULES / ".bin" / "anvil"

# One EVM for everything: solc's evmVersion, vyper's --evm-version and anvil's --hardfork.
EVM_VERSION = "cancun"
SOLC_OPTIMIZER_RUNS = 200
# anvil's default test mnemonic: its first ten accounts are funded with 10,000 ETH each.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
# Fixed genesis time (2026-01-01T00:00:00Z) so timestamps, and hence every run, are reproducible.
GENESIS_TIMESTAMP = 1_767_225_600
# Seconds between consecutive blocks; every transaction gets its own block and timestamp.
BLOCK_INTERVAL = 12
# Gas limit of every call; receipt gasUsed does not depend on it (it only has to be large enough).
CALL_GAS_LIMIT = 3_000_000


class BenchError(RuntimeError):
    """A benchmark could not run; the message says what to fix."""


# COMPILATION ###########################################################


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what `Chain.deploy` needs, and a line saying how it was built."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str


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
        proc = subprocess.run(
            ["node", str(SOLIDITY_DIR / "compile.js"), str(settings_file), *sources],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
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
    proc = subprocess.run(
        [*cmd, str(path.relative_to(REPO_ROOT))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
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


# CHAIN #################################################################


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def anvil_version() -> str:
    out = subprocess.run([str(ANVIL_BIN), "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0].strip()


@contextmanager
def anvil(
    hardfork: str = EVM_VERSION, timeout: float = 60.0, extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """Run a private anvil on a free loopback port for the duration of the block; yields its RPC URL.

    `extra_args` go to anvil as they are (e.g. `--steps-tracing` to inspect where a transaction's gas goes
    with `debug_traceTransaction`; the benchmarks themselves run without it).

    anvil runs in its own process group (npm's launcher plus the native binary) so that exactly the
    processes started here are stopped on exit.
    """
    if not ANVIL_BIN.exists():
        raise BenchError("node_modules/.bin/anvil is missing; run `npm ci` in the repo root")
    port = _free_port()
    cmd = [
        str(ANVIL_BIN),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--hardfork",
        hardfork,
        "--timestamp",
        str(GENESIS_TIMESTAMP),
        "--mnemonic",
        ANVIL_MNEMONIC,
        "--silent",
        *extra_args,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise BenchError(f"anvil exited at start (code {proc.returncode}): {err.strip()}")
            try:
                if probe.is_connected():
                    break
            except Exception:  # not up yet
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"anvil did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


class Chain:
    """web3 on a private anvil: named funded accounts, deployments and measured transactions.

    Every transaction is signed locally, mined in its own block whose timestamp is the previous block's
    plus BLOCK_INTERVAL (or an explicit `travel`), and must succeed.
    """

    def __init__(self, url: str, actors: Sequence[str]) -> None:
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 120}))
        self.chain_id = int(self.w3.eth.chain_id)
        Account.enable_unaudited_hdwallet_features()
        self.accounts: dict[str, LocalAccount] = {}
        for index, actor in enumerate(actors):
            self.accounts[actor] = Account.from_mnemonic(
                ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
            )
        for acct in self.accounts.values():
            if self.w3.eth.get_balance(acct.address) == 0:
                # anvil funds only its first accounts; top up the others (no gas effect on what is measured).
                self.rpc("anvil_setBalance", acct.address, hex(10**22))

    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        if "error" in response:
            raise BenchError(f"{method} failed: {response['error']}")
        return response.get("result")

    def address(self, actor: str) -> str:
        return str(self.accounts[actor].address)

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def travel(self, seconds: int) -> None:
        """Mine an empty block `seconds` after the latest one (voting delays, timelock delays)."""
        self.rpc("evm_setNextBlockTimestamp", self.latest_timestamp() + seconds)
        self.rpc("evm_mine")

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise BenchError(f"anvil could not revert to snapshot {snapshot_id}")

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run the block on top of the current state and roll everything back afterwards."""
        snap = self.snapshot()
        try:
            yield
        finally:
            self.revert(snap)

    def _send(self, sender: str, tx: dict[str, Any]) -> TxReceipt:
        acct = self.accounts[sender]
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        tx.update(
            {
                "from": acct.address,
                "nonce": self.w3.eth.get_transaction_count(acct.address),
                "chainId": self.chain_id,
                "maxPriorityFeePerGas": 0,
                "maxFeePerGas": 2 * base_fee + 10**9,
                "type": 2,
            }
        )
        signed = acct.sign_transaction(tx)
        self.rpc("evm_setNextBlockTimestamp", self.latest_timestamp() + BLOCK_INTERVAL)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise BenchError(f"transaction from {sender} reverted: {self._revert_reason(tx)}")
        return receipt

    def _revert_reason(self, tx: dict[str, Any]) -> str:
        call = {k: tx[k] for k in ("from", "to", "data") if k in tx}
        try:
            self.w3.eth.call(call)  # type: ignore[arg-type]
        except Exception as exc:  # the message is what we want
            return str(exc)
        return "unknown reason"

    def deploy(self, artifact: Artifact, *args: Any, sender: str) -> Contract:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        data = factory.constructor(*args).data_in_transaction
        tx: dict[str, Any] = {"data": data}
        tx["gas"] = int(self.w3.eth.estimate_gas({"from": self.address(sender), "data": data}) * 1.2)
        receipt = self._send(sender, tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def transact(self, call: ContractFunction, sender: str) -> TxReceipt:
        tx: dict[str, Any] = {
            "to": call.address,
            "data": call._encode_transaction_data(),
            "gas": CALL_GAS_LIMIT,
        }
        return self._send(sender, tx)

    def gas(self, call: ContractFunction, sender: str) -> int:
        """Send `call` from `sender` in a fresh block and return the receipt's gasUsed."""
        return int(self.transact(call, sender)["gasUsed"])

    def sign_typed_data(
        self, signer: str, domain: dict[str, Any], types: dict[str, Any], message: dict
    ) -> Any:
        return self.accounts[signer].sign_typed_data(domain, types, message)


def eip712_domain(contract: Contract) -> dict[str, Any]:
    """The EIP-712 domain a contract reports through EIP-5267 `eip712Domain()`."""
    _fields, name, version, chain_id, verifying_contract, _salt, _ext = (
        contract.functions.eip712Domain().call()
    )
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}


# REPORTING #############################################################


@dataclass
class Comparison:
    """One operation measured on the baseline and on our contract (a run of n transactions each)."""

    operation: str
    baseline_label: str
    baseline: list[int]
    ours: list[int] | None
    target_gas: float | None = None
    target_text: str = ""
    issue_anchor: int | None = None
    statistic: str = "value"
    note: str = ""

    @staticmethod
    def reduce(values: list[int], statistic: str) -> float:
        if statistic in ("value", "first"):
            return float(values[0])
        if statistic == "each":
            if len(set(values)) != 1:
                raise ValueError("statistic 'each' needs a run of equal values")
            return float(values[0])
        if statistic == "median":
            return float(statistics.median(values))
        if statistic == "max":
            return float(max(values))
        if statistic == "min":
            return float(min(values))
        if statistic == "mean":
            return float(statistics.fmean(values))
        raise ValueError(f"unknown statistic {statistic}")

    @property
    def n(self) -> int:
        """How many transactions the reported figure summarises (1 for a single or the first one)."""
        return 1 if self.statistic in ("value", "first") else len(self.baseline)

    @property
    def baseline_value(self) -> float:
        return self.reduce(self.baseline, self.statistic)

    @property
    def ours_value(self) -> float | None:
        return None if self.ours is None else self.reduce(self.ours, self.statistic)

    @property
    def ratio(self) -> float | None:
        ours = self.ours_value
        return None if ours is None else ours / self.baseline_value

    @property
    def ratio_to_issue(self) -> float | None:
        """Ours against the OZ figure the issue author measured (their chain and scenario details)."""
        ours = self.ours_value
        return None if ours is None or self.issue_anchor is None else ours / self.issue_anchor

    @property
    def met(self) -> bool | None:
        ours = self.ours_value
        if ours is None or self.target_gas is None:
            return None
        return ours <= self.target_gas

    @property
    def label(self) -> str:
        if self.statistic == "value":
            return self.operation
        return f"{self.operation} ({self.statistic} of {len(self.baseline)})"


@dataclass
class Report:
    """A benchmark's results: the comparisons plus what the reader needs to reproduce and trust them."""

    name: str
    script: str
    title: str
    ours_label: str
    comparisons: list[Comparison] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """bench/results/<name>.json rows: ours against the OZ figure measured here (the anchor), plus
        the OZ figure itself against the issue author's measurement where the issue gives one."""
        out: list[dict[str, Any]] = []
        for c in self.comparisons:
            ours = c.ours_value
            if ours is not None:
                out.append(
                    {
                        "metric": f"{self.ours_label}: {c.label}",
                        "value": _num(ours),
                        "unit": "gas",
                        "target": None if c.target_gas is None else _num(c.target_gas),
                        "better": "lower",
                        "anchor": _num(c.baseline_value),
                        "n": c.n,
                    }
                )
            out.append(
                {
                    "metric": f"{c.baseline_label}: {c.label}",
                    "value": _num(c.baseline_value),
                    "unit": "gas",
                    "target": None,
                    "better": "lower",
                    "anchor": c.issue_anchor,
                    "n": c.n,
                }
            )
        return out

    def table(self) -> Table:
        table = Table(title=self.title, show_lines=False)
        for header, justify in (
            ("operation", "left"),
            ("OZ baseline", "left"),
            ("OZ gas", "right"),
            ("issue's OZ", "right"),
            (self.ours_label, "right"),
            ("ratio", "right"),
            ("vs issue's", "right"),
            ("target", "right"),
            ("met?", "center"),
        ):
            table.add_column(header, justify=justify)  # type: ignore[arg-type]
        for c in self.comparisons:
            ours, ratio, met = c.ours_value, c.ratio, c.met
            table.add_row(
                c.label,
                c.baseline_label,
                _fmt(c.baseline_value),
                _fmt(c.issue_anchor),
                "not built" if ours is None else _fmt(ours),
                _ratio(ratio),
                _ratio(c.ratio_to_issue),
                c.target_text,
                "" if met is None else ("[green]yes[/]" if met else "[red]no[/]"),
            )
        return table

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        lines.append(
            "Receipt gas (`gasUsed`, including the 21,000 intrinsic gas and calldata) of signed transactions "
            "on one private anvil, each in its own block. Baseline and ours run the same scenario from the "
            "same chain state (anvil snapshots), with the same accounts and amounts."
        )
        lines.append("")
        lines.append(
            paragraph(
                """
                Columns: *ratio* is ours / the OZ figure measured here; *ratio vs issue's OZ* is ours / the
                OZ figure the issue author measured; *met?* compares ours with the target, where a target
                given as a multiple of OZ is applied to the OZ figure measured here.
                """
            )
        )
        lines += ["", f"Regenerate: `make bench` (or `.venv/bin/python {self.script}`).", ""]
        lines.append("## Environment")
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in self.environment.items()]
        lines += ["", "## Results", ""]
        lines.append(
            "| operation | OZ baseline | OZ gas (here) | OZ gas (issue) | "
            f"{self.ours_label} | ratio | ratio vs issue's OZ | target | met? |"
        )
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|:---:|")
        for c in self.comparisons:
            ours, ratio, met = c.ours_value, c.ratio, c.met
            ours_text = "not built" if ours is None else _fmt(ours)
            met_text = "" if met is None else ("yes" if met else "**no**")
            lines.append(
                f"| {c.label} | {c.baseline_label} | {_fmt(c.baseline_value)} | {_fmt(c.issue_anchor)} | "
                f"{ours_text} | {_ratio(ratio)} | {_ratio(c.ratio_to_issue)} | {c.target_text} | {met_text} |"
            )
        if self.runs:
            lines += ["", "## Every transaction of the multi-transaction runs", ""]
            for run, by_impl in self.runs.items():
                lines.append(f"- {run}:")
                for impl, values in by_impl.items():
                    lines.append(f"  - {impl}: {', '.join(f'{v:,}' for v in values)}")
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self) -> tuple[Path, Path]:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        json_path = RESULTS_DIR / f"{self.name}.json"
        md_path = RESULTS_DIR / f"{self.name}.md"
        json_path.write_text(json.dumps(self.rows(), indent=2) + "\n")
        md_path.write_text(self.markdown())
        return json_path, md_path

    def publish(self) -> None:
        console = Console(width=160)
        console.print(self.table())
        for note in self.notes:
            console.print(f"• {note}", style="dim")
        json_path, md_path = self.write()
        console.print(f"wrote {json_path.relative_to(REPO_ROOT)} and {md_path.relative_to(REPO_ROOT)}")


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 1)


def paragraph(text: str) -> str:
    """A note written as an indented triple-quoted block, as one line of text."""
    return " ".join(text.split())


def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def environment(hardfork: str, artifacts: Sequence[Artifact], sources: Sequence[str]) -> dict[str, str]:
    """What produced the figures: chain, hardfork, compilers and the revision of `sources` (repo paths)."""
    env = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "chain": f"{anvil_version()} (npm @foundry-rs/anvil), --hardfork {hardfork}",
        "OpenZeppelin": f"@openzeppelin/contracts {openzeppelin_version()}",
    }
    for art in artifacts:
        env[art.name] = art.compiler
    env["sources"] = source_revision(sources)
    return env


def source_revision(paths: Sequence[str]) -> str:
    """The git commit the measured sources come from, and any tracked one that differs from it."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.rstrip("\n")

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [
        line[3:] for line in git("status", "--porcelain", "--untracked-files=no", "--", *paths).splitlines()
    ]
    if not dirty:
        return f"git {head}, no uncommitted changes in {', '.join(paths)}"
    return f"git {head} plus uncommitted changes in: {', '.join(sorted(dirty))}"
