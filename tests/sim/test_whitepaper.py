"""The committed whitepaper matches the parameters file and references only generated figures."""

from __future__ import annotations

import re

from clubchat.sim import whitepaper

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
