"""The split of a premium payment, exactly as `Premium.subscribe` computes it (for models and clients).

`split_payment(cost_wei, burn_bps)` returns (burn share, node share): the burn share rounded down,
the node share the rest, so the two always add up to the payment. `clubchat.sim` can take the
split from here (with `clubchat.params.load().premium.burn_bps`) instead of assuming one.
"""

from __future__ import annotations

BPS = 10_000


def split_payment(cost_wei: int, burn_bps: int) -> tuple[int, int]:
    """(wei set aside to burn, wei for node rewards) of a payment of `cost_wei`."""
    if cost_wei < 0 or not 0 <= burn_bps <= BPS:
        raise ValueError("cost must be >= 0 and burn_bps between 0 and 10000")
    burn = cost_wei * burn_bps // BPS
    return burn, cost_wei - burn


def subscription_cost(price_per_period_wei: int, periods: int) -> int:
    """What `subscribe` charges for `periods` periods."""
    return price_per_period_wei * periods
