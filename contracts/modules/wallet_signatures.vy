# pragma version 0.4.3
"""
@title Wallet signatures
@custom:contract-name wallet_signatures
@license GNU Affero General Public License v3.0 only
@notice Whether a signature is an EOA's or a contract wallet's signature of a
        digest, as a verdict that never reverts, so that every bad signature
        fails with the calling contract's own reason.
        - EOAs (no code): r || s || v (65 bytes) or EIP-2098 compact r || vs
          (64 bytes), recovered by `_try_recover`, which is snekmate's
          `ecdsa._recover_sig` with "not valid" (the zero address) where
          snekmate reverts ("ecdsa: invalid signature `s` value" for a high s,
          "ecdsa: invalid signature" when `ecrecover` finds no signer: a bad v
          or r). tests/fuzz/test_wallet_signatures.py checks it recovers what
          snekmate recovers and answers "not valid" exactly where snekmate reverts.
        - Contract wallets (EIP-1271): snekmate's `signature_checker` for up to
          65 bytes, and the same call for longer signatures, which snekmate's
          `Bytes[65]` cannot carry: a Safe with threshold n signs with n × 65
          bytes (one r || s || v per owner, owners in ascending order).
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

from snekmate.utils import ecdsa
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
    @dev Whether `signature` is `signer`'s signature of `hash` now: for an EOA,
         whether `_try_recover` recovers `signer` (never the zero address); for
         a contract wallet, its EIP-1271 answer (snekmate's
         `signature_checker._is_valid_ERC1271_signature_now` up to 65 bytes).
         Never reverts.
    @param signer The EOA or contract wallet.
    @param hash The 32-byte digest signed.
    @param signature At most MAX_SIGNATURE_BYTES bytes.
    @return bool Whether the signature is valid.
    """
    if not signer.is_contract:
        recovered: address = self._try_recover(hash, signature)
        return recovered == signer and recovered != empty(address)
    if len(signature) <= 65:
        # Re-typed to snekmate's bound (the length is checked above, so this cannot fail).
        short: Bytes[65] = abi_decode(abi_encode(signature), Bytes[65])
        return signature_checker._is_valid_ERC1271_signature_now(signer, hash, short)
    return self._is_valid_ERC1271_signature_now(signer, hash, signature)


@internal
@pure
def _try_recover(hash: bytes32, signature: Bytes[MAX_SIGNATURE_BYTES]) -> address:
    """
    @dev snekmate's `ecdsa._recover_sig` (65-byte r || s || v or 64-byte
         EIP-2098 r || vs) answering the zero address where snekmate reverts:
         an s above snekmate's malleability threshold, or no signer found by
         `ecrecover` (a v other than 27 or 28, an r off the curve); any other
         length is not a signature either.
    @param hash The 32-byte digest signed.
    @param signature The signature.
    @return address The signer, or the zero address when there is none.
    """
    sig_length: uint256 = len(signature)
    if sig_length != 65 and sig_length != 64:
        return empty(address)
    r: uint256 = extract32(signature, empty(uint256), output_type=uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    v: uint256 = 0
    if sig_length == 65:
        v = convert(slice(signature, 64, 1), uint256)
    else:
        # EIP-2098: the top bit of vs is v - 27.
        v = unsafe_add(s >> 255, 27)
        s = s & convert(max_value(int256), uint256)
    if s > ecdsa._MALLEABILITY_THRESHOLD:
        return empty(address)
    # The precompile answers the zero address when it finds no signer.
    return ecrecover(hash, v, r, s)


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
