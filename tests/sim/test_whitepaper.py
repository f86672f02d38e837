"""The committed whitepaper matches the parameters file and references only generated figures."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from clubchat.params import load as load_parameters
from clubchat.sim import loop, whitepaper
from clubchat.sim.whitepaper import facts, runs, text
from clubchat.sim.whitepaper.sections import validation

DOC = whitepaper.OUT_DIR / "whitepaper.md"


def test_committed_parameter_table_matches_the_parameters_file(params):
    committed = whitepaper.extract_parameters_table(DOC.read_text())
    assert committed == whitepaper.parameters_table(params), (
        "whitepaper/whitepaper.md is stale: run `make whitepaper` after changing deployments/parameters.yaml"
    )


def test_parameter_table_changes_when_a_parameter_changes(params):
    import dataclasses

    changed = dataclasses.replace(
        params, registry=dataclasses.replace(params.registry, unbonding_seconds=21 * 86400)
    )
    assert whitepaper.parameters_table(changed) != whitepaper.parameters_table(params)
    assert "21 days" in whitepaper.parameters_table(changed)


def test_every_referenced_figure_exists_and_nothing_is_left_unrendered():
    text = DOC.read_text()
    figures = re.findall(r"\]\((figures/[^)]+)\)", text)
    assert len(figures) >= 12
    for rel in figures:
        assert (whitepaper.OUT_DIR / rel).stat().st_size > 1000, rel
    body = re.sub(r"```.*?```", "", text, flags=re.S)
    leftovers = re.findall(r"[{}]|\bnan\b|\bNone\b|\binf\b", body)
    assert leftovers == [], "unrendered template text or undefined numbers in the whitepaper"
    for section in ("Token distribution", "Node economics", "Staking and slashing", "Governance",
                    "Attack-cost analysis", "Risks and open questions"):  # fmt: skip
        assert section in text


@pytest.fixture(scope="module")
def small_results() -> runs.Results:
    """The whitepaper's runs at a small size (every scenario and sweep, 1 simulated year)."""
    return runs.run_all(load_parameters(), runs=16, sweep_runs=4, years=1.0)


def test_the_facts_fill_every_placeholder_of_the_template() -> None:
    """Facts has exactly one field per `${name}` of template.md: none missing, none unused."""
    placeholders = set(text.template("template.md").get_identifiers())
    assert placeholders == {f.name for f in dataclasses.fields(facts.Facts)}
    assert set(text.template("validation.md").get_identifiers()) == {
        "loop_epochs",
        "staking",
        "verdict",
        "rel_tol",
        "loop_table",
    }


def test_computed_facts_render_a_complete_document(small_results: runs.Results) -> None:
    _, quorum_rows = runs.quorum_curves(small_results)
    appendix = validation.validation_skipped("not replayed in this test")
    computed = facts.compute(small_results, quorum_rows, appendix)
    empty = [f.name for f in dataclasses.fields(computed) if not getattr(computed, f.name).strip()]
    assert empty == []
    text = computed.render()
    assert re.findall(r"\$\{?[a-z_]+\}?", re.sub(r"\$[0-9]", "", text)) == []
    assert text.endswith("Not generated: not replayed in this test.\n")
    assert "## Appendix A. Protocol parameters" in text


def test_a_missing_fact_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError, match="runs"):
        text.template("template.md").substitute(seed="2026")


def test_float_noise_in_the_loop_table_prints_the_same_every_build() -> None:
    """One build printed 6.3e-16 and the next 0.0e+00 for the same row: noise below 1e-12 is one text."""
    chain = 5.1e24
    assert loop.relative_difference(chain, chain * (1 + 6.3e-16)) == loop.relative_difference(chain, chain)
    assert loop.relative_difference(chain, chain) == "< 1e-12"
    assert loop.relative_difference(chain, chain * (1 + 2e-9)) == "2.0e-09"


@pytest.mark.slow
@pytest.mark.timeout(900)  # two small builds: 6 min on a loaded 2-core machine
def test_two_builds_give_the_same_bytes(tmp_path: Path) -> None:
    """Figures, Markdown and HTML of two builds (contracts in the loop included) are byte-identical."""
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        whitepaper.build(out, runs=16, sweep_runs=4, years=1.0)
        outputs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0].keys() == outputs[1].keys()
    assert {Path("whitepaper.md"), Path("whitepaper.html")} <= outputs[0].keys()
    assert [p for p in outputs[0] if outputs[0][p] != outputs[1][p]] == []
