"""The one report writer of every benchmark, and the gas-comparison report of the gas benchmarks.

Every benchmark writes bench/results/<name>.json (rows `{"metric", "value", "unit", "target",
"better", "anchor", "n"}`) and bench/results/<name>.md through `write_report`, which checks the
rows before anything is written.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _harness.chain import anvil_version
from _harness.compile import Artifact, openzeppelin_version
from _harness.paths import REPO_ROOT, RESULTS_DIR

ROW_KEYS = ("metric", "value", "unit", "target", "better", "anchor", "n")


def check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise ValueError naming the first row that is not a report row (keys, `better`, number types)."""
    for i, row in enumerate(rows):
        where = f"row {i} ({row.get('metric', '?')!r})"
        if tuple(row) != ROW_KEYS:
            raise ValueError(f"{where} has keys {list(row)}; a report row has exactly {list(ROW_KEYS)}")
        if not isinstance(row["metric"], str) or not row["metric"]:
            raise ValueError(f"{where}: metric must be a non-empty string")
        if row["better"] not in ("lower", "higher"):
            raise ValueError(f"{where}: better must be 'lower' or 'higher', not {row['better']!r}")
        for key in ("value", "target"):
            value = row[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{where}: {key} must be a number{' or None' if key == 'target' else ''}")
        if row["value"] is None:
            raise ValueError(f"{where}: value must be a number")
        if isinstance(row["n"], bool) or not isinstance(row["n"], int) or row["n"] < 1:
            raise ValueError(
                f"{where}: n (how many measurements the value summarises) must be a positive int"
            )


def write_report(
    name: str, rows: Sequence[Mapping[str, Any]], markdown: str, results_dir: Path = RESULTS_DIR
) -> tuple[Path, Path]:
    """Write bench/results/<name>.json (the checked rows) and <name>.md (`markdown` as given)."""
    check_rows(rows)
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"{name}.json"
    md_path = results_dir / f"{name}.md"
    json_path.write_text(json.dumps(list(rows), indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path


@dataclass
class Comparison:
    """One operation measured on the baseline and on our contract (a run of n transactions each)."""

    operation: str
    baseline_label: str
    baseline: list[int]
    ours: list[int] | None
    target_gas: float | None = None
    target_text: str = ""
    issue_anchor: int | None = None
    statistic: str = "value"
    note: str = ""

    @staticmethod
    def reduce(values: list[int], statistic: str) -> float:
        if statistic in ("value", "first"):
            return float(values[0])
        if statistic == "each":
            if len(set(values)) != 1:
                raise ValueError("statistic 'each' needs a run of equal values")
            return float(values[0])
        if statistic == "median":
            return float(statistics.median(values))
        if statistic == "max":
            return float(max(values))
        if statistic == "min":
            return float(min(values))
        if statistic == "mean":
            return float(statistics.fmean(values))
        raise ValueError(f"unknown statistic {statistic}")

    @property
    def n(self) -> int:
        """How many transactions the reported figure summarises (1 for a single or the first one)."""
        return 1 if self.statistic in ("value", "first") else len(self.baseline)

    @property
    def baseline_value(self) -> float:
        return self.reduce(self.baseline, self.statistic)

    @property
    def ours_value(self) -> float | None:
        return None if self.ours is None else self.reduce(self.ours, self.statistic)

    @property
    def ratio(self) -> float | None:
        ours = self.ours_value
        return None if ours is None else ours / self.baseline_value

    @property
    def ratio_to_issue(self) -> float | None:
        """Ours against the specification's reference OZ figure (the 'issue's OZ' column)."""
        ours = self.ours_value
        return None if ours is None or self.issue_anchor is None else ours / self.issue_anchor

    @property
    def met(self) -> bool | None:
        ours = self.ours_value
        if ours is None or self.target_gas is None:
            return None
        return ours <= self.target_gas

    @property
    def label(self) -> str:
        if self.statistic == "value":
            return self.operation
        return f"{self.operation} ({self.statistic} of {len(self.baseline)})"


@dataclass
class Report:
    """A benchmark's results: the comparisons plus what the reader needs to reproduce and trust them."""

    name: str
    script: str
    title: str
    ours_label: str
    comparisons: list[Comparison] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    runs: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """bench/results/<name>.json rows: ours against the OZ figure measured here (the anchor), plus
        the OZ figure itself against the specification's reference figure where it gives one."""
        out: list[dict[str, Any]] = []
        for c in self.comparisons:
            ours = c.ours_value
            if ours is not None:
                out.append(
                    {
                        "metric": f"{self.ours_label}: {c.label}",
                        "value": _num(ours),
                        "unit": "gas",
                        "target": None if c.target_gas is None else _num(c.target_gas),
                        "better": "lower",
                        "anchor": _num(c.baseline_value),
                        "n": c.n,
                    }
                )
            out.append(
                {
                    "metric": f"{c.baseline_label}: {c.label}",
                    "value": _num(c.baseline_value),
                    "unit": "gas",
                    "target": None,
                    "better": "lower",
                    "anchor": c.issue_anchor,
                    "n": c.n,
                }
            )
        return out

    def table(self) -> Table:
        table = Table(title=self.title, show_lines=False)
        for header, justify in (
            ("operation", "left"),
            ("OZ baseline", "left"),
            ("OZ gas", "right"),
            ("issue's OZ", "right"),
            (self.ours_label, "right"),
            ("ratio", "right"),
            ("vs issue's", "right"),
            ("target", "right"),
            ("met?", "center"),
        ):
            table.add_column(header, justify=justify)  # type: ignore[arg-type]
        for c in self.comparisons:
            ours, ratio, met = c.ours_value, c.ratio, c.met
            table.add_row(
                c.label,
                c.baseline_label,
                _fmt(c.baseline_value),
                _fmt(c.issue_anchor),
                "not built" if ours is None else _fmt(ours),
                _ratio(ratio),
                _ratio(c.ratio_to_issue),
                c.target_text,
                "" if met is None else ("[green]yes[/]" if met else "[red]no[/]"),
            )
        return table

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        lines.append(
            "Receipt gas (`gasUsed`, including the 21,000 intrinsic gas and calldata) of signed transactions "
            "on one private anvil, each in its own block. Baseline and ours run the same scenario from the "
            "same chain state (anvil snapshots), with the same accounts and amounts."
        )
        lines.append("")
        lines.append(
            paragraph(
                """
                Columns: *ratio* is ours / the OZ figure measured here; *ratio vs issue's OZ* is ours / the
                OZ figure the issue author measured; *met?* compares ours with the target, where a target
                given as a multiple of OZ is applied to the OZ figure measured here.
                """
            )
        )
        lines += ["", f"Regenerate: `make bench` (or `.venv/bin/python {self.script}`).", ""]
        lines.append("## Environment")
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in self.environment.items()]
        lines += ["", "## Results", ""]
        lines.append(
            "| operation | OZ baseline | OZ gas (here) | OZ gas (issue) | "
            f"{self.ours_label} | ratio | ratio vs issue's OZ | target | met? |"
        )
        lines.append("|---|---|---:|---:|---:|---:|---:|---:|:---:|")
        for c in self.comparisons:
            ours, ratio, met = c.ours_value, c.ratio, c.met
            ours_text = "not built" if ours is None else _fmt(ours)
            met_text = "" if met is None else ("yes" if met else "**no**")
            lines.append(
                f"| {c.label} | {c.baseline_label} | {_fmt(c.baseline_value)} | {_fmt(c.issue_anchor)} | "
                f"{ours_text} | {_ratio(ratio)} | {_ratio(c.ratio_to_issue)} | {c.target_text} | {met_text} |"
            )
        if self.runs:
            lines += ["", "## Every transaction of the multi-transaction runs", ""]
            for run, by_impl in self.runs.items():
                lines.append(f"- {run}:")
                for impl, values in by_impl.items():
                    lines.append(f"  - {impl}: {', '.join(f'{v:,}' for v in values)}")
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self) -> tuple[Path, Path]:
        return write_report(self.name, self.rows(), self.markdown())

    def publish(self) -> None:
        console = Console(width=160)
        console.print(self.table())
        for note in self.notes:
            console.print(f"• {note}", style="dim")
        json_path, md_path = self.write()
        console.print(f"wrote {json_path.relative_to(REPO_ROOT)} and {md_path.relative_to(REPO_ROOT)}")


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 1)


def paragraph(text: str) -> str:
    """A note written as an indented triple-quoted block, as one line of text."""
    return " ".join(text.split())


def _ratio(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def environment(hardfork: str, artifacts: Sequence[Artifact], sources: Sequence[str]) -> dict[str, str]:
    """What produced the figures: chain, hardfork, compilers and the revision of `sources` (repo paths)."""
    env = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "chain": f"{anvil_version()} (npm @foundry-rs/anvil), --hardfork {hardfork}",
        "OpenZeppelin": f"@openzeppelin/contracts {openzeppelin_version()}",
    }
    for art in artifacts:
        env[art.name] = art.compiler
    env["sources"] = source_revision(sources)
    return env


def source_revision(paths: Sequence[str]) -> str:
    """The git commit the measured sources come from, and any tracked one that differs from it."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.rstrip("\n")

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = [
        line[3:] for line in git("status", "--porcelain", "--untracked-files=no", "--", *paths).splitlines()
    ]
    if not dirty:
        return f"git {head}, no uncommitted changes in {', '.join(paths)}"
    return f"git {head} plus uncommitted changes in: {', '.join(sorted(dirty))}"
