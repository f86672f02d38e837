# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title VestingEscrow
@custom:contract-name VestingEscrow
@license GNU Affero General Public License v3.0 only
@notice One beneficiary's vesting allocation. `Vesting` deploys one EIP-1167
        minimal proxy of this contract per allocation and initialises it in the
        same transaction. The escrow holds the still-locked CLUB itself, so it can
        delegate their votes: at initialisation it delegates to the beneficiary,
        who may re-delegate at any time with `delegate`.

        Linear vesting after a cliff (all times in seconds):
            vested(t) = 0                                if t < start + cliff
                      = total * (t - start) / duration   if t < start + duration (rounded down)
                      = total                            otherwise
        and, once revoked at time t_r, vested(t) = vested(min(t, t_r)).
@custom:security The implementation contract marks itself initialised in its
        constructor, so only proxies (which start with empty storage) can be
        initialised, once. CLUB sent to an escrow by anyone other than `Vesting`
        is not part of the allocation and stays locked in it.
"""

from interfaces import IClubToken
from interfaces import IVestingEscrow

implements: IVestingEscrow


# STORAGE #

# @dev The Vesting contract that created and initialised this escrow (may revoke it).
vesting: public(address)
# @dev The CLUB token.
token: public(address)
# @dev Who receives the vested tokens and controls the votes of the locked ones.
beneficiary: public(address)
# @dev The allocation in wei (never changes, even after a revocation).
total: public(uint256)
# @dev Wei released to the beneficiary so far.
claimed: public(uint256)
# @dev Vesting start timestamp (s).
start: public(uint256)
# @dev Cliff length in seconds after `start`; nothing vests before start + cliff.
cliff: public(uint256)
# @dev Vesting length in seconds after `start`; everything is vested at start + duration.
duration: public(uint256)
# @dev Whether the DAO may revoke the unvested part.
revocable: public(bool)
# @dev Timestamp of the revocation (s), 0 while not revoked.
revoked_at: public(uint256)
# @dev Wei returned to the treasury by the revocation.
unvested_revoked: public(uint256)
# @dev True once initialised (set in the implementation's constructor, too).
_initialised: bool


# EVENTS #

# @dev `amount` wei released to `beneficiary`; `total_claimed` wei released so far.
event Claimed:
    beneficiary: indexed(address)
    amount: uint256
    total_claimed: uint256

# @dev The escrow's votes now go to `delegatee` (the token logs DelegateChanged too).
event DelegateSet:
    beneficiary: indexed(address)
    delegatee: indexed(address)

# @dev The allocation was revoked at `revoked_at`; `unvested` wei went to `treasury`.
event Revoked:
    treasury: indexed(address)
    unvested: uint256
    revoked_at: uint256


@deploy
def __init__():
    """
    @dev Locks the implementation: it can never be initialised itself. Proxies do
         not run this constructor and start uninitialised.
    """
    self._initialised = True


# SET-UP #


@external
def initialise(
    token_: address,
    beneficiary_: address,
    total_: uint256,
    start_: uint256,
    cliff_: uint256,
    duration_: uint256,
    revocable_: bool,
):
    """
    @notice Set the allocation up; callable once. The caller becomes `vesting`.
    @dev `Vesting` validates the inputs and calls this in the transaction that
         creates the proxy, before funding it. Delegates the escrow's votes to
         the beneficiary.
    @param token_ The CLUB token.
    @param beneficiary_ Receiver of the vested tokens.
    @param total_ Allocation in wei (funded by `Vesting` right after).
    @param start_ Vesting start timestamp (s).
    @param cliff_ Cliff length (s), <= duration_.
    @param duration_ Vesting length (s), > 0.
    @param revocable_ Whether the allocation may be revoked.
    """
    assert not self._initialised, "vesting: escrow already initialised"
    self._initialised = True
    self.vesting = msg.sender
    self.token = token_
    self.beneficiary = beneficiary_
    self.total = total_
    self.start = start_
    self.cliff = cliff_
    self.duration = duration_
    self.revocable = revocable_
    extcall IClubToken(token_).delegate(beneficiary_)
    log DelegateSet(beneficiary=beneficiary_, delegatee=beneficiary_)


@external
def revoke(treasury: address) -> uint256:
    """
    @notice Stop vesting now and send the unvested part to `treasury`. `vesting` only.
    @dev What is vested at this moment stays claimable by the beneficiary.
    @param treasury Receiver of the unvested tokens.
    @return uint256 Wei sent to the treasury.
    """
    assert msg.sender == self.vesting, "vesting: caller is not the vesting contract"
    assert self.revocable, "vesting: not revocable"
    assert self.revoked_at == 0, "vesting: already revoked"
    vested_now: uint256 = self._vested_at(block.timestamp)
    unvested: uint256 = self.total - vested_now
    self.revoked_at = block.timestamp
    self.unvested_revoked = unvested
    if unvested != 0:
        assert extcall IClubToken(self.token).transfer(treasury, unvested), "vesting: transfer failed"
    log Revoked(treasury=treasury, unvested=unvested, revoked_at=block.timestamp)
    return unvested


# BENEFICIARY #


@external
def claim() -> uint256:
    """
    @notice Release everything vested and not yet claimed to the beneficiary.
    @dev Returns 0 (no revert) when nothing is claimable.
    @return uint256 Wei released.
    """
    beneficiary_: address = self.beneficiary
    assert msg.sender == beneficiary_, "vesting: not beneficiary"
    amount: uint256 = self._vested_at(block.timestamp) - self.claimed
    if amount != 0:
        self.claimed += amount
        assert extcall IClubToken(self.token).transfer(beneficiary_, amount), "vesting: transfer failed"
    log Claimed(beneficiary=beneficiary_, amount=amount, total_claimed=self.claimed)
    return amount


@external
def delegate(delegatee: address):
    """
    @notice Delegate the votes of the tokens held by this escrow. Beneficiary only.
    @param delegatee Who gets the votes (the zero address removes the delegation).
    """
    assert msg.sender == self.beneficiary, "vesting: not beneficiary"
    extcall IClubToken(self.token).delegate(delegatee)
    log DelegateSet(beneficiary=msg.sender, delegatee=delegatee)


# VIEWS #


@external
@view
def vested_at(t: uint256) -> uint256:
    """
    @notice Wei vested at timestamp `t` (frozen at the revocation time if revoked).
    @param t A timestamp (s).
    @return uint256 Vested wei, rounded down.
    """
    return self._vested_at(t)


@external
@view
def vested() -> uint256:
    """
    @notice Wei vested now.
    @return uint256 `vested_at(block.timestamp)`.
    """
    return self._vested_at(block.timestamp)


@external
@view
def claimable() -> uint256:
    """
    @notice Wei the beneficiary can claim now.
    @return uint256 Vested minus claimed.
    """
    return self._vested_at(block.timestamp) - self.claimed


@external
@view
def locked() -> uint256:
    """
    @notice Wei of the allocation still held and not yet vested (0 once revoked).
    @return uint256 total - vested - unvested_revoked.
    """
    return self.total - self._vested_at(block.timestamp) - self.unvested_revoked


# INTERNAL #


@internal
@view
def _vested_at(t: uint256) -> uint256:
    revoked_at_: uint256 = self.revoked_at
    time: uint256 = t
    if revoked_at_ != 0 and time > revoked_at_:
        time = revoked_at_
    start_: uint256 = self.start
    if time < start_ + self.cliff:
        return 0
    if time >= start_ + self.duration:
        return self.total
    # Round down: the beneficiary never gets ahead of the schedule.
    return self.total * (time - start_) // self.duration
