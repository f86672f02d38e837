# pragma version 0.4.3
"""
@title Communities stand-in for the AdMarket tests
@custom:contract-name MockCommunities
@license GNU Affero General Public License v3.0 only
@notice Test-only. Implements the two Communities views AdMarket calls
        (`is_member`, `owner_of`) from state the test sets directly, so the ad
        market's tests do not depend on the real Communities contract.
"""

# @dev Membership the test set: community id -> account -> member.
members: HashMap[uint256, HashMap[address, bool]]
# @dev Owner the test set per community id (zero: no such community).
owners: HashMap[uint256, address]


@external
def set_member(community_id: uint256, account: address, member: bool):
    """
    @notice Make `account` a member of `community_id` (or not).
    """
    self.members[community_id][account] = member


@external
def set_members(community_id: uint256, accounts: DynArray[address, 128], member: bool):
    """
    @notice `set_member` for many accounts (the gas benchmark fills a community with it).
    """
    for account: address in accounts:
        self.members[community_id][account] = member


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
    return self.members[community_id][account]


@external
@view
def owner_of(community_id: uint256) -> address:
    """
    @notice The owner of `community_id` (zero when unset).
    """
    return self.owners[community_id]
