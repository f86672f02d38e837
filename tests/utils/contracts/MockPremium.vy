# pragma version 0.4.3
"""
@title Premium stand-in for the AdMarket tests
@custom:contract-name MockPremium
@license GNU Affero General Public License v3.0 only
@notice Test-only. Implements the one Premium view AdMarket calls
        (`tier_of`, 0 = free) from tiers the test sets directly.
"""

# @dev Tier the test set per account (0 = free).
tiers: HashMap[address, uint256]


@external
def set_tier(account: address, tier: uint256):
    """
    @notice Set `account`'s tier.
    """
    self.tiers[account] = tier


@external
@view
def tier_of(account: address) -> uint256:
    """
    @notice `account`'s tier (0 = free).
    """
    return self.tiers[account]
