"""An installed wheel works without the checkout: parameters, contracts and interfaces travel in it.

The wheel is built with the project's real build configuration (hatchling through uv, as
`pip install .` would), unpacked into a temporary directory and imported from there, in a
working directory outside the repository, so nothing can be read from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clubchat.params import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _uv() -> str:
    found = shutil.which("uv") or str(REPO_ROOT / ".cache" / "uv-bootstrap" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv not found: run `make setup` (it bootstraps uv)")
    return found


def test_installed_wheel_deploys_from_its_own_data(tmp_path):
    subprocess.run(
        [_uv(), "build", "--wheel", "-o", str(tmp_path / "dist"), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    (wheel,) = (tmp_path / "dist").glob("clubchat-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    assert "clubchat/_data/deployments/parameters.yaml" in names
    assert "clubchat/_data/interfaces/INodeRegistry.vyi" in names
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import clubchat, clubchat.params as p\n"
        "from clubchat.deploy.boa_backend import deployer_for\n"
        "print(clubchat.__file__)\n"
        "print(p.DATA_ROOT)\n"
        "print(p.load().token.symbol)\n"
        "print(type(deployer_for('Emission')).__name__)\n"
        # contracts in the loop, registry agents included, from the installed package
        "from clubchat.sim import loop\n"
        "res = loop.replay('baseline', epochs=1)\n"
        "print(len(res.rows), res.staking_in_loop, len(res.mismatches()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert out[0] == str(site / "clubchat" / "__init__.py")
    assert out[1] == str(site / "clubchat" / "_data")
    assert out[2:] == ["CLUB", "VyperDeployer", "1", "True", "0"]
