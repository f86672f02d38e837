# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Emission
@custom:contract-name Emission
@license GNU Affero General Public License v3.0 only
@notice Mints CLUB rewards epoch by epoch as a fraction of the room left under the
        token's cap. Each epoch mints the fixed fraction `rate_per_epoch` r
        (1e18 = 100 %) of the gap G = cap - totalSupply:

            mint(epoch) = r * (cap - totalSupply)

        so the less CLUB exists, the bigger the reward, and every burn (premium,
        ads, slashing) widens the gap and is paid out again as future rewards:
        with B CLUB burned per epoch the supply tends to cap - B / r and the
        rewards tend to the burns (a burn-and-mint equilibrium).

        Settling k epochs at once (a keeper missed some) mints the closed form

            G * (1 - (1 - r)^k)

        with (1 - r)^k computed by exponentiation by squaring in 1e36 fixed
        point. The closed form is anchored: `anchor_gap` is the gap at epoch
        `anchor_epoch` and the gap after epoch e is G(e) = ceil(anchor_gap *
        (1 - r)^(e - anchor_epoch)). A call settling epochs up to e mints the
        current gap minus G(e). While nothing but this contract changes the
        supply, one catch-up call after n missed epochs therefore mints exactly
        what n single-epoch calls mint (same targets, same rounding).

        When the supply moved since the last settlement (`last_gap` differs from
        the gap now: something was burned, or minted by someone else), the
        closed form is re-anchored at the gap now. A catch-up call then treats a
        burn made during the gap as if it had been made at the gap's start: it
        mints b * (1 - (1 - r)^k) of a burn b made j epochs into a gap of k
        epochs, where single calls would have minted b * (1 - (1 - r)^(k - j));
        the difference is at most b * (1 - (1 - r)^j) and is simply paid earlier
        (the supply never passes the cap either way).

        Bootstrap guard. Until epoch `bootstrap_end_epoch` the share paid to the
        NodeRegistry (`registry`, which must be one of the receivers to be
        guarded) is capped at `bootstrap_multiple` CLUB per sqrt(CLUB of total
        node stake) per epoch (Ethereum-style sqrt(stake) issuance): a small
        early stake cannot earn four-digit yields. The excess is NOT minted: it
        stays in the gap and is offered again, r at a time, by later epochs.
        The guard ends for good: governance may lower the multiple or end the
        bootstrap earlier, never extend it.

        Anyone may call `advance`; the caller earns `tip` CLUB per epoch settled,
        taken out of that emission (not on top of it) and capped at the amount
        minted. The rest goes to the receivers pro rata to their weights in bps.
        A call that crosses the bootstrap's end settles two steps (guarded, then
        not; one `Emitted` each) but mints once per payee, state written first.
@custom:security The contract needs the token's MINTER_ROLE. Every mint is at most
        the gap (cap - totalSupply) at the time, so the supply never exceeds the
        cap whatever the order of burns and mints. Rounding always favours the
        gap: (1 - r)^k and the gap left are rounded UP, so the mint is rounded
        down and (for the same reason) at least 1 wei of the gap stays unminted.
        Changing the rate, tip, epoch length, receivers or bootstrap first
        settles every due epoch under the old values.
"""

from interfaces import IClubToken
from interfaces import IEmission
from interfaces import INodeRegistry

implements: IEmission

from ethereum.ercs import IERC165

implements: IERC165

from snekmate.auth.interfaces import IAccessControl

implements: IAccessControl

from snekmate.auth import access_control

initializes: access_control

# @dev Role management (`grantRole`, `revokeRole`, `renounceRole`, `hasRole`,
# `getRoleAdmin`, `set_role_admin`, `DEFAULT_ADMIN_ROLE`) and ERC-165.
exports: access_control.__interface__


# CONSTANTS #

# @dev Role allowed to change the emission parameters (handed to the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")

# @dev 1e18: unit of `rate_per_epoch` (1e18 = 100 % of the gap per epoch) and of CLUB.
WAD: constant(uint256) = 10**18
# @dev 1e36: fixed point used for (1 - r)^k. A product of two RAY numbers <= 1 is
# at most 1e72 < 2^256, so no intermediate overflows; the extra 18 digits keep the
# relative error of (1 - r)^k below ~1e-34 for any realistic k.
RAY: constant(uint256) = 10**36
# @dev Basis points: receiver weights sum to exactly this.
BPS: constant(uint256) = 10_000
# @dev The receiver's bits of a `_payees` word.
ADDRESS_MASK: constant(uint256) = 2**160 - 1

# @dev At most 10 % of the gap per epoch. Even a captured governance can then mint
# at most 10 % of the gap per epoch (and the epoch is at least an hour), which
# leaves time to react; the default is 0.25 % per week.
MAX_RATE: constant(uint256) = 10**17
# @dev Keeper tip per epoch, at most 1,000 CLUB: a tip only has to cover the gas of
# `advance`; anything larger just diverts emission from the receivers.
MAX_TIP: constant(uint256) = 1_000 * 10**18
# @dev Epoch length bounds: [1 hour, 365 days].
MIN_EPOCH_SECONDS: constant(uint256) = 3_600
MAX_EPOCH_SECONDS: constant(uint256) = 365 * 86_400
# @dev Maximum number of receivers (bounds every loop over them).
MAX_RECEIVERS: constant(uint256) = 8
# @dev Largest bootstrap multiple: 1e6 CLUB per sqrt(CLUB) per epoch (far above any
# sensible value; bounds multiple * epochs * sqrt(stake) well inside 2^256).
MAX_BOOTSTRAP_MULTIPLE: constant(uint256) = 10**6 * 10**18
# @dev Longest bootstrap: 520 epochs (ten years of weekly epochs).
MAX_BOOTSTRAP_EPOCHS: constant(uint256) = 520


# IMMUTABLES #

# @dev The CLUB token (Emission holds its MINTER_ROLE).
token: public(immutable(address))
# @dev The token's supply cap in wei, read once at deploy (ClubToken's cap is immutable).
cap: public(immutable(uint256))
# @dev The NodeRegistry: its total node stake sizes the bootstrap guard, and the share
# paid to this address is the one the guard caps (empty = no guard).
registry: public(immutable(address))


# STORAGE #

# @dev Total wei minted by this contract so far (tips included).
emitted: public(uint256)
# @dev Total wei of node rewards the bootstrap guard left unminted (they stayed in the gap).
withheld: public(uint256)
# @dev Number of epochs settled since deployment.
epochs_minted: public(uint256)
# @dev Timestamp (s) at which the next epoch (number `epochs_minted`) becomes due.
next_epoch_time: public(uint256)
# @dev Fraction of the gap (cap - totalSupply) minted per epoch, 1e18 = 100 %.
rate_per_epoch: public(uint256)
# @dev Length of an epoch in seconds.
epoch_seconds: public(uint256)
# @dev Keeper tip in wei per epoch settled, paid out of the epoch's emission.
tip: public(uint256)
# @dev Epoch count at which the closed form is anchored.
anchor_epoch: public(uint256)
# @dev The gap (cap - totalSupply, wei) at `anchor_epoch`.
anchor_gap: public(uint256)
# @dev The gap (wei) right after the last settlement; a different gap now means the
# supply moved outside this contract (a burn) and the closed form is re-anchored.
last_gap: public(uint256)
# @dev Bootstrap guard: node share per epoch <= this (wei per sqrt(whole CLUB staked)).
bootstrap_multiple: public(uint256)
# @dev Epochs numbered below this are guarded; 0 = no bootstrap. Can only decrease.
bootstrap_end_epoch: public(uint256)
# @dev Emission receivers (1..8) in payout order, each packed with its weight in bps (sum
# 10,000): receiver (bits 0-159) | weight (bits 160-). One word per receiver, so that a
# settlement reads each receiver and its weight in one storage slot.
_payees: DynArray[uint256, MAX_RECEIVERS]


# EVENTS #
# Declared once, in interfaces/IEmission.vyi (the ABI this contract emits), and logged as
# `log IEmission.<Event>(...)`.


@deploy
def __init__(
    token_: address,
    rate_per_epoch_wad: uint256,
    epoch_seconds_: uint256,
    tip_: uint256,
    first_epoch_time: uint256,
    receivers_: DynArray[address, MAX_RECEIVERS],
    weights_: DynArray[uint256, MAX_RECEIVERS],
    registry_: address,
    bootstrap_multiple_: uint256,
    bootstrap_epochs: uint256,
):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE and PARAMETER_ROLE; the governance
         step of the deployment hands both to the Timelock. The closed form is
         anchored at epoch 0 on the gap at deploy time; the genesis distribution
         minted after deployment re-anchors it at the first `advance`.
    @param token_ The CLUB token; this contract must be granted its MINTER_ROLE.
    @param rate_per_epoch_wad Fraction of the gap minted per epoch (1e18 = 100 %).
    @param epoch_seconds_ Epoch length in seconds, within [1 hour, 365 days].
    @param tip_ Keeper tip per epoch in wei, at most 1,000 CLUB.
    @param first_epoch_time Timestamp at which epoch 0 becomes due (may be in the past:
           the missed epochs are then settled by the first `advance`).
    @param receivers_ 1..8 non-zero receiver addresses.
    @param weights_ Their weights in bps, each > 0, summing to 10,000.
    @param registry_ The NodeRegistry (its `total_weight` sizes the guard, its share is
           guarded); may be empty only without a bootstrap.
    @param bootstrap_multiple_ Guard: wei of node rewards per epoch per sqrt(whole CLUB staked).
    @param bootstrap_epochs Number of guarded epochs from epoch 0 (at most 520; 0 = none).
    """
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)

    assert token_ != empty(address), "emission: zero token"
    # ClubToken's cap is in (0, 2^90) ("club: cap out of range"), so gap * (1 - r)^k in RAY
    # stays below 2^90 * 1e36 < 2^210: no overflow.
    cap_: uint256 = staticcall IClubToken(token_).cap()
    self._check_rate(rate_per_epoch_wad)
    self._check_epoch_seconds(epoch_seconds_)
    self._check_tip(tip_)
    self._check_receivers(receivers_, weights_)
    self._check_bootstrap_multiple(bootstrap_multiple_)
    assert bootstrap_epochs <= MAX_BOOTSTRAP_EPOCHS, "emission: bootstrap too long"
    assert bootstrap_epochs == 0 or registry_ != empty(address), "emission: bootstrap needs a registry"

    token = token_
    cap = cap_
    registry = registry_
    self.rate_per_epoch = rate_per_epoch_wad
    self.epoch_seconds = epoch_seconds_
    self.tip = tip_
    self.next_epoch_time = first_epoch_time
    self._payees = self._pack_payees(receivers_, weights_)
    self.bootstrap_multiple = bootstrap_multiple_
    self.bootstrap_end_epoch = bootstrap_epochs
    gap: uint256 = cap_ - staticcall IClubToken(token_).totalSupply()
    self.anchor_gap = gap
    self.last_gap = gap


# KEEPERS #


@external
def advance() -> uint256:
    """
    @notice Settle every due epoch in one call and mint its emission. Permissionless.
    @dev Returns 0 without reverting when no epoch is due, so keepers can call it
         blindly. The caller receives `tip` wei per settled epoch out of the minted
         amount (capped at that amount); receivers get the rest by weight, the
         registry's share capped by the bootstrap guard while it lasts.
    @return uint256 Total wei minted (tip included).
    """
    return self._advance(msg.sender)


# VIEWS #


@external
@view
def remaining() -> uint256:
    """
    @notice The gap: wei that may still be minted under the cap.
    @return uint256 `cap - totalSupply`.
    """
    return self._gap()


@external
@view
def epochs_due() -> uint256:
    """
    @notice Number of epochs an `advance` call now would settle.
    @return uint256 0 before `next_epoch_time`, else 1 + whole epochs elapsed since.
    """
    return self._epochs_due()


@external
@view
def preview_due() -> uint256:
    """
    @notice Wei an `advance` call now would mint (tip included, guard applied).
    @return uint256 The amount minted by settling `epochs_due()` epochs.
    """
    n: uint256 = self._epochs_due()
    if n == 0:
        return 0
    gap: uint256 = self._gap()
    a_epoch: uint256 = self.anchor_epoch
    a_gap: uint256 = self.anchor_gap
    if gap != self.last_gap:
        a_epoch = self.epochs_minted
        a_gap = gap
    first: uint256 = self.epochs_minted
    boot: uint256 = self._guarded_epochs(first, n)
    total: uint256 = 0
    amount: uint256 = 0
    tip_paid: uint256 = 0
    held: uint256 = 0
    pays: uint256[MAX_RECEIVERS] = empty(uint256[MAX_RECEIVERS])
    count: uint256 = len(self._payees)
    if boot != 0:
        amount, tip_paid = self._plan(first, boot, gap, a_epoch, a_gap)
        pays, held = self._add_shares(pays, count, amount - tip_paid, self._node_cap(boot))
        total = amount - held
        gap -= total
        first += boot
        if held != 0:
            # `_advance` re-anchors on the gap the guard left.
            a_epoch = first
            a_gap = gap
    if n > boot:
        amount, tip_paid = self._plan(first, n - boot, gap, a_epoch, a_gap)
        total += amount
    return total


@external
@view
def scheduled_gap(epochs: uint256) -> uint256:
    """
    @notice The gap the closed form leaves once `epochs` epochs are settled, if
            nothing else changes the supply: ceil(anchor_gap * (1 - r)^(epochs - anchor_epoch)).
    @param epochs Total epoch count (not relative to the anchor), >= `anchor_epoch`.
    @return uint256 The gap in wei.
    """
    assert epochs >= self.anchor_epoch, "emission: epoch before the anchor"
    return self._gap_after(self.anchor_gap, self.rate_per_epoch, epochs - self.anchor_epoch)


@external
@view
def node_cap_per_epoch() -> uint256:
    """
    @notice The bootstrap guard's limit on the registry's share for one epoch now.
    @return uint256 `bootstrap_multiple * isqrt(registry.total_weight())` in wei while the
            bootstrap lasts, max_value(uint256) after it (or without a registry).
    """
    if self.epochs_minted >= self.bootstrap_end_epoch:
        return max_value(uint256)
    return self._node_cap(1)


@external
@view
def receivers() -> DynArray[address, MAX_RECEIVERS]:
    """
    @notice The emission receivers, in payout order (the last one gets the rounding dust).
    @return DynArray The receiver addresses.
    """
    out: DynArray[address, MAX_RECEIVERS] = []
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for word: uint256 in self._payees:
        out.append(convert(word & ADDRESS_MASK, address))
    return out


@external
@view
def weights() -> DynArray[uint256, MAX_RECEIVERS]:
    """
    @notice The receivers' weights in bps (same order as `receivers()`, sum 10,000).
    @return DynArray The weights.
    """
    out: DynArray[uint256, MAX_RECEIVERS] = []
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for word: uint256 in self._payees:
        out.append(word >> 160)
    return out


# GOVERNANCE #


@external
def set_rate(new_rate: uint256):
    """
    @notice Change the fraction of the gap minted per epoch. PARAMETER_ROLE only.
    @dev Epochs already due are settled at the old rate first: they were earned under
         it, and settling first makes the result independent of whether a keeper
         happened to call `advance` before the change. Then the closed form is
         re-anchored at the current epoch and gap.
    @param new_rate The new rate, 0 < new_rate <= 0.1e18.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_rate(new_rate)
    self._advance(msg.sender)
    self.anchor_epoch = self.epochs_minted
    gap: uint256 = self._gap()
    self.anchor_gap = gap
    self.last_gap = gap
    log IEmission.RateChanged(old_rate=self.rate_per_epoch, new_rate=new_rate)
    self.rate_per_epoch = new_rate


@external
def set_tip(new_tip: uint256):
    """
    @notice Change the keeper tip per epoch. PARAMETER_ROLE only.
    @dev Due epochs are settled first, paying the old tip (to the caller).
    @param new_tip The new tip in wei, at most 1,000 CLUB.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_tip(new_tip)
    self._advance(msg.sender)
    log IEmission.TipChanged(old_tip=self.tip, new_tip=new_tip)
    self.tip = new_tip


@external
def set_epoch_seconds(new_epoch_seconds: uint256):
    """
    @notice Change the epoch length. PARAMETER_ROLE only.
    @dev Due epochs are settled first under the old length; the next epoch keeps
         its scheduled time `next_epoch_time`, the ones after it are spaced by the
         new length.
    @param new_epoch_seconds The new length in seconds, within [1 hour, 365 days].
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_epoch_seconds(new_epoch_seconds)
    self._advance(msg.sender)
    log IEmission.EpochSecondsChanged(old_epoch_seconds=self.epoch_seconds, new_epoch_seconds=new_epoch_seconds)
    self.epoch_seconds = new_epoch_seconds


@external
def set_receivers(
    new_receivers: DynArray[address, MAX_RECEIVERS], new_weights: DynArray[uint256, MAX_RECEIVERS]
):
    """
    @notice Replace the receivers and their weights. PARAMETER_ROLE only.
    @dev Due epochs are settled first and paid to the old receivers, who earned them.
    @param new_receivers 1..8 non-zero addresses.
    @param new_weights Their weights in bps, each > 0, summing to 10,000.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_receivers(new_receivers, new_weights)
    self._advance(msg.sender)
    self._payees = self._pack_payees(new_receivers, new_weights)
    log IEmission.ReceiversChanged(receivers=new_receivers, weights=new_weights)


@external
def set_bootstrap(new_multiple: uint256, new_end_epoch: uint256):
    """
    @notice Change the bootstrap guard. PARAMETER_ROLE only.
    @dev Due epochs are settled first under the old guard. The bootstrap can only be
         shortened (`new_end_epoch` <= the current end): the guard is meant to end, and
         a captured governance must not be able to keep node rewards capped forever.
    @param new_multiple Wei of node rewards per epoch per sqrt(whole CLUB staked).
    @param new_end_epoch First unguarded epoch, <= `bootstrap_end_epoch`.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_bootstrap_multiple(new_multiple)
    assert new_end_epoch <= self.bootstrap_end_epoch, "emission: bootstrap can only be shortened"
    self._advance(msg.sender)
    log IEmission.BootstrapChanged(
        old_multiple=self.bootstrap_multiple,
        new_multiple=new_multiple,
        old_end_epoch=self.bootstrap_end_epoch,
        new_end_epoch=new_end_epoch,
    )
    self.bootstrap_multiple = new_multiple
    self.bootstrap_end_epoch = new_end_epoch


# INTERNAL #


@internal
def _advance(caller: address) -> uint256:
    """
    @dev Settle all due epochs: re-anchor if the supply moved since the last settlement,
         then settle the guarded epochs (if any) and the rest, each as one closed-form step
         (one `Emitted` per step), and pay each payee once for both steps (one mint each).
    """
    n: uint256 = self._epochs_due()
    if n == 0:
        return 0
    gap: uint256 = self._gap()
    first: uint256 = self.epochs_minted
    a_epoch: uint256 = self.anchor_epoch
    a_gap: uint256 = self.anchor_gap
    anchor_moved: bool = False
    if gap != self.last_gap:
        # Burned (or minted elsewhere) since the last settlement: restart the closed form here.
        a_epoch = first
        a_gap = gap
        anchor_moved = True
    boot: uint256 = self._guarded_epochs(first, n)
    count: uint256 = len(self._payees)
    pays: uint256[MAX_RECEIVERS] = empty(uint256[MAX_RECEIVERS])
    total: uint256 = 0
    tips: uint256 = 0
    amount: uint256 = 0
    tip_paid: uint256 = 0
    held: uint256 = 0
    if boot != 0:
        amount, tip_paid = self._plan(first, boot, gap, a_epoch, a_gap)
        pays, held = self._add_shares(pays, count, amount - tip_paid, self._node_cap(boot))
        minted: uint256 = amount - held
        log IEmission.Emitted(caller=caller, first_epoch=first, epochs=boot, amount=minted, tip=tip_paid)
        if held != 0:
            # The excess stays in the gap; the closed form restarts from the gap actually left.
            self.withheld += held
            log IEmission.NodeRewardsWithheld(first_epoch=first, epochs=boot, amount=held)
            a_epoch = first + boot
            a_gap = gap - minted
            anchor_moved = True
        gap -= minted
        first += boot
        total = minted
        tips = tip_paid
    if n > boot:
        amount, tip_paid = self._plan(first, n - boot, gap, a_epoch, a_gap)
        pays, held = self._add_shares(pays, count, amount - tip_paid, max_value(uint256))
        log IEmission.Emitted(caller=caller, first_epoch=first, epochs=n - boot, amount=amount, tip=tip_paid)
        gap -= amount
        first += n - boot
        total += amount
        tips += tip_paid

    self.epochs_minted = first
    self.next_epoch_time += n * self.epoch_seconds
    self.emitted += total
    if anchor_moved:
        self.anchor_epoch = a_epoch
        self.anchor_gap = a_gap
    # Only this contract mints between here and the next call's check: the gap after the mints.
    self.last_gap = gap

    if tips != 0:
        extcall IClubToken(token).mint(caller, tips)
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for i: uint256 in range(count, bound=MAX_RECEIVERS):
        if pays[i] != 0:
            receiver: address = convert(self._payees[i] & ADDRESS_MASK, address)
            extcall IClubToken(token).mint(receiver, pays[i])
            log IEmission.Distributed(receiver=receiver, amount=pays[i])
    return total


@internal
@view
def _add_shares(
    pays: uint256[MAX_RECEIVERS], count: uint256, rest: uint256, allowance: uint256
) -> (uint256[MAX_RECEIVERS], uint256):
    """
    @dev (`pays` plus `rest` split by weight over the first `count` receivers, withheld):
         rounded down, the last receiver gets the dust, so the shares add up to `rest`
         exactly; the registry's share is capped at what is left of `allowance` (the
         bootstrap guard; max_value(uint256) when unguarded) and what the cap keeps back
         is returned as withheld.
    """
    out: uint256[MAX_RECEIVERS] = pays
    left: uint256 = allowance
    held: uint256 = 0
    paid: uint256 = 0
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for i: uint256 in range(count, bound=MAX_RECEIVERS):
        word: uint256 = self._payees[i]
        share: uint256 = 0
        if i == count - 1:
            share = rest - paid
        else:
            share = rest * (word >> 160) // BPS
        paid += share
        if convert(word & ADDRESS_MASK, address) == registry:
            if share > left:
                held += share - left
                share = left
            left -= share
        out[i] += share
    return out, held


@internal
@view
def _plan(first: uint256, k: uint256, gap: uint256, a_epoch: uint256, a_gap: uint256) -> (uint256, uint256):
    """
    @dev (amount, tip) for settling epochs first..first+k-1 from the current `gap` with
         the closed form anchored at (a_epoch, a_gap): amount = gap minus the closed-form
         gap after them (never more than `gap`: the supply stays under the cap), tip =
         min(tip * k, amount). `_add_shares` splits the rest and applies the guard.
    """
    target: uint256 = self._gap_after(a_gap, self.rate_per_epoch, first + k - a_epoch)
    # target <= gap whenever the anchor describes the supply (the rounded-up power never
    # increases with k: tests/unit/emission/test_schedule.py); the clamp keeps the mint
    # non-negative should rounding ever say otherwise deep in the dust tail.
    if target >= gap:
        return 0, 0
    amount: uint256 = gap - target
    return amount, min(self.tip * k, amount)


@internal
@view
def _node_cap(k: uint256) -> uint256:
    """
    @dev The guard's limit for k epochs: k * bootstrap_multiple * isqrt(total_weight), wei.
         total_weight is the registry's total node stake in whole CLUB; isqrt rounds down
         (against the node share). k <= 520 and the multiple <= 1e24 keep it below 2^256.
    """
    if registry == empty(address):
        return max_value(uint256)
    stake: uint256 = staticcall INodeRegistry(registry).total_weight()
    return k * self.bootstrap_multiple * isqrt(stake)


@internal
@view
def _guarded_epochs(first: uint256, n: uint256) -> uint256:
    """
    @dev How many of the n epochs from `first` on are before the bootstrap's end.
    """
    end: uint256 = self.bootstrap_end_epoch
    if first >= end:
        return 0
    return min(n, end - first)


@internal
@view
def _gap() -> uint256:
    """
    @dev cap - totalSupply; the token enforces totalSupply <= cap.
    """
    return cap - staticcall IClubToken(token).totalSupply()


@internal
@view
def _epochs_due() -> uint256:
    """
    @dev Epoch number e (e >= epochs_minted) is due once
         block.timestamp >= next_epoch_time + (e - epochs_minted) * epoch_seconds.
    """
    next_time: uint256 = self.next_epoch_time
    if block.timestamp < next_time:
        return 0
    return (block.timestamp - next_time) // self.epoch_seconds + 1


@internal
@pure
def _gap_after(gap: uint256, rate: uint256, k: uint256) -> uint256:
    """
    @dev gap * (1 - rate)^k, rounded UP (in favour of the gap: what is left is never
         under-stated, so what is minted is never over-stated).
         gap <= cap < 2^90 (ClubToken's bound) keeps gap * factor < 2^210.
    """
    factor: uint256 = self._pow_up((WAD - rate) * WAD, k)
    return (gap * factor + RAY - 1) // RAY


@internal
@pure
def _pow_up(x: uint256, k: uint256) -> uint256:
    """
    @dev x^k in RAY (1e36) fixed point for x <= RAY, by exponentiation by squaring,
         every product rounded UP (so the result is >= the exact power, and >= 1
         once x > 0). O(log2 k) multiplications.
    """
    result: uint256 = RAY
    base: uint256 = x
    e: uint256 = k
    # Bounded: each iteration consumes one bit of k, and k < 2^256.
    for _: uint256 in range(256):
        if e == 0:
            break
        if e & 1 == 1:
            result = (result * base + RAY - 1) // RAY
        e = e >> 1
        if e != 0:
            base = (base * base + RAY - 1) // RAY
    return result


@internal
@pure
def _check_bootstrap_multiple(multiple: uint256):
    assert multiple <= MAX_BOOTSTRAP_MULTIPLE, "emission: bootstrap multiple above maximum"


@internal
@pure
def _check_rate(rate: uint256):
    assert rate != 0, "emission: zero rate"
    assert rate <= MAX_RATE, "emission: rate above maximum"


@internal
@pure
def _check_tip(tip_: uint256):
    assert tip_ <= MAX_TIP, "emission: tip above maximum"


@internal
@pure
def _check_epoch_seconds(epoch_seconds_: uint256):
    assert epoch_seconds_ >= MIN_EPOCH_SECONDS, "emission: epoch too short"
    assert epoch_seconds_ <= MAX_EPOCH_SECONDS, "emission: epoch too long"


@internal
@pure
def _pack_payees(
    receivers_: DynArray[address, MAX_RECEIVERS], weights_: DynArray[uint256, MAX_RECEIVERS]
) -> DynArray[uint256, MAX_RECEIVERS]:
    # `_check_receivers` has run: same lengths, each weight at most 10,000 (< 2**96).
    out: DynArray[uint256, MAX_RECEIVERS] = []
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for i: uint256 in range(len(receivers_), bound=MAX_RECEIVERS):
        out.append(convert(receivers_[i], uint256) | (weights_[i] << 160))
    return out


@internal
@pure
def _check_receivers(
    receivers_: DynArray[address, MAX_RECEIVERS], weights_: DynArray[uint256, MAX_RECEIVERS]
):
    assert len(receivers_) != 0, "emission: no receivers"
    assert len(receivers_) == len(weights_), "emission: length mismatch"
    total: uint256 = 0
    # Bounded: at most MAX_RECEIVERS (8) iterations.
    for i: uint256 in range(len(receivers_), bound=MAX_RECEIVERS):
        assert receivers_[i] != empty(address), "emission: zero receiver"
        assert weights_[i] != 0, "emission: zero weight"
        total += weights_[i]
    assert total == BPS, "emission: weights must sum to 10000"
