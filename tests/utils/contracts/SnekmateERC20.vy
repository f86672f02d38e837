# pragma version 0.4.3
"""
@title Reference ERC-20: snekmate's `erc20` module as it ships
@custom:contract-name SnekmateERC20
@license GNU Affero General Public License v3.0 only
@notice Test-only. The oracle of tests/fuzz/test_erc20_differential.py: ClubToken
        writes its own ERC-20 core (balance and delegate packed in one slot) and
        must behave exactly like this unmodified snekmate token, which mints by
        its owner (snekmate's `is_minter`, granted to the deployer).
"""


from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


# Everything snekmate's erc20 offers, unchanged (including `owner`,
# `eip712Domain`, `burn_from`, `is_minter`, `set_minter`).
exports: erc20.__interface__


@deploy
@payable
def __init__(
    name_: String[25], symbol_: String[5], decimals_: uint8, name_eip712_: String[50], version_eip712_: String[20]
):
    """
    @param name_ Token name.
    @param symbol_ Token symbol.
    @param decimals_ ERC-20 decimals.
    @param name_eip712_ EIP-712 domain name.
    @param version_eip712_ EIP-712 domain version.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_eip712_, version_eip712_)
