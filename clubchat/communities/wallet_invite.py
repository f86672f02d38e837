"""Invite vouchers signed by a multisig contract wallet's owners, one owner at a time.

A community owned (or administered) by a multisig wallet invites with a voucher whose signer is the
wallet and whose signature is its owners' r || s || v signatures of the voucher's EIP-712 digest,
concatenated in ascending owner-address order (contracts/wallets/MultisigWallet.vy, the layout a
Safe uses; Communities checks it with the wallet's EIP-1271 `isValidSignature`). The owners rarely
share a machine, so the flow has three steps, each a file:

1. `request`: anyone fixes the voucher (community, invitee, next nonce, expiry), reads the wallet's
   owners and threshold and writes a `WalletInviteRequest` with the digest to sign;
2. `sign`: each owner recomputes the digest from the chain and the request's fields (a tampered
   request is refused), checks they are an owner, and writes an `OwnerSignature`;
3. `combine`: the signatures are checked (digest, recovered owner, one per owner), ordered as the
   wallet expects, cut to the threshold, checked once more by the wallet itself on chain, and
   written as the `SignedInvite` that `club community join --voucher` redeems. Fewer than the
   threshold is refused with who signed and how many are missing.

The digest the owners sign is the voucher's EIP-712 digest itself, as this project's multisig
checks it. A Safe wraps that digest in its own `SafeMessage` before its owners sign; that wrapping
is not built here, and step 3's on-chain check refuses signatures the wallet does not accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3Exception

from clubchat.chain.eip712 import Domain
from clubchat.communities.client import CommunitiesClient, CommunityError
from clubchat.communities.invite import Invite, SignedInvite

# The calls a threshold-of-n owner wallet answers (contracts/wallets/MultisigWallet.vy).
MULTISIG_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "threshold",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
    },
    {
        "type": "function",
        "name": "owners",
        "stateMutability": "view",
        "inputs": [{"name": "arg0", "type": "uint256"}],
        "outputs": [{"name": "", "type": "address"}],
    },
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [{"name": "_hash", "type": "bytes32"}, {"name": "_signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    },
]
EIP1271_MAGIC = bytes.fromhex("1626ba7e")
_MAX_OWNERS = 32


@dataclass(frozen=True)
class WalletInviteRequest:
    """A voucher waiting for `threshold` of the wallet's `owners` to sign `digest`."""

    invite: Invite
    wallet: str
    digest: bytes
    owners: tuple[str, ...]
    threshold: int

    def as_json(self) -> dict[str, object]:
        return {
            "kind": "wallet-invite-request",
            **self.invite.as_json(),
            "wallet": to_checksum_address(self.wallet),
            "digest": "0x" + self.digest.hex(),
            "owners": [to_checksum_address(o) for o in self.owners],
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WalletInviteRequest:
        if data.get("kind") != "wallet-invite-request":
            raise CommunityError("not a wallet invite request (`club community invite --wallet` writes one)")
        return cls(
            Invite.from_json(data),
            to_checksum_address(str(data["wallet"])),
            _hex_bytes(data["digest"]),
            tuple(to_checksum_address(str(o)) for o in data["owners"]),
            int(data["threshold"]),
        )


@dataclass(frozen=True)
class OwnerSignature:
    """One owner's 65-byte r || s || v signature of a request's digest."""

    owner: str
    digest: bytes
    signature: bytes

    def as_json(self) -> dict[str, object]:
        return {
            "kind": "wallet-invite-signature",
            "owner": to_checksum_address(self.owner),
            "digest": "0x" + self.digest.hex(),
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OwnerSignature:
        if data.get("kind") != "wallet-invite-signature":
            raise CommunityError("this file is not an owner's signature (`club community sign-invite`)")
        return cls(
            to_checksum_address(str(data["owner"])), _hex_bytes(data["digest"]), _hex_bytes(data["signature"])
        )


def _hex_bytes(value: object) -> bytes:
    return bytes.fromhex(str(value).removeprefix("0x"))


def _wallet(w3: Web3, address: str) -> Any:
    address = to_checksum_address(address)
    if not w3.eth.get_code(address):
        raise CommunityError(f"{address} has no code: --wallet names a contract wallet (EOAs use --key)")
    return w3.eth.contract(address=address, abi=MULTISIG_ABI)


def wallet_owners(w3: Web3, address: str) -> tuple[tuple[str, ...], int]:
    """The wallet's owners (in the wallet's order) and threshold, read from the chain."""
    wallet = _wallet(w3, address)
    try:
        threshold = int(wallet.functions.threshold().call())
    except (Web3Exception, ValueError) as exc:
        raise CommunityError(
            f"{wallet.address} does not answer threshold()/owners(i): not a multisig this tool signs for"
        ) from exc
    owners: list[str] = []
    for i in range(_MAX_OWNERS):
        try:
            owners.append(to_checksum_address(wallet.functions.owners(i).call()))
        except (Web3Exception, ValueError):  # the array ends where the getter reverts
            break
    return tuple(owners), threshold


def request(
    client: CommunitiesClient, community_id: int, invitee: str, valid_seconds: int, wallet: str
) -> WalletInviteRequest:
    """Fix a voucher signed by `wallet` (the community's owner or an admin) for `invitee`."""
    wallet = to_checksum_address(wallet)
    owners, threshold = wallet_owners(client.w3, wallet)
    client.check_inviter(community_id, wallet)
    invitee = to_checksum_address(invitee)
    nonce = int(client.contract.functions.invite_nonce(community_id, invitee).call()) + 1
    invite = Invite(community_id, invitee, nonce, client.now() + valid_seconds)
    return WalletInviteRequest(invite, wallet, invite.digest(Domain.of(client.contract)), owners, threshold)


def _checked_digest(client: CommunitiesClient, req: WalletInviteRequest) -> bytes:
    """The request's digest, recomputed from the chain's domain and the request's own fields."""
    digest = req.invite.digest(Domain.of(client.contract))
    if digest != req.digest:
        raise CommunityError(
            "the request's digest is not its voucher's digest on this chain and contract: refusing to sign"
        )
    return digest


def sign(client: CommunitiesClient, req: WalletInviteRequest, owner: LocalAccount) -> OwnerSignature:
    """`owner` signs the request's digest (recomputed, never taken from the file)."""
    digest = _checked_digest(client, req)
    owners, _ = wallet_owners(client.w3, req.wallet)
    if to_checksum_address(owner.address) not in owners:
        raise CommunityError(f"{owner.address} is not an owner of wallet {req.wallet}")
    return OwnerSignature(owner.address, digest, bytes(owner.unsafe_sign_hash(Hash32(digest)).signature))


def combine(
    client: CommunitiesClient, req: WalletInviteRequest, signatures: list[OwnerSignature]
) -> SignedInvite:
    """The owners' signatures as the wallet expects them (one per owner, ascending address, exactly
    the threshold), checked by the wallet on chain; refused when fewer than the threshold signed."""
    digest = _checked_digest(client, req)
    owners, threshold = wallet_owners(client.w3, req.wallet)
    by_owner: dict[str, bytes] = {}
    for part in signatures:
        who = to_checksum_address(part.owner)
        if part.digest != digest:
            raise CommunityError(f"{who}'s signature is of another digest (another voucher)")
        if len(part.signature) != 65:
            raise CommunityError(f"{who}'s signature is {len(part.signature)} bytes, not 65")
        if to_checksum_address(Account._recover_hash(digest, signature=part.signature)) != who:
            raise CommunityError(f"the signature said to be {who}'s was made by another key")
        if who not in owners:
            raise CommunityError(f"{who} is not an owner of wallet {req.wallet}")
        by_owner[who] = part.signature
    if len(by_owner) < threshold:
        signed = ", ".join(sorted(by_owner)) or "nobody"
        raise CommunityError(
            f"wallet {req.wallet} needs {threshold} of its {len(owners)} owners' signatures; "
            f"{len(by_owner)} signed ({signed}): {threshold - len(by_owner)} more must run "
            "`club community sign-invite`"
        )
    chosen = sorted(by_owner, key=lambda a: int(a, 16))[:threshold]
    packed = b"".join(by_owner[a] for a in chosen)
    answer = bytes(_wallet(client.w3, req.wallet).functions.isValidSignature(digest, packed).call())
    if answer != EIP1271_MAGIC:
        raise CommunityError(f"wallet {req.wallet} refuses these signatures (it answered 0x{answer.hex()})")
    return SignedInvite(req.invite, req.wallet, packed)
