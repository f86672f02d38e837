# pragma version 0.4.3
"""
@title Communities stand-in for the AdMarket tests
@custom:contract-name MockCommunities
@license GNU Affero General Public License v3.0 only
@notice Test-only. Implements the three Communities views AdMarket calls
        (`is_member`, `is_qualified_member`, `owner_of`) from state the test
        sets directly, so the ad market's tests do not depend on the real
        Communities contract. A member meets its community's gate unless the
        test said otherwise (`set_gate_met`). Each membership view is one
        storage read, as the real contract's `is_member` is.
"""

# @dev Bits of a member word: a member; below its community's gate.
_MEMBER: constant(uint256) = 1
_BELOW_GATE: constant(uint256) = 2

# @dev What the test set: community id -> account -> member word.
_words: HashMap[uint256, HashMap[address, uint256]]
# @dev Owner the test set per community id (zero: no such community).
owners: HashMap[uint256, address]


@external
def set_member(community_id: uint256, account: address, member: bool):
    """
    @notice Make `account` a member of `community_id` (or not).
    """
    self._set_bit(community_id, account, _MEMBER, member)


@external
def set_members(community_id: uint256, accounts: DynArray[address, 128], member: bool):
    """
    @notice `set_member` for many accounts (the gas benchmark fills a community with it).
    """
    for account: address in accounts:
        self._set_bit(community_id, account, _MEMBER, member)


@external
def set_gate_met(community_id: uint256, account: address, met: bool):
    """
    @notice Say whether `account` still meets `community_id`'s gate (default: it does).
    """
    self._set_bit(community_id, account, _BELOW_GATE, not met)


@external
def set_owner(community_id: uint256, owner: address):
    """
    @notice Set the owner of `community_id`.
    """
    self.owners[community_id] = owner


@external
@view
def is_member(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` is a member of `community_id`.
    """
    return self._words[community_id][account] & _MEMBER != 0


@external
@view
def is_qualified_member(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` is a member of `community_id` that meets its gate.
    """
    return self._words[community_id][account] & (_MEMBER | _BELOW_GATE) == _MEMBER


@external
@view
def owner_of(community_id: uint256) -> address:
    """
    @notice The owner of `community_id` (zero when unset).
    """
    return self.owners[community_id]


@internal
def _set_bit(community_id: uint256, account: address, bit: uint256, on: bool):
    word: uint256 = self._words[community_id][account]
    if on:
        self._words[community_id][account] = word | bit
    else:
        self._words[community_id][account] = word & ~bit
