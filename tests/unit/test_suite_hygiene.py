"""The suite's own rules: markers registered once (pyproject.toml), real-process and load tests marked
so that `make unit` leaves them out (`make test` leaves out the heavy `slow` variants; `make deep`
runs all), and every expected revert names its reason."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from clubchat.params import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# This file names the patterns it looks for; it is not checked against them.
TEST_FILES = sorted(p for p in TESTS.rglob("*.py") if p != Path(__file__).resolve())
# Markers pytest or its plugins define; every other marker must be registered in pyproject.toml.
BUILTIN_MARKERS = {"parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "timeout"}
# Names whose use starts a long-lived OS process (anvil, coturn, a node, the local network, ape);
# a compiler run to completion (`subprocess.run`) is not one.
PROCESS_STARTERS = re.compile(
    r"\b(Anvil\(|local_network|NodeProcess\(|CoturnSupervisor\(|subprocess\.Popen"
    r"|from tests\.node\.chain_env)"
)
DESELECTED_BY_UNIT = ("integration", "slow")


def _registered_markers() -> set[str]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return {m.split(":")[0].strip() for m in config["tool"]["pytest"]["ini_options"]["markers"]}


def _source(path: Path) -> str:
    return path.read_text()


def test_markers_are_registered_only_in_pyproject() -> None:
    assert [str(p.relative_to(REPO_ROOT)) for p in TEST_FILES if "addinivalue_line(" in _source(p)] == []


def test_every_marker_used_is_registered() -> None:
    used = {m for p in TEST_FILES for m in re.findall(r"pytest\.mark\.(\w+)", _source(p))}
    assert used - BUILTIN_MARKERS <= _registered_markers()
    assert set(DESELECTED_BY_UNIT) <= _registered_markers()


def test_make_unit_deselects_process_and_load_tests() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    unit = re.search(r"^unit:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert unit is not None
    assert '-m "not integration and not slow"' in unit.group(1)
    test = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert test is not None and '-m "not slow"' in test.group(1), "`make test` skips only slow"
    deep = re.search(r"^deep:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert deep is not None and " -m " not in deep.group(1), "`make deep` runs everything"


def test_every_module_that_starts_a_process_is_marked() -> None:
    """A test module that starts anvil, coturn, a node process or ape marks those tests integration/slow."""
    unmarked = [
        str(p.relative_to(REPO_ROOT))
        for p in TEST_FILES
        if p.name.startswith("test_")
        and PROCESS_STARTERS.search(_source(p))
        and not any(f"pytest.mark.{m}" in _source(p) for m in DESELECTED_BY_UNIT)
    ]
    assert unmarked == []


def test_every_expected_revert_names_its_reason() -> None:
    bare = [
        f"{p.relative_to(REPO_ROOT)}:{n}"
        for p in TEST_FILES
        for n, line in enumerate(_source(p).splitlines(), 1)
        if "boa.reverts()" in line
    ]
    assert bare == []
