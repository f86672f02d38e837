"""Typed view of `deployments/parameters.yaml`, the single file of protocol tunables.

Deploy, tests, simulation and whitepaper all call `load()`; nothing else in the
repository hard-codes these values. Amounts are converted to wei here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

WAD = 10**18
BPS = 10_000
DAY = 86_400
HOUR = 3_600
# Emission's bound on the bootstrap guard's length (MAX_BOOTSTRAP_EPOCHS in Emission.vy).
MAX_BOOTSTRAP_EPOCHS = 520

REPO_ROOT = Path(__file__).resolve().parent.parent
# Contracts, interfaces and the default parameters: read from the checkout when running from
# one; an installed wheel carries copies under clubchat/_data (pyproject's force-include), so
# deploy, contracts-in-the-loop and the whitepaper's parameter table work without a checkout.
DATA_ROOT = REPO_ROOT if (REPO_ROOT / "contracts").is_dir() else Path(__file__).resolve().parent / "_data"
DEFAULT_PATH = DATA_ROOT / "deployments" / "parameters.yaml"


class ParameterError(ValueError):
    """The parameters file is inconsistent; the message says which key to fix."""


@dataclass(frozen=True)
class TokenParams:
    name: str
    symbol: str
    decimals: int
    cap_wei: int
    eip712_version: str


@dataclass(frozen=True)
class VestingAllocation:
    name: str
    amount_wei: int
    cliff_seconds: int
    duration_seconds: int
    revocable: bool


@dataclass(frozen=True)
class GenesisParams:
    treasury_wei: int
    liquidity_wei: int
    vesting: tuple[VestingAllocation, ...]

    @property
    def vesting_total_wei(self) -> int:
        return sum(a.amount_wei for a in self.vesting)

    @property
    def total_wei(self) -> int:
        """Everything minted at genesis (treasury + liquidity + vesting)."""
        return self.treasury_wei + self.liquidity_wei + self.vesting_total_wei


@dataclass(frozen=True)
class EmissionReceiver:
    name: str
    weight_bps: int


@dataclass(frozen=True)
class EmissionParams:
    epoch_seconds: int
    rate_per_epoch_wad: int
    tip_wei: int
    receivers: tuple[EmissionReceiver, ...]
    # Bootstrap guard: node rewards per epoch <= multiple x sqrt(whole CLUB staked), for the
    # first `bootstrap_epochs` epochs (wei per sqrt(CLUB); epochs).
    bootstrap_multiple_wei: int
    bootstrap_epochs: int


@dataclass(frozen=True)
class GovernanceParams:
    voting_delay_seconds: int
    voting_period_seconds: int
    proposal_threshold_bps: int
    quorum_numerator: int
    quorum_denominator: int
    late_quorum_extension_seconds: int
    timelock_delay_seconds: int
    grace_period_seconds: int


@dataclass(frozen=True)
class RegistryParams:
    kinds: dict[str, int]
    min_self_stake_per_kind_wei: int
    saturation_multiple: int
    unbonding_seconds: int
    heartbeat_seconds: int
    epoch_seconds: int
    commission_max_bps: int
    commission_max_change_bps: int
    commission_delay_seconds: int
    finalize_tip_wei: int
    # The split of the reward stream between RELAY, TURN and NOTIFY (bps, summing to 10,000).
    kind_reward_bps: tuple[int, int, int]


@dataclass(frozen=True)
class CommunitiesParams:
    creation_fee_wei: int


@dataclass(frozen=True)
class PremiumTier:
    """One tier's limits (relays enforce them) and prices; tier numbers follow list order (0 = free)."""

    name: str
    max_message_bytes: int
    max_file_bytes: int
    max_call_seconds: int
    mailbox_quota_bytes: int
    price_wei: int  # per period; 0: not sold
    lock_wei: int  # lock that gives the tier; 0: not reachable by a lock

    @property
    def limits(self) -> tuple[int, int, int, int]:
        """The contract's `limits` argument: message bytes, file bytes, call seconds, mailbox bytes."""
        return (self.max_message_bytes, self.max_file_bytes, self.max_call_seconds, self.mailbox_quota_bytes)


@dataclass(frozen=True)
class PremiumParams:
    period_seconds: int
    burn_bps: int
    unlock_delay_seconds: int
    tiers: tuple[PremiumTier, ...]


# Longest free-tier call the defaults allow (the brief: free calls last at most 5 minutes).
FREE_CALL_SECONDS_MAX = 300


@dataclass(frozen=True)
class AdsParams:
    """`ads:`: AdMarket's split (bps), settlement grace, paid-request burn and timeout."""

    eip712_name: str
    eip712_version: str
    user_bps: int
    node_bps: int
    community_bps: int
    burn_bps: int
    settlement_grace_seconds: int
    request_burn_bps: int
    request_timeout_seconds: int

    @property
    def split_bps(self) -> list[int]:
        """The split in AdMarket's order: user, node, community, burn."""
        return [self.user_bps, self.node_bps, self.community_bps, self.burn_bps]


@dataclass(frozen=True)
class DisputesParams:
    """The Disputes contract's parameters, in the order and units its `Parameters` struct takes."""

    equivocation_fraction_wad: int
    reporter_share_wad: int
    evidence_window_seconds: int
    reveal_window_seconds: int
    flag_bond_wei: int
    panel_size: int
    reviewer_cap_wei: int
    quorum_bps: int
    majority_bps: int
    vote_commit_seconds: int
    vote_reveal_seconds: int
    kick_fraction_wad: int
    flagger_reward_share_wad: int
    non_voter_fraction_wad: int
    jail_base_seconds: int
    jail_max_seconds: int
    reviewer_cooldown_seconds: int

    def as_tuple(self) -> tuple[int, ...]:
        """The ABI tuple of `IDisputes.Parameters` (constructor and `set_parameters`)."""
        return tuple(getattr(self, f.name) for f in fields(self))


def _bps_wad(bps: Any) -> int:
    return int(bps) * WAD // BPS


def _disputes(raw: dict[str, Any]) -> DisputesParams:
    d = raw["disputes"]
    p = DisputesParams(
        equivocation_fraction_wad=_bps_wad(d["equivocation_slash_bps"]),
        reporter_share_wad=_bps_wad(d["reporter_share_bps"]),
        evidence_window_seconds=int(d["evidence_window_seconds"]),
        reveal_window_seconds=int(d["reveal_window_seconds"]),
        flag_bond_wei=_wei(d["flag_bond"]),
        panel_size=int(d["panel_size"]),
        reviewer_cap_wei=_wei(d["reviewer_cap"]),
        quorum_bps=int(d["quorum_bps"]),
        majority_bps=int(d["majority_bps"]),
        vote_commit_seconds=int(d["vote_commit_seconds"]),
        vote_reveal_seconds=int(d["vote_reveal_seconds"]),
        kick_fraction_wad=_bps_wad(d["kick_slash_bps"]),
        flagger_reward_share_wad=_bps_wad(d["flagger_reward_bps"]),
        non_voter_fraction_wad=_bps_wad(d["non_voter_slash_bps"]),
        jail_base_seconds=int(d["jail_base_seconds"]),
        jail_max_seconds=int(d["jail_max_seconds"]),
        reviewer_cooldown_seconds=int(d["reviewer_cooldown_seconds"]),
    )
    for key, value in d.items():
        if key.endswith("_bps") and value > BPS:
            raise ParameterError(f"disputes.{key} is {value}; at most 10000 bps (100 %)")
    for key in ("equivocation_slash_bps", "kick_slash_bps", "non_voter_slash_bps"):
        if d[key] == 0 or (key == "non_voter_slash_bps" and d[key] >= BPS):
            raise ParameterError(f"disputes.{key} is {d[key]}; it must be above 0 (non-voters: below 10000)")
    if not 1 <= p.panel_size <= 14:
        raise ParameterError(f"disputes.panel_size is {p.panel_size}; use 1 to 14")
    if p.majority_bps < BPS // 2:
        raise ParameterError("disputes.majority_bps must be at least 5000 (a kick needs a majority)")
    if p.jail_max_seconds < p.jail_base_seconds:
        raise ParameterError("disputes.jail_max_seconds must not be below disputes.jail_base_seconds")
    if p.evidence_window_seconds >= int(raw["registry"]["unbonding_seconds"]):
        raise ParameterError("disputes.evidence_window_seconds must be below registry.unbonding_seconds")
    # Disputes keeps a panel's weights and the reveal phase in 24 bits of the dispute's word.
    if p.reviewer_cap_wei // WAD > (2**24 - 1) // 14:
        raise ParameterError(f"disputes.reviewer_cap is above {(2**24 - 1) // 14} CLUB")
    if p.vote_reveal_seconds >= 2**24:
        raise ParameterError("disputes.vote_reveal_seconds must be below 2**24 (194 days)")
    return p


@dataclass(frozen=True)
class Parameters:
    token: TokenParams
    genesis: GenesisParams
    emission: EmissionParams
    governance: GovernanceParams
    registry: RegistryParams
    communities: CommunitiesParams
    premium: PremiumParams
    ads: AdsParams
    raw: dict[str, Any] = field(repr=False, compare=False)

    @cached_property
    def disputes(self) -> DisputesParams:
        """The `disputes:` section (validated by `load`)."""
        return _disputes(self.raw)

    @property
    def emission_reserve_wei(self) -> int:
        """The gap cap - genesis supply at genesis: Emission mints a fraction of the gap per epoch."""
        return self.token.cap_wei - self.genesis.total_wei


def _wei(whole: int | float) -> int:
    return int(whole) * WAD


# Keys whose value must be above zero (a zero would stop the protocol or divide by zero).
POSITIVE = (
    "token.cap",
    "emission.epoch_seconds",
    "governance.voting_period_seconds",
    "governance.quorum_denominator",
    "registry.min_self_stake_per_kind",
    "registry.heartbeat_seconds",
    "registry.epoch_seconds",
)
# Strings, not numbers: names and versions.
TEXT_KEYS = ("name", "symbol", "eip712_version", "eip712_name")


def _check_numbers(node: Any, path: str) -> None:
    """Every number is whole and non-negative; the error names the key (`genesis.vesting.team.cliff_days`)."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("name", i) if isinstance(item, dict) else i
            _check_numbers(item, f"{path}.{label}")
    elif isinstance(node, bool) or path.rsplit(".", 1)[-1] in TEXT_KEYS:
        return
    elif isinstance(node, float) and not node.is_integer():
        raise ParameterError(f"{path} is {node}; use a whole number (the unit is in the file's header)")
    elif not isinstance(node, int | float):
        raise ParameterError(f"{path} is {node!r}; use a number (the unit is in the file's header)")
    elif node < 0:
        raise ParameterError(f"{path} is {node:g}; it cannot be negative")


def _parse(raw: dict[str, Any]) -> Parameters:
    if not isinstance(raw, dict):
        raise ParameterError("the parameters file must be a mapping of sections (token, genesis, ...)")
    _check_numbers(raw, "")
    try:
        return _build(raw)
    except KeyError as exc:
        raise ParameterError(
            f"{_missing_path(raw, str(exc.args[0]))} is missing; copy it from {DEFAULT_PATH.name}"
        ) from None


def _missing_path(raw: dict[str, Any], key: str) -> str:
    """`registry.heartbeat_seconds` for a missing `heartbeat_seconds` (the section that lacks it)."""
    for section, body in raw.items():
        if isinstance(body, dict) and key not in body:
            reference = DEFAULT_RAW.get(section, {})
            if isinstance(reference, dict) and key in reference:
                return f"{section}.{key}"
    return key


def _build(raw: dict[str, Any]) -> Parameters:
    t = raw["token"]
    token = TokenParams(
        name=t["name"],
        symbol=t["symbol"],
        decimals=int(t["decimals"]),
        cap_wei=_wei(t["cap"]),
        eip712_version=str(t["eip712_version"]),
    )
    g = raw["genesis"]
    genesis = GenesisParams(
        treasury_wei=_wei(g["treasury"]),
        liquidity_wei=_wei(g["liquidity"]),
        vesting=tuple(
            VestingAllocation(
                name=v["name"],
                amount_wei=_wei(v["amount"]),
                cliff_seconds=int(v["cliff_days"]) * DAY,
                duration_seconds=int(v["duration_days"]) * DAY,
                revocable=bool(v["revocable"]),
            )
            for v in g["vesting"]
        ),
    )
    e = raw["emission"]
    emission = EmissionParams(
        epoch_seconds=int(e["epoch_seconds"]),
        rate_per_epoch_wad=int(e["rate_per_epoch_wad"]),
        tip_wei=_wei(e["tip"]),
        receivers=tuple(EmissionReceiver(r["name"], int(r["weight_bps"])) for r in e["receivers"]),
        bootstrap_multiple_wei=int(Decimal(str(e["bootstrap_multiple"])) * WAD),
        bootstrap_epochs=int(e["bootstrap_epochs"]),
    )
    gv = raw["governance"]
    governance = GovernanceParams(**{k: int(v) for k, v in gv.items()})
    r = raw["registry"]
    registry = RegistryParams(
        kinds={str(k): int(v) for k, v in r["kinds"].items()},
        min_self_stake_per_kind_wei=_wei(r["min_self_stake_per_kind"]),
        saturation_multiple=int(r["saturation_multiple"]),
        unbonding_seconds=int(r["unbonding_seconds"]),
        heartbeat_seconds=int(r["heartbeat_seconds"]),
        epoch_seconds=int(r["epoch_seconds"]),
        commission_max_bps=int(r["commission_max_bps"]),
        commission_max_change_bps=int(r["commission_max_change_bps"]),
        commission_delay_seconds=int(r["commission_delay_seconds"]),
        finalize_tip_wei=_wei(r["finalize_tip"]),
        kind_reward_bps=(
            int(r["kind_reward_bps"]["RELAY"]),
            int(r["kind_reward_bps"]["TURN"]),
            int(r["kind_reward_bps"]["NOTIFY"]),
        ),
    )
    c = raw["communities"]
    communities = CommunitiesParams(creation_fee_wei=_wei(c["creation_fee"]))
    pm = raw["premium"]
    premium = PremiumParams(
        period_seconds=int(pm["period_seconds"]),
        burn_bps=int(pm["burn_bps"]),
        unlock_delay_seconds=int(pm["unlock_delay_seconds"]),
        tiers=tuple(
            PremiumTier(
                name=str(t["name"]),
                max_message_bytes=int(t["max_message_bytes"]),
                max_file_bytes=int(t["max_file_bytes"]),
                max_call_seconds=int(t["max_call_seconds"]),
                mailbox_quota_bytes=int(t["mailbox_quota_bytes"]),
                price_wei=_wei(t["price"]),
                lock_wei=_wei(t["lock"]),
            )
            for t in pm["tiers"]
        ),
    )
    a = raw["ads"]
    ads = AdsParams(
        eip712_name=str(a["eip712_name"]),
        eip712_version=str(a["eip712_version"]),
        user_bps=int(a["split"]["user_bps"]),
        node_bps=int(a["split"]["node_bps"]),
        community_bps=int(a["split"]["community_bps"]),
        burn_bps=int(a["split"]["burn_bps"]),
        settlement_grace_seconds=int(a["settlement_grace_seconds"]),
        request_burn_bps=int(a["request_burn_bps"]),
        request_timeout_seconds=int(a["request_timeout_seconds"]),
    )
    params = Parameters(token, genesis, emission, governance, registry, communities, premium, ads, raw)
    _validate(params)
    return params


def _validate(p: Parameters) -> None:
    for dotted in POSITIVE:
        section, key = dotted.split(".")
        if not p.raw[section][key]:
            raise ParameterError(f"{dotted} must be above 0")
    g = p.governance
    if g.quorum_numerator > g.quorum_denominator:
        raise ParameterError(
            f"governance.quorum_numerator ({g.quorum_numerator}) must not exceed "
            f"governance.quorum_denominator ({g.quorum_denominator})"
        )
    for section in ("governance", "registry"):
        for key, value in p.raw[section].items():
            if key.endswith("_bps") and isinstance(value, int) and value > BPS:
                raise ParameterError(f"{section}.{key} is {value}; at most 10000 bps (100 %)")
    kind_split = sum(p.registry.kind_reward_bps)
    if kind_split != BPS:
        raise ParameterError(f"registry.kind_reward_bps: shares sum to {kind_split} bps, not 10000")
    if p.registry.commission_max_change_bps > p.registry.commission_max_bps:
        raise ParameterError("registry.commission_max_change_bps must not exceed registry.commission_max_bps")
    if p.genesis.total_wei > p.token.cap_wei:
        raise ParameterError("genesis: allocations exceed token.cap; lower an allocation or raise the cap")
    split = sum(p.ads.split_bps)
    if split != BPS:
        raise ParameterError(f"ads.split: shares sum to {split} bps, they must sum to 10000")
    if p.ads.request_burn_bps > BPS // 2:
        raise ParameterError(f"ads.request_burn_bps is {p.ads.request_burn_bps}; at most 5000 bps")
    for key in ("settlement_grace_seconds", "request_timeout_seconds"):
        if not HOUR <= getattr(p.ads, key) <= 90 * DAY:
            raise ParameterError(f"ads.{key} must be between 3600 (an hour) and 7776000 (90 days)")
    weights = sum(r.weight_bps for r in p.emission.receivers)
    if weights != BPS:
        raise ParameterError(f"emission.receivers: weights sum to {weights} bps, they must sum to 10000")
    if not 0 < p.emission.rate_per_epoch_wad < WAD:
        raise ParameterError("emission.rate_per_epoch_wad must be strictly between 0 and 1e18")
    _validate_premium(p.premium)
    _disputes(p.raw)
    if not 0 <= p.emission.bootstrap_epochs <= MAX_BOOTSTRAP_EPOCHS:
        raise ParameterError(f"emission.bootstrap_epochs must be between 0 and {MAX_BOOTSTRAP_EPOCHS}")
    if p.emission.bootstrap_multiple_wei < 0:
        raise ParameterError("emission.bootstrap_multiple must not be negative")
    for a in p.genesis.vesting:
        if a.duration_seconds == 0 or a.cliff_seconds > a.duration_seconds:
            raise ParameterError(
                f"genesis.vesting.{a.name}: need duration_days > 0 and cliff_days <= duration_days"
            )


def _validate_premium(pm: PremiumParams) -> None:
    """The bounds Premium's constructor and `set_tier` enforce, said in the file's terms."""
    if not 3600 <= pm.period_seconds <= 365 * DAY:
        raise ParameterError("premium.period_seconds must be between 3600 (an hour) and 31536000 (a year)")
    if pm.burn_bps > BPS:
        raise ParameterError(f"premium.burn_bps is {pm.burn_bps}; at most 10000 bps (100 %)")
    if pm.unlock_delay_seconds > 365 * DAY:
        raise ParameterError("premium.unlock_delay_seconds must be at most 31536000 (a year)")
    if not 1 <= len(pm.tiers) <= 8:
        raise ParameterError("premium.tiers: list the free tier and up to 7 paid tiers")
    free, paid = pm.tiers[0], pm.tiers[1:]
    if free.price_wei or free.lock_wei:
        raise ParameterError("premium.tiers: the first tier is the free tier; set its price and lock to 0")
    if free.max_call_seconds > FREE_CALL_SECONDS_MAX:
        raise ParameterError(
            f"premium.tiers.{free.name}.max_call_seconds is {free.max_call_seconds}; "
            f"free calls last at most {FREE_CALL_SECONDS_MAX} s"
        )
    for t in paid:
        if not (t.price_wei or t.lock_wei):
            raise ParameterError(f"premium.tiers.{t.name}: a paid tier needs a price or a lock above 0")


DEFAULT_RAW: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text()) if DEFAULT_PATH.exists() else {}


def load(path: Path | str = DEFAULT_PATH) -> Parameters:
    """Load and validate the parameters file (default: deployments/parameters.yaml)."""
    with open(path) as fh:
        raw = yaml.safe_load(fh)
    return _parse(raw)
