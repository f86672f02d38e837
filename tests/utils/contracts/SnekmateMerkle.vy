# pragma version 0.4.3
"""
@title snekmate's Merkle proof verification, exposed
@custom:contract-name SnekmateMerkle
@license GNU Affero General Public License v3.0 only
@notice Test-only. The reference the differential fuzz test holds
        Communities' written-out proof processing equal to.
"""

from snekmate.utils import merkle_proof_verification


@pure
@external
def process_proof(proof: DynArray[bytes32, 32], leaf: bytes32) -> bytes32:
    """
    @notice snekmate's `_process_proof`.
    """
    return merkle_proof_verification._process_proof(proof, leaf)


@pure
@external
def verify(proof: DynArray[bytes32, 32], root: bytes32, leaf: bytes32) -> bool:
    """
    @notice snekmate's `_verify`.
    """
    return merkle_proof_verification._verify(proof, root, leaf)
