# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Vesting
@custom:contract-name Vesting
@license GNU Affero General Public License v3.0 only
@notice Creates and registers the vesting allocations (team, investors,
        ecosystem, ...). Each allocation lives in its own `VestingEscrow`
        (an EIP-1167 minimal proxy), which holds the locked CLUB, so the
        beneficiary can delegate the votes of tokens that are still locked.
        Beneficiaries claim and delegate on their escrow; the DAO (REVOKER_ROLE)
        can revoke a revocable allocation here, which sends the unvested part to
        `treasury` and freezes vesting at that moment.
@custom:security Only escrows created here are known (`is_escrow`); `revoke`
        refuses any other address. Creating an allocation pulls the tokens from
        the creator with `transferFrom`, so the creator approves this contract first.
"""

from interfaces import IClubToken
from interfaces import IVestingEscrow

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

# @dev Role allowed to create vesting allocations.
VESTING_CREATOR_ROLE: public(constant(bytes32)) = keccak256("VESTING_CREATOR_ROLE")
# @dev Role allowed to revoke revocable allocations (handed to the Timelock).
REVOKER_ROLE: public(constant(bytes32)) = keccak256("REVOKER_ROLE")


# IMMUTABLES #

# @dev The CLUB token.
token: public(immutable(address))
# @dev The VestingEscrow implementation every escrow is a minimal proxy of.
escrow_implementation: public(immutable(address))


# STORAGE #

# @dev Receiver of revoked (unvested) tokens.
treasury: public(address)
# @dev Number of escrows created.
escrow_count: public(uint256)
# @dev Escrow by creation index (0 .. escrow_count - 1).
escrows: public(HashMap[uint256, address])
# @dev True for escrows created by this contract.
is_escrow: public(HashMap[address, bool])
# @dev Number of escrows per beneficiary.
escrow_count_of: public(HashMap[address, uint256])
# @dev Escrow of a beneficiary by index (0 .. escrow_count_of(beneficiary) - 1).
escrow_of: public(HashMap[address, HashMap[uint256, address]])
# @dev Sum in wei of every allocation created.
total_allocated: public(uint256)
# @dev Sum in wei sent back to the treasury by revocations.
total_revoked: public(uint256)


# EVENTS #

# @dev A new allocation of `amount` wei for `beneficiary`, held by `escrow`;
# times in seconds (`start` a timestamp, `cliff` and `duration` lengths).
event VestingCreated:
    escrow: indexed(address)
    beneficiary: indexed(address)
    creator: indexed(address)
    amount: uint256
    start: uint256
    cliff: uint256
    duration: uint256
    revocable: bool

# @dev `escrow` was revoked; `unvested` wei went to `treasury`.
event VestingRevoked:
    escrow: indexed(address)
    beneficiary: indexed(address)
    treasury: indexed(address)
    unvested: uint256

# @dev The treasury that receives revoked tokens changed.
event TreasuryChanged:
    old_treasury: indexed(address)
    new_treasury: indexed(address)


@deploy
def __init__(token_: address, escrow_implementation_: address, treasury_: address):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE, VESTING_CREATOR_ROLE and REVOKER_ROLE.
    @param token_ The CLUB token.
    @param escrow_implementation_ A deployed VestingEscrow (the proxies' code).
    @param treasury_ Receiver of revoked tokens.
    """
    access_control.__init__()
    access_control._grant_role(VESTING_CREATOR_ROLE, msg.sender)
    access_control._grant_role(REVOKER_ROLE, msg.sender)
    assert token_ != empty(address), "vesting: zero token"
    assert escrow_implementation_.is_contract, "vesting: implementation has no code"
    assert treasury_ != empty(address), "vesting: zero treasury"
    token = token_
    escrow_implementation = escrow_implementation_
    self.treasury = treasury_


# ALLOCATIONS #


@external
def create_vesting(
    beneficiary: address,
    amount: uint256,
    start: uint256,
    cliff_seconds: uint256,
    duration_seconds: uint256,
    revocable: bool,
) -> address:
    """
    @notice Lock `amount` CLUB from the caller in a new escrow for `beneficiary`.
            VESTING_CREATOR_ROLE only; the caller must have approved `amount`.
    @dev The escrow delegates its votes to the beneficiary at creation.
    @param beneficiary Receiver of the vested tokens.
    @param amount Allocation in wei, > 0.
    @param start Vesting start timestamp (s); may be in the past.
    @param cliff_seconds Nothing vests before start + cliff_seconds; <= duration_seconds.
    @param duration_seconds Everything is vested at start + duration_seconds; > 0.
    @param revocable Whether REVOKER_ROLE may claw the unvested part back.
    @return address The new escrow.
    """
    access_control._check_role(VESTING_CREATOR_ROLE, msg.sender)
    assert beneficiary != empty(address), "vesting: zero beneficiary"
    assert amount != 0, "vesting: zero amount"
    assert duration_seconds != 0, "vesting: zero duration"
    assert cliff_seconds <= duration_seconds, "vesting: cliff exceeds duration"

    escrow: address = create_minimal_proxy_to(escrow_implementation)
    extcall IVestingEscrow(escrow).initialise(
        token, beneficiary, amount, start, cliff_seconds, duration_seconds, revocable
    )
    assert extcall IClubToken(token).transferFrom(msg.sender, escrow, amount), "vesting: transfer failed"

    index: uint256 = self.escrow_count
    self.escrows[index] = escrow
    self.escrow_count = index + 1
    self.is_escrow[escrow] = True
    own: uint256 = self.escrow_count_of[beneficiary]
    self.escrow_of[beneficiary][own] = escrow
    self.escrow_count_of[beneficiary] = own + 1
    self.total_allocated += amount

    log VestingCreated(
        escrow=escrow,
        beneficiary=beneficiary,
        creator=msg.sender,
        amount=amount,
        start=start,
        cliff=cliff_seconds,
        duration=duration_seconds,
        revocable=revocable,
    )
    return escrow


@external
def revoke(escrow: address) -> uint256:
    """
    @notice Revoke a revocable allocation now: the unvested part goes to `treasury`,
            the vested part stays claimable. REVOKER_ROLE only.
    @param escrow An escrow created by this contract.
    @return uint256 Wei sent to the treasury.
    """
    access_control._check_role(REVOKER_ROLE, msg.sender)
    assert self.is_escrow[escrow], "vesting: unknown escrow"
    treasury_: address = self.treasury
    # The escrow enforces "vesting: not revocable" and "vesting: already revoked".
    unvested: uint256 = extcall IVestingEscrow(escrow).revoke(treasury_)
    self.total_revoked += unvested
    log VestingRevoked(
        escrow=escrow,
        beneficiary=staticcall IVestingEscrow(escrow).beneficiary(),
        treasury=treasury_,
        unvested=unvested,
    )
    return unvested


# ADMIN #


@external
def set_treasury(new_treasury: address):
    """
    @notice Change the receiver of revoked tokens. DEFAULT_ADMIN_ROLE only.
    @param new_treasury The new treasury, non-zero.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert new_treasury != empty(address), "vesting: zero treasury"
    log TreasuryChanged(old_treasury=self.treasury, new_treasury=new_treasury)
    self.treasury = new_treasury
