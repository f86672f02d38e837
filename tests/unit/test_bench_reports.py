"""Every benchmark writes its report through the one writer, `bench/_harness/report.py:write_report`,
and every committed report is made of rows {"metric", "value", "unit", "target", "better", "anchor", "n"}."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from clubchat.params import REPO_ROOT

BENCH = REPO_ROOT / "bench"
BENCHMARKS = sorted(BENCH.glob("bench_*.py"))


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/_harness/report.py, imported the way a benchmark script imports it (bench/ on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    import _harness.report

    return _harness.report


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "metric": "transfer",
        "value": 51_000,
        "unit": "gas",
        "target": None,
        "better": "lower",
        "anchor": 52_000,
        "n": 1,
    }
    row.update(changes)
    return row


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_each_benchmark_writes_only_through_the_report_writer(script: Path) -> None:
    source = script.read_text()
    assert ".write_text(" not in source and "json.dump" not in source, f"{script.name} writes a file itself"
    assert "write_report(" in source or ".publish()" in source, f"{script.name} does not write a report"


@pytest.mark.parametrize("results", sorted((BENCH / "results").glob("*.json")), ids=lambda p: p.name)
def test_committed_reports_are_report_rows(report: ModuleType, results: Path) -> None:
    rows = json.loads(results.read_text())
    assert rows, f"{results.name} is empty"
    report.check_rows(rows)


def test_every_benchmark_has_a_committed_report() -> None:
    written = {p.stem for p in (BENCH / "results").glob("*.json")}
    names = {s.stem.removeprefix("bench_") for s in BENCHMARKS}
    assert names == written


def test_write_report_writes_rows_and_markdown(report: ModuleType, tmp_path: Path) -> None:
    json_path, md_path = report.write_report("demo", [_row()], "# demo\n", results_dir=tmp_path)
    assert json.loads(json_path.read_text()) == [_row()]
    assert json_path.read_text().endswith("]\n")
    assert md_path.read_text() == "# demo\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in _row().items() if k != "anchor"}, "has keys"),
        (_row(better="smaller"), "better must be 'lower' or 'higher'"),
        (_row(value="51000"), "value must be a number"),
        (_row(value=None), "value must be a number"),
        (_row(n=0), "n (how many measurements"),
        (_row(target=True), "target must be a number or None"),
    ],
)
def test_write_report_rejects_a_bad_row_and_writes_nothing(
    report: ModuleType, tmp_path: Path, row: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("'", "'")):
        report.write_report("demo", [_row(), row], "# demo\n", results_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
