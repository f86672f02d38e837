# pragma version 0.4.3
"""
@title Safe-like multisig wallet (demo and tests)
@custom:contract-name MultisigWallet
@license GNU Affero General Public License v3.0 only
@notice A minimal contract wallet for the demo's Safe-owned community and the
        Communities tests, not a wallet for funds (use a Safe). A
        `threshold`-of-n owner wallet that checks signatures the way a Safe does: `threshold` 65-byte r || s || v ECDSA signatures,
        concatenated, from distinct owners in strictly ascending address order.
        `isValidSignature(bytes32, bytes)` (EIP-1271) answers the magic value
        for such signatures of the digest itself (a real Safe first wraps the
        digest in its own EIP-712 SafeMessage; the signature layout is the
        same). `execute` runs a call from the wallet when the owners signed
        keccak256(abi_encode(wallet, nonce, target, keccak256(data))).
        An owner signature snekmate's ECDSA would revert on (high s, bad v)
        counts as not signed, so `isValidSignature` answers "not valid"
        and `execute` reverts with its own reason.
"""

from contracts.modules import wallet_signatures


# @dev EIP-1271 magic value; anything else means "not valid".
_MAGIC_VALUE: constant(bytes4) = 0x1626BA7E
_INVALID_VALUE: constant(bytes4) = 0xFFFFFFFF
# @dev Most owners, and the signature bytes of all of them.
MAX_OWNERS: constant(uint256) = 8
MAX_SIGNATURES: constant(uint256) = 65 * MAX_OWNERS

# @dev The owners (ascending order not required here).
owners: public(DynArray[address, MAX_OWNERS])
# @dev Signatures needed.
threshold: public(uint256)
# @dev Executions so far (replay protection of `execute`).
nonce: public(uint256)


@deploy
def __init__(owners: DynArray[address, MAX_OWNERS], threshold: uint256):
    """
    @param owners The owners.
    @param threshold Signatures needed, 1 to len(owners).
    """
    assert threshold != 0 and threshold <= len(owners), "safe: bad threshold"
    self.owners = owners
    self.threshold = threshold


@view
@internal
def _is_owner(account: address) -> bool:
    for o: address in self.owners:
        if o == account:
            return True
    return False


@view
@internal
def _signed(digest: bytes32, signatures: Bytes[MAX_SIGNATURES]) -> bool:
    if len(signatures) != 65 * self.threshold:
        return False
    last: address = empty(address)
    for i: uint256 in range(MAX_OWNERS):
        if i == self.threshold:
            break
        signer: address = wallet_signatures._try_recover(digest, slice(signatures, 65 * i, 65))
        if convert(signer, uint256) <= convert(last, uint256) or not self._is_owner(signer):
            return False
        last = signer
    return True


@external
@view
def isValidSignature(_hash: bytes32, _signature: Bytes[MAX_SIGNATURES]) -> bytes4:
    """
    @notice EIP-1271: the magic value when `threshold` owners signed `_hash`.
    """
    if self._signed(_hash, _signature):
        return _MAGIC_VALUE
    return _INVALID_VALUE


@view
@external
def execute_digest(target: address, data: Bytes[1024]) -> bytes32:
    """
    @notice What the owners sign to run `data` on `target` as the next execution.
    """
    return keccak256(abi_encode(self, self.nonce, target, keccak256(data)))


@external
def execute(target: address, data: Bytes[1024], signatures: Bytes[MAX_SIGNATURES]):
    """
    @notice Call `target` with `data` from this wallet, signed by `threshold` owners.
    """
    digest: bytes32 = keccak256(abi_encode(self, self.nonce, target, keccak256(data)))
    assert self._signed(digest, signatures), "safe: not signed by the owners"
    self.nonce += 1
    raw_call(target, data)
