# pragma version 0.4.3
"""
@title MockStakeRegistry
@notice Test double for Emission's bootstrap guard: only `total_weight` (whole CLUB of node
        stake), settable by anyone. Never deployed outside tests.
"""

# @dev Sum of node weights in whole CLUB, as NodeRegistry.total_weight reports it.
total_weight: public(uint256)


@external
def set_total_weight(weight: uint256):
    """
    @notice Set the reported total node stake (whole CLUB).
    @param weight The new total.
    """
    self.total_weight = weight
