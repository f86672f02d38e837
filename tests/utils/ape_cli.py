"""`ape run <script> ...` against an anvil a test starts, with the manifest `ape run deploy` wrote."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from web3 import Web3

from clubchat.chain.anvil import Anvil, free_port
from clubchat.deploy.run import ape_environment, ape_executable, ensure_compiled, run_ape_deploy
from clubchat.params import REPO_ROOT

NETWORK = "ethereum:local:foundry"
ApeChain = tuple[Anvil, Web3, Path]  # the anvil, web3 on it, the deployments directory


@contextmanager
def deployed_anvil(out: Path) -> Iterator[ApeChain]:
    """An anvil on a free loopback port, the protocol deployed by `ape run deploy` (manifest in `out`)."""
    node = Anvil(free_port())
    w3 = node.start()
    try:
        run_ape_deploy(node.url, extra_args=["--out-dir", str(out)], timeout=600)
        yield node, w3, out
    finally:
        node.stop()


def ape_run(chain: ApeChain, script: str, *args: str, ok: bool = True) -> str:
    """`ape run <script> <args>` on `chain`; asserts success (failure with `ok=False`); returns the output."""
    node, _, out = chain
    ensure_compiled()
    env = ape_environment(node.url)
    env["CLUBCHAT_DEPLOYMENTS_DIR"] = str(out)
    proc = subprocess.run(
        [str(ape_executable()), "run", script, *args, "--network", NETWORK],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == ok, output
    return output
