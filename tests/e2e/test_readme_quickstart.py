"""The README's loopback quickstart, run verbatim: the doc cannot drift.

The ```sh quickstart block of README.md is extracted and run by bash with `set -eux`, from the
repository root, with only its port numbers replaced by free ones (8545, the three node ports,
coturn's port and relay range) and the manifests written to a temporary directory
(CLUBCHAT_DEPLOYMENTS_DIR). Every background process the block starts lives in the session this
test starts and is killed with it. The test then checks what each step printed: the funding, the
registrations, the call's report, the message, the keeper's tips and the operator's claim.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from clubchat.chain.anvil import free_port
from clubchat.deploy.run import ensure_compiled
from clubchat.node.localnet import free_port_range
from clubchat.params import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

README = REPO_ROOT / "README.md"
FENCE = re.compile(r"^```sh quickstart\n(.*?)^```$", re.S | re.M)


def quickstart_block() -> str:
    blocks = FENCE.findall(README.read_text())
    assert len(blocks) == 1, "README.md must hold exactly one ```sh quickstart block"
    return str(blocks[0])


def free_ports(block: str) -> tuple[str, dict[int, int]]:
    """The block with its fixed ports replaced by free ones (coturn's range kept contiguous)."""
    turn_base = free_port_range(42)
    mapping = {49160: turn_base + 1, 49200: turn_base + 41, 3478: turn_base}
    for port in (8545, 9101, 9102, 9103):
        mapping[port] = free_port()
    for old in mapping:
        assert re.search(rf"\b{old}\b", block), f"the quickstart no longer uses port {old}"
    out = re.sub(
        r"\b(8545|9101|9102|9103|3478|49160|49200)\b", lambda m: str(mapping[int(m.group(1))]), block
    )
    return out, mapping


def test_readme_quickstart_runs_verbatim(tmp_path: Path) -> None:
    # The block's own `ape run deploy` compiles nothing then, whatever other workers run beside it.
    ensure_compiled()
    script, _ = free_ports(quickstart_block())
    (tmp_path / "quickstart.sh").write_text("set -eux\n" + script)
    deployments = tmp_path / "deployments"
    deployments.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLUB_", "APE_FOUNDRY"))},
        "CLUBCHAT_DEPLOYMENTS_DIR": str(deployments),
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        ["bash", str(tmp_path / "quickstart.sh")],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=1100)
    finally:
        # the background jobs (anvil, nodes, listener) share the session this test started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    (tmp_path / "quickstart.log").write_text(output)
    failed_step = [line for line in output.splitlines() if line.startswith("+ ")][-1:]
    assert proc.returncode == 0, f"the quickstart stopped at {failed_step}:\n{output[-6000:]}"

    assert "sent 20,000 CLUB and 1 ETH to 0x5d5c99EdF529335160FF180fA141Dd4967fc00D2" in output
    registered = [
        json.loads(line) for line in output.splitlines() if line.startswith('{"event": "registered"')
    ]
    assert [r["stake"] for r in registered] == ["20,000 CLUB", "20,000 CLUB", "10,000 CLUB"]
    report = json.loads(output[output.index('{\n  "connected"') :].split("\n}\n")[0] + "\n}")
    assert report["connected"] is True
    assert report["file_sha256_match"] is True
    message = next(json.loads(line) for line in output.splitlines() if line.startswith('{"id"'))
    assert message["status"] in ("delivered", "stored")
    assert re.search(r"Emission: settled 1 emission epoch, minted [\d,.]+ CLUB; tip 10 CLUB", output)
    assert re.search(
        r"NodeRegistry: finalised reward epoch 0, [\d,.]+ CLUB to node pools; tip 5 CLUB", output
    )
    claimed = re.search(r"claimed ([\d,.]+) CLUB from 0x5d5c99EdF529335160FF180fA141Dd4967fc00D2", output)
    assert claimed and float(claimed.group(1).replace(",", "")) > 0, output[-3000:]
