"""clubchat.deploy.run.ensure_compiled: `.build` follows the contract sources, compiled once under a lock.

A fake `ape` (a shell script) stands in for ape: it records each call and writes a `.build`
whose content names the source it saw, so the tests can tell a fresh build from a stale one.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from clubchat.deploy import run
from clubchat.deploy.run import ApeDeployError, contract_sources_digest, ensure_compiled

FAKE_APE = """#!/bin/sh
echo "$@" >> "{calls}"
sleep 0.2
mkdir -p .build
cat contracts/A.vy > .build/__local__.json
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "contracts").mkdir(parents=True)
    (root / "interfaces").mkdir()
    (root / "contracts" / "A.vy").write_text("# version 1\n")
    (root / "interfaces" / "IA.vyi").write_text("def f(): ...\n")
    (root / "ape-config.yaml").write_text("name: x\n")
    ape = tmp_path / "ape"
    ape.write_text(FAKE_APE.format(calls=tmp_path / "calls"))
    ape.chmod(0o755)
    monkeypatch.setattr(run, "ape_executable", lambda: ape)
    return root


def calls(project: Path) -> list[str]:
    path = project.parent / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_the_first_call_compiles_and_the_second_does_not(project: Path) -> None:
    assert ensure_compiled(root=project) is True
    assert ensure_compiled(root=project) is False
    assert calls(project) == ["compile"]
    assert (project / ".build.sources").read_text().strip() == contract_sources_digest(project)


def test_a_stale_build_from_before_a_source_change_is_replaced(project: Path) -> None:
    ensure_compiled(root=project)
    (project / ".build" / "leftover.json").write_text("{}")
    (project / "contracts" / "A.vy").write_text("# version 2\n")
    assert ensure_compiled(root=project) is True
    assert (project / ".build" / "__local__.json").read_text() == "# version 2\n"
    assert not (project / ".build" / "leftover.json").exists(), "the old .build is removed, not patched"


def test_a_build_without_a_recorded_digest_is_not_trusted(project: Path) -> None:
    (project / ".build").mkdir()
    (project / ".build" / "__local__.json").write_text("old abi")
    assert ensure_compiled(root=project) is True
    assert (project / ".build" / "__local__.json").read_text() == "# version 1\n"


@pytest.mark.parametrize("changed", ["interfaces/IA.vyi", "ape-config.yaml", "contracts/sub/B.vy"])
def test_interfaces_config_and_new_contracts_count_as_sources(project: Path, changed: str) -> None:
    before = contract_sources_digest(project)
    path = project / changed
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(path.read_text() + "# edit\n" if path.exists() else "# new\n")
    assert contract_sources_digest(project) != before


def test_concurrent_callers_compile_once(project: Path) -> None:
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_compiled(root=project))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert calls(project) == ["compile"]


def test_a_failed_compile_raises_and_records_no_digest(project: Path, tmp_path: Path) -> None:
    (tmp_path / "ape").write_text("#!/bin/sh\necho 'vyper: syntax error' >&2\nexit 3\n")
    with pytest.raises(ApeDeployError, match=r"code 3:\nvyper: syntax error"):
        ensure_compiled(root=project)
    assert not (project / ".build.sources").exists()
