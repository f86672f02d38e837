# pragma version 0.4.3
"""
@title Wallet signatures
@custom:contract-name wallet_signatures
@license GNU Affero General Public License v3.0 only
@notice snekmate's `signature_checker` for signatures of up to 65 bytes (an EOA's
        r || s || v or 64-byte compact form, or a contract wallet's EIP-1271
        signature), and the same EIP-1271 call for longer ones, which snekmate's
        `Bytes[65]` cannot carry: a Safe with threshold n signs with n × 65 bytes
        (one r || s || v per owner, owners in ascending order).
        `_is_valid_ERC1271_signature_now` is snekmate's function with a longer
        bound: a static call of `isValidSignature(bytes32,bytes)` that is valid
        only when the wallet answers exactly 32 bytes holding the magic value
        0x1626ba7e; a revert, a short or other answer means "not valid".
        tests/fuzz/test_wallet_signatures.py checks both functions against
        snekmate's on inputs of up to 65 bytes.
@custom:security A signature longer than 65 bytes is only ever checked by the
                 wallet (EIP-1271): an address without code never validates one.
                 The wallet's call gets all but 1/64 of the gas left (as in
                 snekmate); the caller pays for what the wallet spends.
"""

from snekmate.utils import signature_checker


# @dev Longest signature accepted: 2,048 bytes, a Safe with threshold up to 31
# (the relays' sign-in accepts the same length, clubchat.protocol.messages).
MAX_SIGNATURE_BYTES: constant(uint256) = 2048
# @dev `isValidSignature(bytes32,bytes)`; also the EIP-1271 magic value.
_IS_VALID_SIGNATURE: constant(bytes4) = 0x1626BA7E


@internal
@view
def _is_valid_signature_now(signer: address, hash: bytes32, signature: Bytes[MAX_SIGNATURE_BYTES]) -> bool:
    """
    @dev Whether `signature` is `signer`'s signature of `hash` now: snekmate's
         `signature_checker._is_valid_signature_now` for up to 65 bytes, the
         wallet's own EIP-1271 answer for longer signatures.
    @param signer The EOA or contract wallet.
    @param hash The 32-byte digest signed.
    @param signature At most MAX_SIGNATURE_BYTES bytes.
    @return bool Whether the signature is valid.
    """
    if len(signature) <= 65:
        # Re-typed to snekmate's bound (the length is checked above, so this cannot fail).
        short: Bytes[65] = abi_decode(abi_encode(signature), Bytes[65])
        return signature_checker._is_valid_signature_now(signer, hash, short)
    if not signer.is_contract:
        return False
    return self._is_valid_ERC1271_signature_now(signer, hash, signature)


@internal
@view
def _is_valid_ERC1271_signature_now(signer: address, hash: bytes32, signature: Bytes[MAX_SIGNATURE_BYTES]) -> bool:
    """
    @dev snekmate's `signature_checker._is_valid_ERC1271_signature_now` for
         signatures of up to MAX_SIGNATURE_BYTES bytes.
    @param signer The contract wallet.
    @param hash The 32-byte digest signed.
    @param signature The wallet's signature (for a Safe: its owners' signatures).
    @return bool Whether the wallet answered the magic value.
    """
    success: bool = empty(bool)
    return_data: Bytes[32] = b""
    success, return_data = raw_call(
        signer,
        abi_encode(hash, signature, method_id=_IS_VALID_SIGNATURE),
        max_outsize=32,
        is_static_call=True,
        revert_on_failure=False,
    )
    return (
        success
        and len(return_data) == 32
        and convert(return_data, bytes32) == convert(_IS_VALID_SIGNATURE, bytes32)
    )
