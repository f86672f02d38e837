# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Club Token (CLUB)
@custom:contract-name ClubToken
@license GNU Affero General Public License v3.0 only
@notice ERC-20 with EIP-2612 permit (EOA and EIP-1271 owners), EIP-5267,
        ERC-5805 votes on an ERC-6372 timestamp clock, a hard cap, role-gated
        minting and burns for the protocol's fee sinks.

        What it adds beyond the standards: votes cost nothing while unused,
        and little when used. The `votes` module keeps each account's balance,
        delegate and (for holders delegating to themselves) vote checkpoint
        state in one storage slot, so a transfer between holders who do not
        delegate touches exactly two slots, like a plain ERC-20, and one
        between self-delegated holders two slots plus the packed history.
        Because of that layout the ERC-20 core is written here instead of
        taken from snekmate's `erc20`; tests/fuzz/test_erc20_differential.py
        runs the same random operations on both and compares balances,
        allowances, events and reverts (the revert strings are snekmate's).
        The EIP-712 domain separator, ECDSA recovery, EIP-1271 check and
        access control are snekmate's modules.
@custom:security Balances fit in 90 bits because the cap (1e27 wei) is below
                 2**90; `mint` enforces the cap, so no balance can overflow
                 into the neighbouring bits of the account slot.
                 Signatures are not unique identifiers: nonces are.
                 `permit` and `delegateBySig` share one nonce per account, as
                 in OpenZeppelin.
                 The hot ERC-20 paths are `@reentrant` (no lock): no function of
                 this contract calls another contract while changing state (the
                 only external call is permit's EIP-1271 `staticcall`), so the
                 lock would guard nothing and cost ~330 gas per transfer, which
                 is what keeps a non-delegating transfer under plain OZ ERC-20.
"""


from ethereum.ercs import IERC20
implements: IERC20

from ethereum.ercs import IERC20Detailed
implements: IERC20Detailed

from snekmate.tokens.interfaces import IERC20Permit
implements: IERC20Permit

from snekmate.utils.interfaces import IERC5267
implements: IERC5267

from interfaces import IClubToken
implements: IClubToken


from snekmate.auth import access_control
initializes: access_control

from snekmate.utils import ecdsa
from snekmate.utils import signature_checker

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from contracts.modules import votes
initializes: votes


exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.DEFAULT_ADMIN_ROLE,
    # `set_role_admin` is left out on purpose: the role hierarchy is fixed
    # (DEFAULT_ADMIN_ROLE administers MINTER_ROLE) and needs no governance knob.
    eip712_domain_separator.eip712Domain,
    votes.clock,
    votes.CLOCK_MODE,
    votes.getVotes,
    votes.getPastVotes,
    votes.getPastTotalSupply,
    votes.numCheckpoints,
    votes.checkpoints,
)


# @dev Role allowed to mint (the Emission contract; the deployer only for the
# genesis distribution, after which it renounces the role).
MINTER_ROLE: public(constant(bytes32)) = keccak256("MINTER_ROLE")

# @dev EIP-2612 and ERC-5805 typed-data hashes (OpenZeppelin's exact strings).
_PERMIT_TYPE_HASH: constant(bytes32) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
_DELEGATION_TYPE_HASH: constant(bytes32) = keccak256("Delegation(address delegatee,uint256 nonce,uint256 expiry)")

# @dev Largest cap the 90-bit balance and vote fields of `votes` allow.
_MAX_CAP: constant(uint256) = (1 << 90) - 1
# @dev secp256k1n / 2: larger `s` values are malleable (EIP-2).
_MALLEABILITY_THRESHOLD: constant(uint256) = (
    57896044618658097711785492504343953926418782139537452191302581570759080747168
)


# @dev Token name and symbol (lower case: the ERC-20 getter names).
name: public(immutable(String[25]))
symbol: public(immutable(String[5]))
# @dev Maximum total supply, in wei; never changes.
cap: public(immutable(uint256))
# @dev ERC-20 decimals.
decimals: public(constant(uint8)) = 18


# @dev owner -> spender -> remaining allowance (wei); max uint256 = infinite.
allowance: public(HashMap[address, HashMap[address, uint256]])

# @dev Next signature nonce of an account, shared by `permit` and `delegateBySig`.
nonces: public(HashMap[address, uint256])


# EVENTS #
# Declared once, in interfaces/IClubToken.vyi (Transfer, Approval, DelegateChanged,
# DelegateVotesChanged: the ABI this token emits), and logged as `IClubToken.<Event>`.


@deploy
@payable
def __init__(
    name_: String[25],
    symbol_: String[5],
    cap_: uint256,
    name_eip712_: String[50],
    version_eip712_: String[20],
):
    """
    @param name_ Token name ("Club Token").
    @param symbol_ Token symbol ("CLUB").
    @param cap_ Hard cap on the total supply, in wei.
    @param name_eip712_ EIP-712 domain name (the token name).
    @param version_eip712_ EIP-712 domain version.
    @dev The deployer receives DEFAULT_ADMIN_ROLE and MINTER_ROLE; the deploy
         plan renounces the minter role after the genesis mint and hands the
         admin role to the Timelock.
    """
    assert cap_ > 0 and cap_ <= _MAX_CAP, "club: cap out of range"
    name = name_
    symbol = symbol_
    cap = cap_
    access_control.__init__()
    access_control._grant_role(MINTER_ROLE, msg.sender)
    eip712_domain_separator.__init__(name_eip712_, version_eip712_)
    votes.__init__()


# ERC-20 #######################################################################


@external
@view
@reentrant
def totalSupply() -> uint256:
    """
    @notice Tokens in existence, in wei.
    @return uint256 The total supply (wei).
    """
    return votes._total_supply()


@external
@view
@reentrant
def balanceOf(account: address) -> uint256:
    """
    @notice Balance of `account`, in wei.
    @param account The holder.
    @return uint256 Its balance (wei).
    """
    return votes._balance_of(account)


@external
@reentrant
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from the caller to `to`; votes follow the delegates.
    @param to The receiver (not the zero address).
    @param amount Wei to move.
    @return bool True (failures revert).
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
@reentrant
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` from `owner` to `to` using the caller's allowance.
    @dev An allowance of max uint256 is infinite and is not decreased.
    @param owner The holder whose tokens move.
    @param to The receiver (not the zero address).
    @param amount Wei to move.
    @return bool True (failures revert).
    """
    self._spend_allowance(owner, msg.sender, amount)
    self._transfer(owner, to, amount)
    return True


@external
@reentrant
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Lets `spender` move up to `amount` of the caller's tokens.
    @param spender Who may spend (not the zero address).
    @param amount Allowance in wei (replaces the old one; max uint256 = infinite).
    @return bool True (failures revert).
    """
    self._approve(msg.sender, spender, amount)
    return True


@external
def permit(owner: address, spender: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @notice EIP-2612: sets `owner`'s allowance for `spender` from an EIP-712
            signature. Owners that are contracts are checked with EIP-1271.
    @dev The EOA path costs exactly one `ecrecover`; the EIP-1271 call is only
         tried when ECDSA does not yield `owner`.
    @param owner The signer whose allowance is set.
    @param spender Who may spend.
    @param amount Allowance in wei.
    @param deadline Last timestamp at which the signature is valid.
    @param v Signature recovery id (27 or 28).
    @param r Signature r.
    @param s Signature s (at most secp256k1n / 2).
    """
    assert block.timestamp <= deadline, "erc20: expired deadline"
    current_nonce: uint256 = self.nonces[owner]
    self.nonces[owner] = unsafe_add(current_nonce, 1)
    struct_hash: bytes32 = keccak256(abi_encode(_PERMIT_TYPE_HASH, owner, spender, amount, current_nonce, deadline))
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(struct_hash)
    self._check_signature(owner, digest, v, r, s)
    self._approve(owner, spender, amount)


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @notice EIP-712 domain separator of this token on the current chain.
    @return bytes32 The separator.
    """
    return eip712_domain_separator._domain_separator_v4()


# SUPPLY #######################################################################


@external
def mint(owner: address, amount: uint256):
    """
    @notice Creates `amount` tokens for `owner`. Only MINTER_ROLE; never above the cap.
    @param owner The receiver (not the zero address).
    @param amount Wei to create.
    """
    access_control._check_role(MINTER_ROLE, msg.sender)
    assert owner != empty(address), "erc20: mint to the zero address"
    assert votes._total_supply() + amount <= cap, "club: cap exceeded"
    votes._mint_balance(owner, amount)


@external
def burn(amount: uint256):
    """
    @notice Destroys `amount` of the caller's tokens (fee sinks, slashing).
    @param amount Wei to destroy.
    """
    self._burn(msg.sender, amount)


@external
def burnFrom(owner: address, amount: uint256):
    """
    @notice Destroys `amount` of `owner`'s tokens using the caller's allowance.
    @param owner The holder whose tokens are destroyed.
    @param amount Wei to destroy.
    """
    self._spend_allowance(owner, msg.sender, amount)
    self._burn(owner, amount)


# VOTES ########################################################################


@external
@view
def delegates(account: address) -> address:
    """
    @notice The address `account`'s votes count for (zero: not counted).
    @param account The holder.
    @return address Its delegate.
    """
    return votes._delegate_of(account)


@external
@reentrant
def delegate(delegatee: address):
    """
    @notice Makes the caller's balance count as votes of `delegatee`
            (the caller itself to vote directly; zero address to stop counting).
    @param delegatee The new delegate.
    """
    self._delegate(msg.sender, delegatee)


@external
def delegateBySig(delegatee: address, nonce: uint256, expiry: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @notice ERC-5805 delegation by an EIP-712 signature of the delegator.
    @param delegatee The new delegate of the signer.
    @param nonce The signer's current nonce (shared with `permit`).
    @param expiry Last timestamp at which the signature is valid.
    @param v Signature recovery id (27 or 28).
    @param r Signature r.
    @param s Signature s.
    """
    assert block.timestamp <= expiry, "votes: signature expired"
    struct_hash: bytes32 = keccak256(abi_encode(_DELEGATION_TYPE_HASH, delegatee, nonce, expiry))
    signer: address = ecdsa._recover_vrs(
        eip712_domain_separator._hash_typed_data_v4(struct_hash),
        convert(v, uint256),
        convert(r, uint256),
        convert(s, uint256),
    )
    assert nonce == self.nonces[signer], "votes: invalid nonce"
    self.nonces[signer] = unsafe_add(nonce, 1)
    self._delegate(signer, delegatee)


# INTERNAL #####################################################################


@internal
def _transfer(owner: address, to: address, amount: uint256):
    assert owner != empty(address), "erc20: transfer from the zero address"
    assert to != empty(address), "erc20: transfer to the zero address"
    assert votes._move_balance(owner, to, amount), "erc20: transfer amount exceeds balance"


@internal
def _burn(owner: address, amount: uint256):
    assert owner != empty(address), "erc20: burn from the zero address"
    assert votes._burn_balance(owner, amount), "erc20: burn amount exceeds balance"


@internal
def _approve(owner: address, spender: address, amount: uint256):
    assert owner != empty(address), "erc20: approve from the zero address"
    assert spender != empty(address), "erc20: approve to the zero address"
    self.allowance[owner][spender] = amount
    log IClubToken.Approval(owner=owner, spender=spender, value=amount)


@internal
def _spend_allowance(owner: address, spender: address, amount: uint256):
    current: uint256 = self.allowance[owner][spender]
    if current < max_value(uint256):
        assert current >= amount, "erc20: insufficient allowance"
        self._approve(owner, spender, unsafe_sub(current, amount))


@internal
def _delegate(account: address, delegatee: address):
    old: address = votes._delegate_of(account)
    log IClubToken.DelegateChanged(delegator=account, fromDelegate=old, toDelegate=delegatee)
    votes._set_delegate(account, delegatee)


@internal
def _check_signature(owner: address, digest: bytes32, v: uint8, r: bytes32, s: bytes32):
    """
    @dev Accepts a non-malleable ECDSA signature by `owner`, or an EIP-1271
         approval when `owner` is a contract. For EOAs the reverts are the
         ones snekmate's `erc20.permit` gives, in the same order.
    """
    signer: address = ecrecover(digest, v, r, s)
    if signer == owner and signer != empty(address) and convert(s, uint256) <= _MALLEABILITY_THRESHOLD:
        return
    if owner.is_contract:
        signature: Bytes[65] = concat(r, s, convert(v, bytes1))
        assert signature_checker._is_valid_ERC1271_signature_now(owner, digest, signature), "erc20: invalid signature"
        return
    # Same checks and messages as snekmate's `ecdsa._recover_vrs` + `erc20.permit`.
    recovered: address = ecdsa._recover_vrs(digest, convert(v, uint256), convert(r, uint256), convert(s, uint256))
    assert recovered == owner, "erc20: invalid signature"
