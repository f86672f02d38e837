"""Where the benchmarks read and write: repository paths, the npm tools and the results directory."""

from __future__ import annotations

from clubchat.params import REPO_ROOT

BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
SOLIDITY_DIR = BENCH_DIR / "solidity"
BUILD_DIR = REPO_ROOT / ".build" / "bench"
NODE_MODULES = REPO_ROOT / "node_modules"


class BenchError(RuntimeError):
    """A benchmark could not run; the message says what to fix."""
