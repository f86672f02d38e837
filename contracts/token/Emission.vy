# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Emission
@custom:contract-name Emission
@license GNU Affero General Public License v3.0 only
@notice Releases the CLUB emission reserve (the part of the cap not minted at
        genesis) epoch by epoch. Each epoch releases the fixed fraction
        `rate_per_epoch` (1e18 = 100 %) of what is still left in the reserve, so
        the reward shrinks as the reserve drains: after k epochs at rate r the
        cumulative emission is

            E(k) = reserve * (1 - (1 - r)^k)

        and the epoch k -> k+1 mints E(k+1) - E(k) = remaining(k) * r.
        The schedule is DEFINED by this closed form (not by repeating the
        one-epoch rule), with (1 - r)^k computed by exponentiation by squaring in
        1e36 fixed point. A call that settles epochs k_before..k_now therefore
        mints exactly E(k_now) - E(k_before): one catch-up call after n missed
        epochs mints exactly what n single-epoch calls would have minted, nothing
        is minted twice, and the order or grouping of calls does not matter.

        When governance changes the rate the schedule is re-anchored: due epochs
        are first settled at the old rate, then E is measured from the current
        epoch and the current remainder (`anchor_epoch`, `anchor_emitted`).

        Anyone may call `advance`; the caller earns `tip` CLUB per epoch settled,
        taken out of that emission (not on top of it) and capped at the amount
        minted. The rest goes to the receivers pro rata to their weights in bps.

        Burned CLUB does NOT refill the reserve: the reserve is fixed at deploy
        time and only `emitted` grows, so the schedule is predictable and every
        burn is permanently deflationary.
@custom:security The contract needs the token's MINTER_ROLE. Minting is bounded by
        `reserve` here and by `cap()` in the token. Rounding always favours the
        reserve (see `_remaining_after`); because (1 - r)^k is rounded up it never
        reaches zero, so at least 1 wei of the reserve stays unminted forever.
"""

from interfaces import IClubToken
from interfaces import IEmission

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

# @dev 1e18: unit of `rate_per_epoch` (1e18 = 100 % of the remainder per epoch).
WAD: constant(uint256) = 10**18
# @dev 1e36: fixed point used for (1 - r)^k. A product of two RAY numbers <= 1 is
# at most 1e72 < 2^256, so no intermediate overflows; the extra 18 digits keep the
# relative error of (1 - r)^k below ~1e-34 for any realistic k.
RAY: constant(uint256) = 10**36
# @dev Basis points: receiver weights sum to exactly this.
BPS: constant(uint256) = 10_000

# @dev At most 10 % of the remainder per epoch. Even a captured governance can
# then release at most 10 % of the remainder per epoch (and the epoch is at least
# an hour), which leaves time to react; the default is 0.25 % per week.
MAX_RATE: constant(uint256) = 10**17
# @dev Keeper tip per epoch, at most 1,000 CLUB: a tip only has to cover the gas of
# `advance`; anything larger just diverts emission from the receivers.
MAX_TIP: constant(uint256) = 1_000 * 10**18
# @dev Epoch length bounds: [1 hour, 365 days].
MIN_EPOCH_SECONDS: constant(uint256) = 3_600
MAX_EPOCH_SECONDS: constant(uint256) = 365 * 86_400
# @dev Largest reserve for which reserve * (1 - r)^k in RAY cannot overflow
# (1e40 * 1e36 < 2^256); the CLUB cap is 1e27 wei.
MAX_RESERVE: constant(uint256) = 10**40
# @dev Maximum number of receivers (bounds every loop over them).
MAX_RECEIVERS: constant(uint256) = 8


# IMMUTABLES #

# @dev The CLUB token (Emission holds its MINTER_ROLE).
token: public(immutable(address))
# @dev Size of the emission reserve in wei, fixed forever (burns never refill it).
reserve: public(immutable(uint256))


# STORAGE #

# @dev Total wei minted by this contract so far (tips included); never exceeds `reserve`.
emitted: public(uint256)
# @dev Number of epochs settled since deployment.
epochs_minted: public(uint256)
# @dev Timestamp (s) at which the next epoch (number `epochs_minted`) becomes due.
next_epoch_time: public(uint256)
# @dev Fraction of the remainder released per epoch, 1e18 = 100 %.
rate_per_epoch: public(uint256)
# @dev Length of an epoch in seconds.
epoch_seconds: public(uint256)
# @dev Keeper tip in wei per epoch settled, paid out of the epoch's emission.
tip: public(uint256)
# @dev Epoch count at which the current rate took effect (start of the closed form).
anchor_epoch: public(uint256)
# @dev `emitted` when the current rate took effect.
anchor_emitted: public(uint256)
# @dev Emission receivers (1..8) and their weights in bps (sum 10,000), same order.
_receivers: DynArray[address, MAX_RECEIVERS]
_weights: DynArray[uint256, MAX_RECEIVERS]


# EVENTS #
# Declared once, in interfaces/IEmission.vyi (the ABI this contract emits), and logged as
# `log IEmission.<Event>(...)`.


@deploy
def __init__(
    token_: address,
    reserve_: uint256,
    rate_per_epoch_wad: uint256,
    epoch_seconds_: uint256,
    tip_: uint256,
    first_epoch_time: uint256,
    receivers_: DynArray[address, MAX_RECEIVERS],
    weights_: DynArray[uint256, MAX_RECEIVERS],
):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE and PARAMETER_ROLE; the governance
         step of the deployment hands both to the Timelock.
    @param token_ The CLUB token; this contract must be granted its MINTER_ROLE.
    @param reserve_ Emission reserve in wei (cap minus the genesis distribution).
    @param rate_per_epoch_wad Fraction of the remainder released per epoch (1e18 = 100 %).
    @param epoch_seconds_ Epoch length in seconds, within [1 hour, 365 days].
    @param tip_ Keeper tip per epoch in wei, at most 1,000 CLUB.
    @param first_epoch_time Timestamp at which epoch 0 becomes due (may be in the past:
           the missed epochs are then settled by the first `advance`).
    @param receivers_ 1..8 non-zero receiver addresses.
    @param weights_ Their weights in bps, each > 0, summing to 10,000.
    """
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)

    assert token_ != empty(address), "emission: zero token"
    assert reserve_ != 0, "emission: zero reserve"
    assert reserve_ <= MAX_RESERVE, "emission: reserve too large"
    self._check_rate(rate_per_epoch_wad)
    self._check_epoch_seconds(epoch_seconds_)
    self._check_tip(tip_)
    self._check_receivers(receivers_, weights_)

    token = token_
    reserve = reserve_
    self.rate_per_epoch = rate_per_epoch_wad
    self.epoch_seconds = epoch_seconds_
    self.tip = tip_
    self.next_epoch_time = first_epoch_time
    self._receivers = receivers_
    self._weights = weights_


# KEEPERS #


@external
def advance() -> uint256:
    """
    @notice Settle every due epoch in one call and mint its emission. Permissionless.
    @dev Returns 0 without reverting when no epoch is due, so keepers can call it
         blindly. The caller receives `tip` wei per settled epoch out of the minted
         amount (capped at that amount); receivers get the rest by weight.
    @return uint256 Total wei minted (tip included).
    """
    return self._advance(msg.sender)


# VIEWS #


@external
@view
def remaining() -> uint256:
    """
    @notice Wei of the reserve not yet minted.
    @return uint256 `reserve - emitted`.
    """
    return reserve - self.emitted


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
    @notice Wei an `advance` call now would mint (tip included).
    @return uint256 The amount minted by settling `epochs_due()` epochs.
    """
    return self._due_amount(self._epochs_due())


@external
@view
def scheduled_emitted(epochs: uint256) -> uint256:
    """
    @notice Cumulative emission E(epochs) of the schedule under the current rate.
    @dev Only defined from the current anchor on: epochs before the last rate
         change were settled under an older rate.
    @param epochs Total epoch count (not relative to the anchor), >= `anchor_epoch`.
    @return uint256 Wei emitted in total once `epochs` epochs are settled.
    """
    assert epochs >= self.anchor_epoch, "emission: epoch before the current rate"
    return self._scheduled_emitted(epochs)


@external
@view
def receivers() -> DynArray[address, MAX_RECEIVERS]:
    """
    @notice The emission receivers, in payout order (the last one gets the rounding dust).
    @return DynArray The receiver addresses.
    """
    return self._receivers


@external
@view
def weights() -> DynArray[uint256, MAX_RECEIVERS]:
    """
    @notice The receivers' weights in bps (same order as `receivers()`, sum 10,000).
    @return DynArray The weights.
    """
    return self._weights


# GOVERNANCE #


@external
def set_rate(new_rate: uint256):
    """
    @notice Change the fraction of the remainder released per epoch. PARAMETER_ROLE only.
    @dev Epochs already due are settled at the old rate first: they were earned under
         it, and settling first makes the result independent of whether a keeper
         happened to call `advance` before the change. Then the closed form is
         re-anchored at the current epoch and remainder.
    @param new_rate The new rate, 0 < new_rate <= 0.1e18.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._check_rate(new_rate)
    self._advance(msg.sender)
    self.anchor_epoch = self.epochs_minted
    self.anchor_emitted = self.emitted
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
    self._receivers = new_receivers
    self._weights = new_weights
    log IEmission.ReceiversChanged(receivers=new_receivers, weights=new_weights)


# INTERNAL #


@internal
def _advance(caller: address) -> uint256:
    """
    @dev Settle all due epochs: mint E(k_now) - emitted, tip to `caller`, rest by weight.
    """
    n: uint256 = self._epochs_due()
    if n == 0:
        return 0

    amount: uint256 = self._due_amount(n)
    first_epoch: uint256 = self.epochs_minted
    self.epochs_minted = first_epoch + n
    self.next_epoch_time += n * self.epoch_seconds
    self.emitted += amount

    # The tip comes out of the emission and never exceeds it.
    tip_paid: uint256 = min(self.tip * n, amount)
    if tip_paid != 0:
        extcall IClubToken(token).mint(caller, tip_paid)

    rest: uint256 = amount - tip_paid
    if rest != 0:
        paid: uint256 = 0
        count: uint256 = len(self._receivers)
        # Bounded: at most MAX_RECEIVERS (8) iterations.
        for i: uint256 in range(count, bound=MAX_RECEIVERS):
            share: uint256 = 0
            if i == count - 1:
                # The last receiver gets the rounding dust, so the shares add up to `rest` exactly.
                share = rest - paid
            else:
                # Round down; the dust goes to the last receiver.
                share = rest * self._weights[i] // BPS
            paid += share
            if share != 0:
                extcall IClubToken(token).mint(self._receivers[i], share)
                log IEmission.Distributed(receiver=self._receivers[i], amount=share)

    log IEmission.Emitted(caller=caller, first_epoch=first_epoch, epochs=n, amount=amount, tip=tip_paid)
    return amount


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
@view
def _due_amount(n: uint256) -> uint256:
    """
    @dev Wei to mint when settling `n` more epochs: E(epochs_minted + n) - emitted.
    """
    if n == 0:
        return 0
    target: uint256 = self._scheduled_emitted(self.epochs_minted + n)
    emitted_: uint256 = self.emitted
    # E(k) is non-decreasing because the rounded-up power never increases with k
    # (tests/unit/emission/test_schedule.py); this guard only keeps the mint
    # non-negative should rounding ever say otherwise deep in the dust tail.
    if target <= emitted_:
        return 0
    return target - emitted_


@internal
@view
def _scheduled_emitted(epochs: uint256) -> uint256:
    """
    @dev E(epochs) = anchor_emitted + (R0 - R(epochs)) with R0 the remainder at the
         anchor and R the closed-form remainder.
    """
    anchor_emitted_: uint256 = self.anchor_emitted
    anchored_remaining: uint256 = reserve - anchor_emitted_
    left: uint256 = self._remaining_after(
        anchored_remaining, self.rate_per_epoch, epochs - self.anchor_epoch
    )
    return anchor_emitted_ + anchored_remaining - left


@internal
@pure
def _remaining_after(remaining_: uint256, rate: uint256, k: uint256) -> uint256:
    """
    @dev remaining_ * (1 - rate)^k, rounded UP (in favour of the reserve: what is
         left is never under-stated, so what is minted is never over-stated).
         remaining_ <= MAX_RESERVE (checked at deploy) keeps remaining_ * factor < 2^256.
    """
    factor: uint256 = self._pow_up((WAD - rate) * WAD, k)
    return (remaining_ * factor + RAY - 1) // RAY


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
