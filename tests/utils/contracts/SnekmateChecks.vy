# pragma version 0.4.3
"""
@title snekmate reference checks
@custom:contract-name SnekmateChecks
@license GNU Affero General Public License v3.0 only
@notice Test-only. snekmate's Merkle proof verification and EIP-1271 checker,
        unmodified and exposed, as the reference the differential fuzz tests
        compare Communities' own code with (tests/fuzz/test_merkle_equivalence.py,
        tests/fuzz/test_wallet_signatures.py).
"""

from snekmate.utils import merkle_proof_verification
from snekmate.utils import ecdsa
from snekmate.utils import signature_checker


@external
@pure
def verify(proof: DynArray[bytes32, 255], root: bytes32, leaf: bytes32) -> bool:
    """
    @notice snekmate's `merkle_proof_verification._verify`.
    """
    return merkle_proof_verification._verify(proof, root, leaf)


@external
@view
def is_valid_signature_now(signer: address, digest: bytes32, signature: Bytes[65]) -> bool:
    """
    @notice snekmate's `signature_checker._is_valid_signature_now`.
    """
    return signature_checker._is_valid_signature_now(signer, digest, signature)


@external
@pure
def recover_sig(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @notice snekmate's `ecdsa._recover_sig`.
    """
    return ecdsa._recover_sig(digest, signature)
