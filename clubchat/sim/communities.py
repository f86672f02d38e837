"""Community creation in the model: communities follow users, and each creation burns the fee.

`Communities.create` burns the governance-set creation fee (`communities.creation_fee` in
parameters.yaml, CLUB). The model keeps a stock of live communities that tends to
`communities_per_user` x DAU; each day creators make up the shortfall against that target plus
the communities abandoned that day (`community_turnover` a year of the stock), buying the fee's
CLUB on the market like every other payment (the supply block scales all purchases by the same
market-depth factor, so creations the market cannot serve wait for a later day). Both rates are
assumptions (clubchat.sim.parameters gives their reasons). The fee does not deter creation in the
model: at 100 CLUB it is a few USD against the effort of starting a community.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clubchat.sim.parameters import YEAR_DAYS, SimParams

Array = Any  # numpy scalar or ndarray, as in clubchat.sim.model
State = dict[str, Array]
Signals = dict[str, Array]


def abandoned(p: SimParams, stock: Array) -> Array:
    """Communities abandoned per day."""
    return stock * p.community_turnover / YEAR_DAYS


def wanted(p: SimParams, s: State) -> Array:
    """Communities creators want to create today: the shortfall of the stock against
    `communities_per_user` x DAU (today's users) plus the day's abandoned ones."""
    stock = s["communities"]
    return np.maximum(s["users"] * p.communities_per_user - stock, 0.0) + abandoned(p, stock)


def u_communities(p: SimParams, ctx: Any, s: State, sig: Signals) -> Array:
    return s["communities"] - abandoned(p, s["communities"]) + sig["created"]


def u_communities_created(p: SimParams, ctx: Any, s: State, sig: Signals) -> Array:
    return s["communities_created"] + sig["created"]


def u_burned_creation(p: SimParams, ctx: Any, s: State, sig: Signals) -> Array:
    return s["burned_creation"] + sig["created"] * p.community_creation_fee
