"""Invite vouchers: the EIP-712 `Invite` an admin signs off-chain and the invitee redeems.

`Communities.redeem_invite(community_id, nonce, expiry, signer, signature)` checks this type
under the contract's own domain (name "Communities", version "1", chain id, address), so a
voucher is bound to one chain and one contract; the invitee is `msg.sender`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from clubchat.chain.eip712 import Domain, Signature, sign_typed, typed_data_digest

INVITE_TYPE = "Invite(uint256 communityId,address invitee,uint256 nonce,uint256 expiry)"
_INVITE_FIELDS = [
    {"name": "communityId", "type": "uint256"},
    {"name": "invitee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]


@dataclass(frozen=True)
class Invite:
    """A voucher: who may join which community, with which nonce, until when (unix s)."""

    community_id: int
    invitee: str
    nonce: int
    expiry: int

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 digest, computed from the spec (the contract's `invite_digest`)."""
        struct_hash = keccak(
            encode(
                ["bytes32", "uint256", "address", "uint256", "uint256"],
                [keccak(text=INVITE_TYPE), self.community_id, self.invitee, self.nonce, self.expiry],
            )
        )
        return typed_data_digest(domain, struct_hash)

    def sign(self, account: LocalAccount, domain: Domain) -> Signature:
        """`account` signs the voucher through eth_account's typed-data encoder."""
        message = {
            "communityId": self.community_id,
            "invitee": to_checksum_address(self.invitee),
            "nonce": self.nonce,
            "expiry": self.expiry,
        }
        return sign_typed(account, "Invite", _INVITE_FIELDS, domain, message)

    def as_json(self) -> dict[str, object]:
        """The voucher's fields as the JSON files carry them."""
        return {
            "community_id": self.community_id,
            "invitee": to_checksum_address(self.invitee),
            "nonce": self.nonce,
            "expiry": self.expiry,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Invite:
        return cls(
            int(str(data["community_id"])),
            to_checksum_address(str(data["invitee"])),
            int(str(data["nonce"])),
            int(str(data["expiry"])),
        )


@dataclass(frozen=True)
class SignedInvite:
    """A voucher with its signer and signature, as handed to the invitee (JSON via `as_json`)."""

    invite: Invite
    signer: str
    signature: bytes

    def as_json(self) -> dict[str, object]:
        return {
            **self.invite.as_json(),
            "signer": to_checksum_address(self.signer),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SignedInvite:
        signature = bytes.fromhex(str(data["signature"]).removeprefix("0x"))
        return cls(Invite.from_json(data), to_checksum_address(str(data["signer"])), signature)
