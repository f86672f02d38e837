"""Generate the token whitepaper (whitepaper/whitepaper.md, .html and figures/) from the model and parameters.

Every number and figure in the document is computed from deployments/parameters.yaml
(`clubchat.params.load()`), the assumptions of `clubchat.sim.parameters.SimParams` and seeded
Monte Carlo runs of `clubchat.sim`; nothing numeric is typed into the prose. The parts:

- `runs`         — the seeded Monte Carlo runs and sweeps the document reads;
- `figures`      — the figures, drawn from those runs;
- `facts`        — `Facts`, every number and table of the text, computed from those runs;
- `sections`     — the fields of sections with their own runs (what changed, kinds, Appendix F);
- `template.md`  — the prose with `${name}` placeholders, filled from `Facts` (`string.Template`);
- `params_table` — Appendix A between markers, so a test can check the committed document
  against the parameters file.

Regenerate with `club sim whitepaper`, `make whitepaper` or `python -m clubchat.sim.whitepaper`.
Two builds give the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clubchat.params import REPO_ROOT
from clubchat.params import load as load_parameters
from clubchat.sim.whitepaper import facts, figures
from clubchat.sim.whitepaper.params_table import (
    PARAM_BEGIN,
    PARAM_END,
    extract_parameters_table,
    parameters_table,
)
from clubchat.sim.whitepaper.runs import quorum_curves, run_all
from clubchat.sim.whitepaper.sections import validation

OUT_DIR = REPO_ROOT / "whitepaper"

__all__ = [
    "OUT_DIR",
    "PARAM_BEGIN",
    "PARAM_END",
    "build",
    "extract_parameters_table",
    "main",
    "parameters_table",
    "write_html",
]


def build(
    out_dir: Path = OUT_DIR,
    runs: int = 1000,
    sweep_runs: int = 300,
    years: float = 5.0,
    *,
    contracts_in_the_loop: bool = True,
) -> Path:
    """Run the model, draw the figures, fill the template; write whitepaper.md and .html under `out_dir`.

    `contracts_in_the_loop=False` leaves Appendix F out of the replay (it says so in the text); the
    committed document is always built with it.
    """
    res = run_all(load_parameters(), runs, sweep_runs, years)
    curves, quorum_rows = quorum_curves(res)
    figures.draw_all(res, curves, out_dir / "figures")
    appendix = (
        validation.validation_appendix()
        if contracts_in_the_loop
        else validation.validation_skipped(
            "this build was asked to skip the replay (contracts_in_the_loop=False)"
        )
    )
    text = facts.compute(res, quorum_rows, appendix).render()
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / "whitepaper.md"
    md_path.write_text(text)
    write_html(text, out_dir / "whitepaper.html")
    return md_path


def write_html(markdown: str, path: Path) -> None:
    """HTML next to the Markdown (markdown-it, installed with rich)."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>CLUB token whitepaper</title>"
        "<style>body{max-width:60em;margin:auto;font-family:sans-serif;line-height:1.5}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "img{max-width:100%}</style></head><body>\n" + html + "</body></html>\n"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--sweep-runs", type=int, default=300)
    ap.add_argument("--years", type=float, default=5.0)
    args = ap.parse_args(argv)
    path = build(args.out, runs=args.runs, sweep_runs=args.sweep_runs, years=args.years)
    print(f"wrote {path}")
