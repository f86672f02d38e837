# pragma version 0.4.3
"""
@title One-owner contract wallet
@custom:contract-name MockOwnedWallet
@license GNU Affero General Public License v3.0 only
@notice Test-only. A contract account with one owner key, like a one-owner
        Safe: it calls any contract for its owner (`execute`) and answers
        EIP-1271 `isValidSignature` with the magic value exactly when the
        signature is the owner's ECDSA signature of the digest (snekmate's
        `ecdsa`), so a user behind it signs in, opts in and signs ad
        receipts with the owner's key while its address is the wallet's.
"""


from snekmate.utils.interfaces import IERC1271
implements: IERC1271

from snekmate.utils import ecdsa
initializes: ecdsa


# @dev EIP-1271 magic value returned for a valid signature.
_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
# @dev Returned for an invalid signature (any value but the magic one).
_INVALID_VALUE: constant(bytes4) = 0xFFFFFFFF

# @dev The key that controls the wallet.
owner: public(immutable(address))


@deploy
def __init__(owner_: address):
    ecdsa.__init__()
    owner = owner_


@external
def execute(target: address, data: Bytes[1024]) -> Bytes[256]:
    """
    @notice Call `target` with `data` as the wallet (only the owner); reverts when the call does.
    """
    assert msg.sender == owner, "wallet: not the owner"
    return raw_call(target, data, max_outsize=256)


@external
@view
def isValidSignature(_hash: bytes32, _signature: Bytes[65]) -> bytes4:
    """
    @notice EIP-1271: the magic value when `_signature` is the owner's signature of `_hash`.
    """
    if ecdsa._recover_sig(_hash, _signature) == owner:
        return _MAGIC_VALUE
    return _INVALID_VALUE
