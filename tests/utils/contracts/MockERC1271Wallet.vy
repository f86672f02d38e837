# pragma version 0.4.3
"""
@title EIP-1271 smart-wallet mock
@custom:contract-name MockERC1271Wallet
@license GNU Affero General Public License v3.0 only
@notice Test-only. Says "valid" (the magic value 0x1626ba7e) for the digests
        its test approved, optionally only together with one exact signature
        byte string (to check the token forwards r || s || v in that order),
        and can be switched to revert like a broken wallet.
"""


from snekmate.utils.interfaces import IERC1271
implements: IERC1271


# @dev EIP-1271 magic value returned for a valid signature.
_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
# @dev Returned for an invalid signature (any value but the magic one).
_INVALID_VALUE: constant(bytes4) = 0xFFFFFFFF


# @dev Digests the wallet considers signed.
approved: public(HashMap[bytes32, bool])

# @dev When non-empty, the only signature bytes accepted for approved digests.
required_signature: public(Bytes[65])

# @dev When True, `isValidSignature` reverts.
broken: public(bool)


@external
def set_approved(digest: bytes32, ok: bool):
    """
    @notice Approve (or withdraw approval of) `digest`.
    """
    self.approved[digest] = ok


@external
def set_required_signature(signature: Bytes[65]):
    """
    @notice Accept approved digests only with exactly `signature` (empty: any).
    """
    self.required_signature = signature


@external
def set_broken(broken: bool):
    """
    @notice Make `isValidSignature` revert (True) or answer normally (False).
    """
    self.broken = broken


@external
@view
def isValidSignature(_hash: bytes32, _signature: Bytes[65]) -> bytes4:
    """
    @notice EIP-1271: the magic value when `_hash` is approved (and `_signature`
            matches the required bytes, if set), else 0xffffffff.
    """
    assert not self.broken, "wallet: broken"
    if not self.approved[_hash]:
        return _INVALID_VALUE
    if len(self.required_signature) != 0 and _signature != self.required_signature:
        return _INVALID_VALUE
    return _MAGIC_VALUE
