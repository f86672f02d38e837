"""clubchat.deploy.run: the environment an ape subprocess (or ape run deploy itself) gets."""

from __future__ import annotations

import os

from clubchat.deploy.run import add_repository_tools, ape_environment
from clubchat.params import REPO_ROOT

NODE_BIN = str(REPO_ROOT / "node_modules" / ".bin")
VVM = str(REPO_ROOT / ".venv" / "vvm")


def test_repository_tools_are_prepended_once() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    add_repository_tools(env)
    first = env["PATH"].split(os.pathsep)
    assert first[0] == NODE_BIN
    assert first[-2:] == ["/usr/bin", "/bin"]
    add_repository_tools(env)
    assert env["PATH"].split(os.pathsep) == first
    assert (REPO_ROOT / ".venv" / "vvm").is_dir(), "`make setup` links ape's vyper into .venv/vvm"
    assert env["VVM_BINARY_PATH"] == VVM


def test_a_vvm_path_already_set_is_kept() -> None:
    env = {"PATH": "", "VVM_BINARY_PATH": "/opt/vyper"}
    add_repository_tools(env)
    assert env["VVM_BINARY_PATH"] == "/opt/vyper"
    assert env["PATH"].split(os.pathsep)[0] == NODE_BIN


def test_ape_environment_targets_the_given_anvil_and_allows_bytecode_caching() -> None:
    base = {"PATH": "/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/root"}
    env = ape_environment("http://127.0.0.1:5555", base)
    assert env["APE_FOUNDRY_HOST"] == "http://127.0.0.1:5555"
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["HOME"] == "/root"
    assert base == {"PATH": "/bin", "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/root"}, "base is not mutated"
    assert "APE_FOUNDRY_HOST" not in ape_environment(None, base)
