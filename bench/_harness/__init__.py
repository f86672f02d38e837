"""Shared machinery of the benchmarks: compile, run on a private anvil, measure receipts, report.

Every gas benchmark compares an OpenZeppelin 5 baseline (compiled with the npm `solc` package) with the
Club Chat Vyper contract on the same EVM: one anvil started on a free loopback port for the run and
stopped afterwards. Operations are real signed transactions, each mined in its own block with a fresh
timestamp, and the figure reported is the receipt's `gasUsed` (it includes the 21,000 intrinsic gas and
the calldata cost). Implementations start from identical chain state: each one runs inside an anvil
snapshot taken before its first deployment, so the same deployer nonce gives the same contract
addresses, and every scenario runs from a snapshot of the same post-setup state.

The parts, one module each:

- `paths`   — repository paths, the results directory, `BenchError`;
- `compile` — solcjs and vyper compilation into `Artifact`s;
- `chain`   — `anvil()` (a `clubchat.chain.anvil.Anvil` at a fixed genesis time) and `Chain` (web3 with
  named accounts, snapshots and measured transactions);
- `report`  — `write_report`, the one writer of bench/results/<name>.json and .md for every benchmark,
  and `Report` / `Comparison`, the baseline-vs-ours table of the gas benchmarks.

The EVM version is the project's one constant, `clubchat.deploy.backend.EVM_VERSION`.
"""

from _harness.chain import (
    ANVIL_MNEMONIC,
    BLOCK_INTERVAL,
    CALL_GAS_LIMIT,
    GENESIS_TIMESTAMP,
    Chain,
    anvil,
    anvil_version,
    eip712_domain,
)
from _harness.compile import (
    SOLC_OPTIMIZER_RUNS,
    Artifact,
    compile_solidity,
    compile_vyper,
    openzeppelin_version,
    solc_version,
)
from _harness.paths import (
    BENCH_DIR,
    BUILD_DIR,
    NODE_MODULES,
    REPO_ROOT,
    RESULTS_DIR,
    SOLIDITY_DIR,
    BenchError,
)
from _harness.report import (
    ROW_KEYS,
    Comparison,
    Report,
    check_rows,
    environment,
    paragraph,
    source_revision,
    write_report,
)
from clubchat.deploy.backend import EVM_VERSION

__all__ = [
    "ANVIL_MNEMONIC",
    "BENCH_DIR",
    "BLOCK_INTERVAL",
    "BUILD_DIR",
    "CALL_GAS_LIMIT",
    "EVM_VERSION",
    "GENESIS_TIMESTAMP",
    "NODE_MODULES",
    "REPO_ROOT",
    "RESULTS_DIR",
    "ROW_KEYS",
    "SOLC_OPTIMIZER_RUNS",
    "SOLIDITY_DIR",
    "Artifact",
    "BenchError",
    "Chain",
    "Comparison",
    "Report",
    "anvil",
    "anvil_version",
    "check_rows",
    "compile_solidity",
    "compile_vyper",
    "eip712_domain",
    "environment",
    "openzeppelin_version",
    "paragraph",
    "solc_version",
    "source_revision",
    "write_report",
]
