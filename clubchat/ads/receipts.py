"""Ad-market receipts: the EIP-712 `Receipt` a user signs and the batch items `AdMarket.settle` takes.

A receipt is cumulative and monotonic, like a payment-channel balance: `count` is the number of
the campaign's notifications the user has seen through `node` (its registry address); settlement
pays the views above what was already settled. The type is fixed:

    Receipt(uint256 campaign,address user,address node,uint256 count)

in the domain {name: "AdMarket", version: "1", chainId, verifyingContract: AdMarket}.
`receipt_digest` builds the digest by hand from the spec and `sign_receipt` signs it with
libsecp256k1 (coincurve: always low-s, the only form the contract accepts); `receipt_typed_data`
is the same message for a wallet's `eth_signTypedData_v4`, and the tests check that eth_account's
encoder, this module and the contract's `receipt_digest` agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import Domain, Signature, typed_data, typed_data_digest

RECEIPT_TYPE = "Receipt(uint256 campaign,address user,address node,uint256 count)"
_RECEIPT_FIELDS = [
    {"name": "campaign", "type": "uint256"},
    {"name": "user", "type": "address"},
    {"name": "node", "type": "address"},
    {"name": "count", "type": "uint256"},
]
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Receipt:
    """`user` has seen `count` notifications of `campaign` through NOTIFY node `node` (cumulative)."""

    campaign: int
    user: str
    node: str
    count: int

    def message(self) -> dict[str, object]:
        return {
            "campaign": self.campaign,
            "user": to_checksum_address(self.user),
            "node": to_checksum_address(self.node),
            "count": self.count,
        }


def receipt_digest(domain: Domain, receipt: Receipt) -> bytes:
    """The EIP-712 digest of `receipt`, computed from the spec."""
    struct_hash = keccak(
        encode(
            ["bytes32", "uint256", "address", "address", "uint256"],
            [keccak(text=RECEIPT_TYPE), receipt.campaign, receipt.user, receipt.node, receipt.count],
        )
    )
    return typed_data_digest(domain, struct_hash)


def receipt_typed_data(domain: Domain, receipt: Receipt) -> dict[str, Any]:
    """`receipt` as EIP-712 typed data."""
    return typed_data(domain, "Receipt", _RECEIPT_FIELDS, receipt.message())


def sign_receipt(private_key: bytes, domain: Domain, receipt: Receipt) -> Signature:
    """Sign `receipt` with libsecp256k1 (low-s, v in {27, 28}); the key should be `receipt.user`'s."""
    raw = PrivateKey(private_key).sign_recoverable(receipt_digest(domain, receipt), hasher=None)
    return Signature(raw[64] + 27, raw[:32], raw[32:64])


@dataclass(frozen=True)
class SignedReceipt:
    """A receipt, its signature (65 bytes r || s || v, or what the user's wallet accepts) and the
    settlement hints: the index of the target community that qualified the user (ignored for an
    untargeted campaign) and the registry node the user stakes with (ignored without a stake gate)."""

    receipt: Receipt
    signature: bytes
    target: int = 0
    stake_node: str = ZERO_ADDRESS

    def settlement(self) -> tuple[int, str, str, int, int, bytes, bytes, int, str]:
        """The `Settlement` tuple `AdMarket.settle` takes, fields in the contract's order: the
        signature split into v, r, s (a signature that is not 65 bytes cannot be one the contract
        accepts, so it becomes v = 0 with r and s cut or zero-padded to 32 bytes each)."""
        r, sig = self.receipt, self.signature
        v = sig[64] if len(sig) == 65 else 0
        r_word, s_word = sig[:32].ljust(32, b"\0"), sig[32:64].ljust(32, b"\0")
        return (r.campaign, r.user, r.node, r.count, v, r_word, s_word, self.target, self.stake_node)
