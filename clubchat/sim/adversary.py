"""An eclipse attacker on the real NodeRegistry (contracts in the loop): what it captures and earns.

The model prices relay attacks with the share f of RELAY selection weight an attacker needs: a
client draws k rendezvous relays, so a share f^k of users sees only the attacker's relays (global
harm), and one chosen user is caught within T daily draws with probability 1 - (1 - f^k)^T
(targeted harm, after the sampler fix). Here the attacker acts on the contracts instead: the
protocol is deployed in titanoboa by the deploy plan, honest operators and the attacker register
RELAY nodes with self-stake (the attacker holding `attacker_share` of RELAY stake over
`attacker_nodes` nodes), and every day (one registry epoch) the nodes beat, a keeper settles
Emission and finalises the registry's epoch, the epoch seed is recorded, and each victim draws its
k relays with `NodeRegistry.sample(RELAY, keccak256(victim), k)`. The result counts how often all k
draws were the attacker's, against the model's f^k and the exact probability of drawing without
replacement (what the registry does), and what the attacker's pools earned (claimed on chain)
against its stake share of everything the registry paid.

titanoboa is a development dependency: this module imports it lazily.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_canonical_address

from clubchat.params import WAD, Parameters
from clubchat.params import load as load_parameters
from clubchat.registry.kinds import RELAY
from clubchat.sim.dispute_replay import Network
from clubchat.sim.loop import set_registry_timing


def capture_probability(attacker: list[int], total: int, k: int) -> float:
    """P(k draws without replacement, proportional to weight, are all attacker nodes): the sum over
    ordered k-tuples of distinct attacker nodes of prod w_i / (total - weight drawn before)."""
    p = 0.0
    for order in itertools.permutations(attacker, k):
        q, left = 1.0, float(total)
        for w in order:
            q *= w / left
            left -= w
        p += q
    return p


@dataclass(frozen=True)
class EclipseResult:
    """What the attacker captured and earned over `epochs` daily draws of `victims` clients."""

    epochs: int
    victims: int
    k: int
    attacker_share: float  # of RELAY weight, as registered (whole CLUB)
    captured: int  # (victim, epoch) draws that were all the attacker's
    victims_caught: int  # victims captured at least once
    model_share: float  # f^k, the model's global harm
    exact_share: float  # without replacement, the registry's sampler
    attacker_earned: int  # wei claimed by the attacker's operators
    all_earned: int  # wei claimed by every operator

    @property
    def draws(self) -> int:
        return self.epochs * self.victims

    @property
    def captured_share(self) -> float:
        return self.captured / self.draws

    @property
    def standard_error(self) -> float:
        """Binomial standard error of `captured_share` around the exact probability."""
        return math.sqrt(self.exact_share * (1 - self.exact_share) / self.draws)

    @property
    def earned_share(self) -> float:
        return self.attacker_earned / self.all_earned if self.all_earned else 0.0

    def targeted(self) -> tuple[float, float]:
        """(victims caught at least once, 1 - (1 - exact)^epochs): the targeted attack's odds."""
        return self.victims_caught / self.victims, 1 - (1 - self.exact_share) ** self.epochs


def eclipse_replay(
    *,
    attacker_share: float = 0.5,
    attacker_nodes: int = 4,
    honest_nodes: int = 6,
    honest_stake: int = 50_000,
    epochs: int = 10,
    victims: int = 40,
    k: int = 2,
    params: Parameters | None = None,
) -> EclipseResult:
    """Deploy the protocol in the current boa environment and run the attacker (see the module doc).

    Run it inside `boa.env.anchor()` to leave no state behind. Stakes are whole CLUB per node; the
    attacker's nodes share its stake equally.
    """
    import boa

    params = params or load_parameters()
    if not 0 < attacker_share < 1:
        raise ValueError("attacker_share must be between 0 and 1")
    honest_total = honest_nodes * honest_stake
    per_attacker = round(attacker_share * honest_total / (1 - attacker_share) / attacker_nodes)
    minimum = params.registry.min_self_stake_per_kind_wei // WAD
    if per_attacker < minimum or honest_stake < minimum:
        raise ValueError(f"every node needs the minimum self-stake of {minimum} CLUB")

    net = Network(params, "adv")
    dep, registry, emission = net.dep, net.registry, net.dep["Emission"]
    timelock = net.timelock
    keeper = str(boa.env.generate_address("adv-keeper"))
    acting = net.acting

    def operator(name: str, stake: int) -> tuple[str, str]:
        return net.operator(name, stake, beat=False)

    honest = [operator(f"honest{i}", honest_stake) for i in range(honest_nodes)]
    attack = [operator(f"attacker{i}", per_attacker) for i in range(attacker_nodes)]
    # Keys beat once a day here: the heartbeat period is raised to two days, as in the replay loop.
    epoch = params.registry.epoch_seconds
    set_registry_timing(registry, timelock, heartbeat_seconds=2 * epoch, stream_seconds=epoch)
    attackers = {op for op, _ in attack}
    seeds = [
        keccak(to_canonical_address(str(boa.env.generate_address(f"adv-victim-{v}")))) for v in range(victims)
    ]
    captured, caught = 0, set()
    finaliser = acting(keeper)
    for _ in range(epochs):
        boa.env.time_travel(seconds=epoch)
        if int(emission.epochs_due()) > 0:
            with boa.env.prank(keeper):
                emission.advance()
        now = int(boa.env.evm.patch.timestamp)
        while now >= dep.genesis_time + (finaliser.epochs_finalised() + 1) * epoch:
            finaliser.finalize_epoch()
        finaliser.record_epoch_seed()
        for _, key in honest + attack:
            acting(key).heartbeat()
        for v, seed in enumerate(seeds):
            drawn = [str(a) for a in finaliser.sample(RELAY, seed, k)]
            if len(drawn) == k and set(drawn) <= attackers:
                captured += 1
                caught.add(v)
    earned = {}
    for op, _ in honest + attack:
        client = acting(op)
        earned[op] = client.claimed(client.claim(op))
    weights = [finaliser.weight(op) for op, _ in attack]
    total = sum(finaliser.weight(op) for op, _ in honest) + sum(weights)
    share = sum(weights) / total
    return EclipseResult(
        epochs=epochs,
        victims=victims,
        k=k,
        attacker_share=share,
        captured=captured,
        victims_caught=len(caught),
        model_share=share**k,
        exact_share=capture_probability(weights, total, k),
        attacker_earned=sum(earned[op] for op in attackers),
        all_earned=sum(earned.values()),
    )


def with_params(params: Parameters, **registry: Any) -> Parameters:
    """`params` with some `registry:` values replaced (e.g. a lower minimum self-stake)."""
    return dataclasses.replace(params, registry=dataclasses.replace(params.registry, **registry))
