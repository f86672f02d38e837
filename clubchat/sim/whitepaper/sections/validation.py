"""Appendix F: the baseline replayed on the real contracts (contracts in the loop, titanoboa)."""

from __future__ import annotations

from clubchat.params import WAD
from clubchat.sim.whitepaper.text import club, table, template

LOOP_EPOCHS = 26


def _wei_difference(chain: int, exact: int) -> str:
    return "equal to the wei" if chain == exact else f"differs by {chain - exact:+,} wei"


def validation_skipped(reason: str) -> str:
    """Appendix F when the contracts are not replayed, saying why."""
    return template("validation-skipped.md").substitute(reason=reason)


def validation_appendix() -> str:
    """Appendix F: model vs contracts (contracts in the loop, titanoboa), when titanoboa is installed."""
    try:
        import boa
    except ImportError:
        return validation_skipped("titanoboa is not installed (`make setup`)")
    from clubchat.sim import loop

    with boa.env.anchor():
        result = loop.replay("baseline", epochs=LOOP_EPOCHS, seed=0)
    last = result.frame().iloc[-1]
    keys = loop.KEYS + (loop.STAKING_KEYS if result.staking_in_loop else ())
    rows = []
    for k in keys:
        chain, model_value = float(last[f"{k}_chain"]), float(last[f"{k}_model"])
        exact = last.get(f"{k}_exact")
        rows.append(
            [
                k.replace("_", " "),
                club(chain / WAD),
                club(model_value / WAD),
                loop.relative_difference(chain, model_value),
                "-" if exact is None else _wei_difference(int(last[f"{k}_chain"]), int(exact)),
            ]
        )
    verdict = "agree within tolerance" if not result.mismatches() else "DISAGREE (see tests/sim)"
    staking = (
        "Operators (one per node kind and one serving RELAY and NOTIFY) and delegators act on "
        "`NodeRegistry` as the model's run says; what each claims is predicted by the model's rule "
        "(each kind's stream pro rata to weight / number of declared kinds) and by the exact mirror "
        "of the registry's reward accounting."
        if result.staking_in_loop
        else "`NodeRegistry` is not part of the deployment yet, so staking is not in the loop."
    )
    from clubchat.sim.whitepaper.sections.policing import policing_replay_text

    appendix = template("validation.md").substitute(
        loop_epochs=LOOP_EPOCHS,
        staking=staking,
        verdict=verdict,
        rel_tol=format(loop.REL_TOL, "g"),
        loop_table=table(
            ["quantity", "contracts", "model", "relative difference", "exact mirror vs contracts"], rows
        ),
    )
    from clubchat.sim import ads_replay  # the ad market's campaigns and settlements, to the wei

    ads = ads_replay.report_markdown(ads_replay.replay_with_report(days=7, users=20))
    from clubchat.sim import premium_replay  # subscriptions, gifts and creation fees, to the wei
    from clubchat.sim.whitepaper.sections.sybil import sybil_replay_text

    premium = premium_replay.report_markdown(premium_replay.replay_with_report(days=7))
    parts = (appendix, ads, premium, sybil_replay_text(), policing_replay_text())
    return "\n".join(parts) + "\n"
