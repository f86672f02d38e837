"""The deployment chapter of `club demo`: every contract of the manifest with its deployment block."""

from __future__ import annotations

from clubchat.demo.context import DemoContext, table


def chapter_deployment(ctx: DemoContext) -> None:
    """Deployment: every contract of the manifest with its deployment block."""
    out = table("Deployment (deployments/local.json)", "contract", "address", "block", right=(2,))
    for name, record in sorted(ctx.manifest.contracts.items(), key=lambda item: item[1].block):
        out.add_row(name, record.address, str(record.block))
    ctx.console.print(out)
    ctx.report["deployment"] = {
        "chain_id": ctx.manifest.chain_id,
        "block": ctx.manifest.block,
        "contracts": {name: r.address for name, r in ctx.manifest.contracts.items()},
        "treasury": ctx.manifest.treasury,
    }
