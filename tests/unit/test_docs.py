"""The docs name what the tree holds: README's layout lists every package, script and benchmark,
bench/README.md every benchmark, and no doc points to a numbered issue a reader cannot open."""

from __future__ import annotations

import re

import pytest

from clubchat.params import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
LAYOUT = README[README.index("## Layout") : README.index("## Parameters")]
BENCHMARKS = sorted(p.name for p in (REPO_ROOT / "bench").glob("bench_*.py"))
SCRIPTS = sorted(p.name for p in (REPO_ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))
PACKAGES = sorted(p.parent.name for p in (REPO_ROOT / "clubchat").glob("*/__init__.py"))


@pytest.mark.parametrize("name", BENCHMARKS)
def test_every_benchmark_is_listed(name: str) -> None:
    assert name in LAYOUT, f"README.md's layout does not list bench/{name}"
    assert f"`{name}`" in (REPO_ROOT / "bench" / "README.md").read_text(), f"bench/README.md lacks {name}"


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_is_listed(name: str) -> None:
    assert name in LAYOUT, f"README.md's layout does not list scripts/{name}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_is_listed(name: str) -> None:
    assert f"{name}/" in LAYOUT, f"README.md's layout does not list clubchat/{name}/"


def test_architecture_page_exists_and_is_linked() -> None:
    assert (REPO_ROOT / "docs" / "architecture.md").is_file()
    assert "docs/architecture.md" in LAYOUT


def test_no_doc_points_to_a_numbered_issue_or_outside_notes() -> None:
    numbered = re.compile(r"\bissue\s*#?\d+|\bissues?/\d+|\.\./shared|shared notes", re.IGNORECASE)
    files = [
        REPO_ROOT / "README.md",
        *(REPO_ROOT / "docs").rglob("*.md"),
        REPO_ROOT / "bench" / "README.md",
        *(REPO_ROOT / "clubchat").rglob("*.py"),
        *(REPO_ROOT / "clubchat").rglob("*.md"),
        *(REPO_ROOT / "scripts").rglob("*.py"),
        *(REPO_ROOT / "bench").glob("*.py"),
        *(REPO_ROOT / "bench" / "_harness").glob("*.py"),
        *(REPO_ROOT / "contracts").rglob("*.vy"),
        *(REPO_ROOT / "interfaces").glob("*.vyi"),
    ]
    hits = [
        f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if numbered.search(line)
    ]
    assert hits == []
