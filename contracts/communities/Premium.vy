# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Premium
@custom:contract-name Premium
@license GNU Affero General Public License v3.0 only
@notice Premium tiers of Club Chat, paid in CLUB. Tier 0 is the free tier;
        governance sets every tier's limits (largest text message, largest
        file, longest call, mailbox quota), which relays enforce, its price per
        period and its lock threshold.

        Two ways to hold a tier, and an account holds the highest tier any of
        them gives (`tier_of`, several subscriptions may run at once):
        - Subscription: anyone pays `price * periods` for any account (gifting).
          Time stacks: a renewal starts where the running subscription of that
          tier ends. Of each payment the governance-set `burn_bps` share is
          set aside for burning (rounded down) and the rest for node rewards;
          `settle` (anyone, any time) burns the first and transfers the second
          to the NodeRegistry, which counts CLUB it holds above what it owes as
          new node rewards: the path emission's node share takes. Settling in
          batches keeps a payment at one token transfer: a burn in every
          payment would also write a new total-supply vote checkpoint (~20,000
          gas) each time.
        - Stake lock: `lock` CLUB (at least the lowest tier's threshold). The
          tier lasts while the tokens stay locked; `request_unlock` ends it at
          once and the tokens can be withdrawn after the unlock delay.
@custom:security Subscriptions are not refundable. Set-aside shares wait in this
                 contract until someone calls `settle` (one wei of each stays
                 behind so later payments update non-zero words); they are
                 never counted as locked stake and nothing but `settle` moves
                 them. A tier's threshold or price change applies from the next
                 `tier_of` read: locked accounts move with the threshold,
                 running subscriptions keep their time. The token is CLUB (no
                 fee-on-transfer, no callbacks).
"""

from interfaces import IClubToken
from interfaces import IPremium

implements: IPremium

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

# @dev Role allowed to set tiers and terms (handed to the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")

# @dev Tiers 0 (free) to MAX_TIER; bounds the loop of `tier_of`.
MAX_TIER: public(constant(uint256)) = 7
# @dev Most periods bought in one payment (bounds the time a payment can add).
MAX_PERIODS: public(constant(uint256)) = 120
# @dev Basis points: `burn_bps` is at most this.
BPS: constant(uint256) = 10_000
# @dev Bounds on the terms: a period between an hour and a year, an unlock delay of at most a year.
MIN_PERIOD_SECONDS: constant(uint256) = 3600
MAX_PERIOD_SECONDS: constant(uint256) = 365 * 86400
MAX_UNLOCK_DELAY_SECONDS: constant(uint256) = 365 * 86400


# IMMUTABLES #

# @dev CLUB: subscriptions are paid and locks are held in it.
TOKEN: public(immutable(IClubToken))
# @dev NodeRegistry: receives the node share of every subscription.
REGISTRY: public(immutable(address))


# STRUCTS #


# @dev One tier: limits relays enforce, price per period (wei; 0: not sold),
# lock threshold (wei; 0: not reachable by a lock).
struct Tier:
    max_message_bytes: uint256
    max_file_bytes: uint256
    max_call_seconds: uint256
    mailbox_quota_bytes: uint256
    price_per_period: uint256
    lock_amount: uint256


# @dev An account's lock: `amount` wei held; `unlock_at` 0 while locked, else
# the time (unix s) from which the unlocking tokens can be withdrawn.
struct Lock:
    amount: uint256
    unlock_at: uint256


# @dev Bit fields of `_terms` and `_pending`.
_MASK64: constant(uint256) = 2**64 - 1
_MASK128: constant(uint256) = 2**128 - 1
_BURN_SHIFT: constant(uint256) = 64
_DELAY_SHIFT: constant(uint256) = 80
_COUNT_SHIFT: constant(uint256) = 144


# STORAGE #

# @dev Packed terms, one read per payment: period (s, bits 0-63), burn share (bps,
# bits 64-79), unlock delay (s, bits 80-143), highest configured tier (bits 144-151).
_terms: uint256
# @dev Set aside and not yet settled (wei): to burn (bits 0-127), to nodes (bits 128-255).
_pending: uint256
# @dev tier -> its settings.
tiers: public(HashMap[uint256, Tier])
# @dev account -> tier -> end of its subscription (unix s; 0: never subscribed).
_subscriptions: HashMap[address, HashMap[uint256, uint256]]
# @dev account -> its stake lock.
locks: public(HashMap[address, Lock])


# EVENTS #
# Declared once, in interfaces/IPremium.vyi, and logged as `IPremium.<Event>`.


@deploy
def __init__(
    token: IClubToken,
    registry: address,
    period_seconds: uint256,
    burn_bps: uint256,
    unlock_delay_seconds: uint256,
    free_limits: uint256[4],
):
    """
    @param token The CLUB token.
    @param registry The NodeRegistry (receives the node share).
    @param period_seconds Subscription period (s).
    @param burn_bps Burnt share of payments (bps).
    @param unlock_delay_seconds Delay before unlocked tokens can be withdrawn (s).
    @param free_limits The free tier's limits: message bytes, file bytes, call seconds, mailbox bytes.
    @dev The deployer receives DEFAULT_ADMIN_ROLE and PARAMETER_ROLE; the deploy
         plan adds the paid tiers, then hands both roles to the Timelock.
    """
    assert registry != empty(address), "premium: zero registry"
    TOKEN = token
    REGISTRY = registry
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    self._set_terms(period_seconds, burn_bps, unlock_delay_seconds)
    self._set_tier(0, free_limits, 0, 0)


# GOVERNANCE #


@external
def set_terms(period_seconds: uint256, burn_bps: uint256, unlock_delay_seconds: uint256):
    """
    @notice Set the subscription period, the burnt share and the unlock delay.
    @param period_seconds Period length (s), an hour to a year; running subscriptions keep their end.
    @param burn_bps Burnt share of payments (bps, at most 10,000).
    @param unlock_delay_seconds Unlock delay (s), at most a year.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._set_terms(period_seconds, burn_bps, unlock_delay_seconds)


@external
def set_tier(tier: uint256, limits: uint256[4], price_per_period: uint256, lock_amount: uint256):
    """
    @notice Set a tier's limits, price and lock threshold; `tier_count + 1` adds a tier.
    @param tier 0 (free: no price, no lock) to `tier_count + 1` (at most MAX_TIER).
    @param limits Message bytes, file bytes, call seconds, mailbox bytes.
    @param price_per_period Price of one period (wei; 0: not sold).
    @param lock_amount Lock that gives the tier (wei; 0: not reachable by a lock).
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._set_tier(tier, limits, price_per_period, lock_amount)


# SUBSCRIPTIONS #


@external
def subscribe(account: address, tier: uint256, periods: uint256) -> uint256:
    """
    @notice Pay `periods` periods of `tier` for `account` (yourself or a gift);
            approve this contract for the price first.
    @param account Who gets the tier.
    @param tier A paid tier (1..tier_count) with a price.
    @param periods 1..MAX_PERIODS.
    @return When `account`'s subscription of `tier` now ends (unix s).
    """
    assert account != empty(address), "premium: zero account"
    terms: uint256 = self._terms
    assert tier != 0 and tier <= terms >> _COUNT_SHIFT, "premium: no such tier"
    assert periods != 0 and periods <= MAX_PERIODS, "premium: periods out of range"
    price: uint256 = self.tiers[tier].price_per_period
    assert price != 0, "premium: tier not for sale"
    cost: uint256 = price * periods
    # Rounded down: the burn never exceeds its share, the node share takes the dust.
    burned: uint256 = cost * ((terms >> _BURN_SHIFT) & 65535) // BPS
    to_nodes: uint256 = cost - burned
    start: uint256 = max(block.timestamp, self._subscriptions[account][tier])
    expires_at: uint256 = start + periods * (terms & _MASK64)
    self._subscriptions[account][tier] = expires_at
    pending: uint256 = self._pending
    # Both halves stay far below 2**128: all CLUB ever is below the 2**90 cap.
    self._pending = pending + burned + (to_nodes << 128)
    assert extcall TOKEN.transferFrom(msg.sender, self, cost), "premium: transfer failed"
    log IPremium.Subscribed(
        payer=msg.sender,
        account=account,
        tier=tier,
        periods=periods,
        paid=cost,
        burn_share=burned,
        expires_at=expires_at,
    )
    return expires_at


@external
def settle() -> (uint256, uint256):
    """
    @notice Burn the set-aside burn share and send the node share to the NodeRegistry
            (anyone); one wei of each stays set aside (see below).
    @return The wei burnt and the wei sent to the NodeRegistry.
    """
    pending: uint256 = self._pending
    # One wei of each share stays behind, so the next payment updates non-zero words
    # (this contract's balance and `_pending`) instead of creating them (~40,000 gas).
    burned: uint256 = 0
    to_nodes: uint256 = 0
    if pending & _MASK128 > 1:
        burned = (pending & _MASK128) - 1
    if pending >> 128 > 1:
        to_nodes = (pending >> 128) - 1
    self._pending = pending - burned - (to_nodes << 128)
    if burned != 0:
        extcall TOKEN.burn(burned)
    if to_nodes != 0:
        assert extcall TOKEN.transfer(REGISTRY, to_nodes), "premium: transfer failed"
    log IPremium.Settled(caller=msg.sender, burned=burned, to_nodes=to_nodes)
    return burned, to_nodes


# STAKE LOCKS #


@external
def lock(amount: uint256):
    """
    @notice Lock `amount` more CLUB (approve this contract first); cancels a pending unlock.
    @param amount Wei to add; the total must reach some tier's lock threshold.
    """
    assert amount != 0, "premium: zero amount"
    total: uint256 = self.locks[msg.sender].amount + amount
    assert self._lock_tier(total) != 0, "premium: lock below every tier's threshold"
    self.locks[msg.sender] = Lock(amount=total, unlock_at=0)
    assert extcall TOKEN.transferFrom(msg.sender, self, amount), "premium: transfer failed"
    log IPremium.Locked(account=msg.sender, amount=amount, total=total)


@external
def request_unlock():
    """
    @notice Start unlocking everything locked: the lock's tier ends now, the tokens
            can be withdrawn after the unlock delay (`lock` again to cancel).
    """
    held: Lock = self.locks[msg.sender]
    assert held.amount != 0, "premium: nothing locked"
    assert held.unlock_at == 0, "premium: unlock already requested"
    available_at: uint256 = block.timestamp + ((self._terms >> _DELAY_SHIFT) & _MASK64)
    # `unlock_at` 0 means "locked"; a zero delay at timestamp 0 cannot happen on a live chain.
    self.locks[msg.sender].unlock_at = max(available_at, 1)
    log IPremium.UnlockRequested(account=msg.sender, amount=held.amount, available_at=available_at)


@external
def unlock() -> uint256:
    """
    @notice Withdraw the tokens of a requested unlock once the delay has passed.
    @return The wei withdrawn.
    """
    held: Lock = self.locks[msg.sender]
    assert held.unlock_at != 0, "premium: no unlock requested"
    assert block.timestamp >= held.unlock_at, "premium: unlock delay not over"
    self.locks[msg.sender] = empty(Lock)
    assert extcall TOKEN.transfer(msg.sender, held.amount), "premium: transfer failed"
    log IPremium.Unlocked(account=msg.sender, amount=held.amount)
    return held.amount


# VIEWS #


@view
@external
def tier_of(account: address) -> uint256:
    """
    @notice The highest tier `account` holds now, by subscription or lock (0: free).
    """
    return self._tier_of(account)


@view
@external
def limits_of(account: address) -> (uint256, uint256, uint256, uint256):
    """
    @notice `account`'s limits now: message bytes, file bytes, call seconds, mailbox bytes.
    """
    t: Tier = self.tiers[self._tier_of(account)]
    return t.max_message_bytes, t.max_file_bytes, t.max_call_seconds, t.mailbox_quota_bytes


@view
@external
def period_seconds() -> uint256:
    """
    @notice Length of a subscription period (s).
    """
    return self._terms & _MASK64


@view
@external
def burn_bps() -> uint256:
    """
    @notice Share of each payment that is burnt (bps); the rest goes to node rewards.
    """
    return (self._terms >> _BURN_SHIFT) & 65535


@view
@external
def unlock_delay_seconds() -> uint256:
    """
    @notice Delay between `request_unlock` and `unlock` (s).
    """
    return (self._terms >> _DELAY_SHIFT) & _MASK64


@view
@external
def tier_count() -> uint256:
    """
    @notice Highest configured tier (tiers 1..tier_count exist; tier 0 always does).
    """
    return self._terms >> _COUNT_SHIFT


@view
@external
def pending_burn() -> uint256:
    """
    @notice Wei set aside for burning, burnt by the next `settle`.
    """
    return self._pending & _MASK128


@view
@external
def pending_to_nodes() -> uint256:
    """
    @notice Wei set aside for node rewards, sent to the NodeRegistry by the next `settle`.
    """
    return self._pending >> 128


@view
@external
def subscription_expiry(account: address, tier: uint256) -> uint256:
    """
    @notice End of `account`'s subscription of `tier` (unix s; 0: never subscribed).
    """
    return self._subscriptions[account][tier]


@view
@external
def locked(account: address) -> uint256:
    """
    @notice Wei `account` has locked (unlocking included).
    """
    return self.locks[account].amount


# INTERNAL #


@view
@internal
def _tier_of(account: address) -> uint256:
    held: Lock = self.locks[account]
    lock_amount: uint256 = 0
    if held.unlock_at == 0:
        lock_amount = held.amount
    top: uint256 = self._terms >> _COUNT_SHIFT
    # Highest tier first; bounded by MAX_TIER.
    for i: uint256 in range(MAX_TIER):
        tier: uint256 = top - i
        if tier == 0:
            break
        if self._subscriptions[account][tier] > block.timestamp:
            return tier
        threshold: uint256 = self.tiers[tier].lock_amount
        if threshold != 0 and lock_amount >= threshold:
            return tier
    return 0


@view
@internal
def _lock_tier(amount: uint256) -> uint256:
    top: uint256 = self._terms >> _COUNT_SHIFT
    # Bounded by MAX_TIER.
    for i: uint256 in range(MAX_TIER):
        tier: uint256 = top - i
        if tier == 0:
            break
        threshold: uint256 = self.tiers[tier].lock_amount
        if threshold != 0 and amount >= threshold:
            return tier
    return 0


@internal
def _set_terms(period_seconds: uint256, burn_bps: uint256, unlock_delay_seconds: uint256):
    assert period_seconds >= MIN_PERIOD_SECONDS and period_seconds <= MAX_PERIOD_SECONDS, "premium: period out of range"
    assert burn_bps <= BPS, "premium: burn share above 100%"
    assert unlock_delay_seconds <= MAX_UNLOCK_DELAY_SECONDS, "premium: unlock delay too long"
    count_bits: uint256 = self._terms & (255 << _COUNT_SHIFT)
    self._terms = period_seconds | (burn_bps << _BURN_SHIFT) | (unlock_delay_seconds << _DELAY_SHIFT) | count_bits
    log IPremium.TermsChanged(
        period_seconds=period_seconds, burn_bps=burn_bps, unlock_delay_seconds=unlock_delay_seconds
    )


@internal
def _set_tier(tier: uint256, limits: uint256[4], price_per_period: uint256, lock_amount: uint256):
    count: uint256 = self._terms >> _COUNT_SHIFT
    assert tier <= count + 1 and tier <= MAX_TIER, "premium: no such tier"
    if tier == 0:
        assert price_per_period == 0 and lock_amount == 0, "premium: the free tier has no price or lock"
    else:
        assert price_per_period != 0 or lock_amount != 0, "premium: tier needs a price or a lock"
        # Keeps `cost = price * periods` far from overflow.
        assert price_per_period <= 10**9 * 10**18, "premium: price too high"
    if tier == count + 1:
        self._terms = (self._terms & ~(255 << _COUNT_SHIFT)) | (tier << _COUNT_SHIFT)
    self.tiers[tier] = Tier(
        max_message_bytes=limits[0],
        max_file_bytes=limits[1],
        max_call_seconds=limits[2],
        mailbox_quota_bytes=limits[3],
        price_per_period=price_per_period,
        lock_amount=lock_amount,
    )
    log IPremium.TierChanged(
        tier=tier,
        max_message_bytes=limits[0],
        max_file_bytes=limits[1],
        max_call_seconds=limits[2],
        mailbox_quota_bytes=limits[3],
        price_per_period=price_per_period,
        lock_amount=lock_amount,
    )
