"""Communities client: create, join by any policy, invite, staff batches, bans, and a typed `info`.

web3.py over the deployment manifest; transactions go through the one `Sender` of
clubchat.chain.tx. What a user can get wrong (banned, wrong policy, no proof for this address,
voucher for someone else, missing fee allowance) is checked before sending and reported as a
`CommunityError` sentence saying what to do; a transaction that reverts anyway raises
`TransactionFailed` with the contract's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from clubchat.chain.eip712 import Domain
from clubchat.chain.logs import log_chunks
from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Sender, send_call
from clubchat.communities.cache import MembershipCache
from clubchat.communities.invite import Invite, SignedInvite
from clubchat.communities.merkle import AllowlistTree

OPEN, ALLOWLIST, MERKLE, TOKEN_GATE, INVITE = 1, 2, 3, 4, 5
POLICIES = {
    "open": OPEN,
    "allowlist": ALLOWLIST,
    "merkle": MERKLE,
    "token-gate": TOKEN_GATE,
    "invite": INVITE,
}
POLICY_NAMES = {v: k for k, v in POLICIES.items()}
ADMIN, MODERATOR = 1, 2
NEVER = 2**64 - 1
MAX_BATCH = 256
ZERO = "0x0000000000000000000000000000000000000000"


class CommunityError(ValueError):
    """A community action cannot succeed as asked; the message says what to do."""


@dataclass(frozen=True)
class TokenGate:
    min_balance_wei: int
    node: str
    min_stake_wei: int
    min_tier: int


@dataclass(frozen=True)
class CommunityInfo:
    """One community as the chain has it now."""

    community_id: int
    owner: str
    pending_owner: str
    policy: str
    membership_seconds: int  # 0: memberships never expire
    fail_open: bool
    member_count: int  # members now (not banned, not expired), counted from the contract's logs
    merkle_root: bytes
    gate: TokenGate


@dataclass(frozen=True)
class Membership:
    """One account in one community."""

    is_member: bool
    expires_at: int  # NEVER: no end; 0: no membership record
    banned: bool
    roles: int
    invite_nonce: int


class CommunitiesClient:
    """Communities (and CLUB for the creation fee) from a deployment manifest, acting as `sender`."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender | None = None) -> None:
        self.w3 = w3
        self.contract: Contract = manifest.contract(w3, "Communities")
        self.deployed_block = manifest.block
        self.token: Contract = manifest.contract(w3, "ClubToken")
        self.sender = sender

    # -- plumbing --------------------------------------------------------------------------

    def _me(self) -> Sender:
        if self.sender is None:
            raise CommunityError("this action sends a transaction; give an account (--key)")
        return self.sender

    def _send(self, fn_name: str, *args: Any) -> str:
        return send_call(self._me(), getattr(self.contract.functions, fn_name)(*args))

    def _view(self, fn_name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, fn_name)(*args).call()

    def _existing(self, community_id: int) -> int:
        policy = int(self._view("policy_of", community_id))
        if policy == 0:
            raise CommunityError(
                f"community {community_id} does not exist; check the id (`club community info`)"
            )
        return policy

    def _not_banned(self, community_id: int, account: str) -> None:
        if self._view("is_banned", community_id, account):
            raise CommunityError(f"{account} is banned from community {community_id}; ask its moderators")

    def _staff(self, community_id: int, roles: int, what: str) -> None:
        me = to_checksum_address(self._me().address)
        if (
            self._view("owner_of", community_id) != me
            and not int(self._view("roles_of", community_id, me)) & roles
        ):
            raise CommunityError(f"{me} is not allowed to {what} in community {community_id}; ask its owner")

    def check_inviter(self, community_id: int, signer: str) -> None:
        """Refuse a community that does not exist, and a voucher signer that `redeem_invite` would
        refuse: neither owner nor admin."""
        self._existing(community_id)
        signer = to_checksum_address(signer)
        if (
            self._view("owner_of", community_id) != signer
            and not int(self._view("roles_of", community_id, signer)) & ADMIN
        ):
            raise CommunityError(
                f"{signer} is neither the owner nor an admin of community {community_id}: "
                "its vouchers would be refused"
            )

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def membership_cache(self) -> MembershipCache:
        """Every Communities event since deployment replayed into a `MembershipCache` (the member
        count lives there, not on chain). Bound: one `eth_getLogs` per 2,000 blocks."""
        cache = MembershipCache()
        head = int(self.w3.eth.block_number)
        for _end, logs in log_chunks(self.w3, self.contract.address, self.deployed_block - 1, head):
            for raw in logs:  # bound: the chunk's logs
                decoded = self.contract.events[_event_name(self.contract, raw)]().process_log(raw)
                cache.apply(decoded["event"], decoded["args"])
        return cache

    # -- creating and configuring ----------------------------------------------------------

    def create(
        self, owner: str | None, policy: int, membership_seconds: int = 0, fail_open: bool = False
    ) -> int:
        """Create a community (burns the creation fee from the sender; approves it if needed); its id."""
        if policy not in POLICY_NAMES:
            raise CommunityError(f"unknown policy {policy}; use one of {', '.join(POLICIES)}")
        me = to_checksum_address(self._me().address)
        fee = int(self._view("creation_fee"))
        if int(self.token.functions.balanceOf(me).call()) < fee:
            raise CommunityError(f"creating a community burns {fee / 1e18:,.4f} CLUB; {me} holds less")
        if fee and int(self.token.functions.allowance(me, self.contract.address).call()) < fee:
            send_call(self._me(), self.token.functions.approve(self.contract.address, fee))
        tx = self._send("create", to_checksum_address(owner or me), policy, membership_seconds, fail_open)
        receipt = self.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        (event,) = self.contract.events.CommunityCreated().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["community_id"])

    def set_policy(self, community_id: int, policy: int, membership_seconds: int, fail_open: bool) -> str:
        self._existing(community_id)
        self._staff(community_id, ADMIN, "change the policy")
        return self._send("set_policy", community_id, policy, membership_seconds, fail_open)

    def set_merkle_root(self, community_id: int, root: bytes) -> str:
        self._existing(community_id)
        self._staff(community_id, ADMIN, "set the Merkle root")
        return self._send("set_merkle_root", community_id, root)

    def set_token_gate(self, community_id: int, gate: TokenGate) -> str:
        self._existing(community_id)
        self._staff(community_id, ADMIN, "set the token gate")
        return self._send(
            "set_token_gate",
            community_id,
            gate.min_balance_wei,
            to_checksum_address(gate.node),
            gate.min_stake_wei,
            gate.min_tier,
        )

    def set_role(self, community_id: int, account: str, role: int, enabled: bool) -> str:
        fn = "set_admin" if role == ADMIN else "set_moderator"
        return self._send(fn, community_id, to_checksum_address(account), enabled)

    # -- joining ---------------------------------------------------------------------------

    def join(
        self,
        community_id: int,
        tree: AllowlistTree | None = None,
        voucher: SignedInvite | None = None,
    ) -> str:
        """Join (or renew) by the community's policy; MERKLE needs `tree`, INVITE a `voucher`."""
        policy = self._existing(community_id)
        me = to_checksum_address(self._me().address)
        self._not_banned(community_id, me)
        if policy == OPEN:
            return self._send("join", community_id)
        if policy == MERKLE:
            if tree is None:
                raise CommunityError(
                    "this community admits by Merkle proof; give the allowlist (--tree FILE)"
                )
            if tree.root != bytes(self._view("merkle_root", community_id)):
                raise CommunityError(
                    "this allowlist's root is not the community's current root; get the new list"
                )
            try:
                proof = tree.proof(me)
            except ValueError:
                raise CommunityError(f"{me} is not on this allowlist; ask an admin to add it") from None
            return self._send("join_with_proof", community_id, proof)
        if policy == TOKEN_GATE:
            if not self._view("qualifies", community_id, me):
                raise CommunityError(
                    f"{me} does not meet the token gate of community {community_id} (see `info`)"
                )
            return self._send("join_with_token", community_id)
        if policy == INVITE:
            if voucher is None:
                raise CommunityError("this community admits by invitation; give the voucher (--voucher FILE)")
            return self.redeem(voucher)
        raise CommunityError(f"community {community_id} admits by allowlist only; ask an admin to add {me}")

    def redeem(self, voucher: SignedInvite) -> str:
        inv = voucher.invite
        me = to_checksum_address(self._me().address)
        if to_checksum_address(inv.invitee) != me:
            raise CommunityError(f"this voucher invites {inv.invitee}, not {me}; send it from that account")
        if inv.expiry < self.now():
            raise CommunityError("this voucher has expired; ask the admin for a new one")
        if inv.nonce <= int(self._view("invite_nonce", inv.community_id, me)):
            raise CommunityError("this voucher was already used (or a newer one was); ask for a new one")
        self._not_banned(inv.community_id, me)
        return self._send(
            "redeem_invite", inv.community_id, inv.nonce, inv.expiry, voucher.signer, voucher.signature
        )

    def leave(self, community_id: int) -> str:
        return self._send("leave", community_id)

    def invite(
        self, community_id: int, invitee: str, valid_seconds: int, signer: LocalAccount
    ) -> SignedInvite:
        """A voucher for `invitee`, signed by `signer` (the owner or an admin); nothing is sent."""
        self.check_inviter(community_id, signer.address)
        invitee = to_checksum_address(invitee)
        nonce = int(self._view("invite_nonce", community_id, invitee)) + 1
        inv = Invite(community_id, invitee, nonce, self.now() + valid_seconds)
        sig = inv.sign(signer, Domain.of(self.contract))
        return SignedInvite(inv, signer.address, sig.packed())

    # -- staff -----------------------------------------------------------------------------

    def add(self, community_id: int, accounts: Sequence[str]) -> list[str]:
        """Add members in batches of 256 (owner or admin); the transaction hashes."""
        self._existing(community_id)
        self._staff(community_id, ADMIN, "add members")
        wanted = [to_checksum_address(a) for a in accounts]
        for a in wanted:
            self._not_banned(community_id, a)
        return [
            self._send("add_members", community_id, wanted[i : i + MAX_BATCH])
            for i in range(0, len(wanted), MAX_BATCH)
        ]

    def remove(self, community_id: int, accounts: Sequence[str]) -> list[str]:
        """Remove members in batches of 256 (owner, admin or moderator)."""
        self._existing(community_id)
        self._staff(community_id, ADMIN | MODERATOR, "remove members")
        wanted = [to_checksum_address(a) for a in accounts]
        for a in wanted:
            if int(self._view("expiry_of", community_id, a)) == 0:
                raise CommunityError(f"{a} is not a member of community {community_id}")
        return [
            self._send("remove_members", community_id, wanted[i : i + MAX_BATCH])
            for i in range(0, len(wanted), MAX_BATCH)
        ]

    def ban(self, community_id: int, account: str) -> str:
        self._existing(community_id)
        self._staff(community_id, ADMIN | MODERATOR, "ban")
        return self._send("ban", community_id, to_checksum_address(account))

    def unban(self, community_id: int, account: str) -> str:
        self._existing(community_id)
        self._staff(community_id, ADMIN | MODERATOR, "unban")
        return self._send("unban", community_id, to_checksum_address(account))

    def evict(self, community_id: int, account: str) -> str:
        return self._send("evict", community_id, to_checksum_address(account))

    # -- views -----------------------------------------------------------------------------

    def info(self, community_id: int) -> CommunityInfo:
        policy = self._existing(community_id)
        gate = self._view("token_gate", community_id)
        return CommunityInfo(
            community_id=community_id,
            owner=str(self._view("owner_of", community_id)),
            pending_owner=str(self._view("pending_owner_of", community_id)),
            policy=POLICY_NAMES[policy],
            membership_seconds=int(self._view("membership_seconds_of", community_id)),
            fail_open=bool(self._view("fail_open", community_id)),
            member_count=self.membership_cache().member_count(community_id, self.now()),
            merkle_root=bytes(self._view("merkle_root", community_id)),
            gate=TokenGate(int(gate[0]), str(gate[1]), int(gate[2]), int(gate[3])),
        )

    def membership(self, community_id: int, account: str) -> Membership:
        a = to_checksum_address(account)
        return Membership(
            is_member=bool(self._view("is_member", community_id, a)),
            expires_at=int(self._view("expiry_of", community_id, a)),
            banned=bool(self._view("is_banned", community_id, a)),
            roles=int(self._view("roles_of", community_id, a)),
            invite_nonce=int(self._view("invite_nonce", community_id, a)),
        )


def _event_name(contract: Contract, raw: Any) -> str:
    """The name of the event of `contract` that logged `raw` (by its first topic)."""
    topic = bytes(raw["topics"][0])
    abis: list[Any] = list(contract.abi)
    for abi in abis:
        if abi.get("type") == "event" and event_abi_to_log_topic(abi) == topic:
            return str(abi["name"])
    raise CommunityError(
        f"a log of {contract.address} matches no Communities event; is the manifest current?"
    )
