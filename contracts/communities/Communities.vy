# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Communities
@custom:contract-name Communities
@license GNU Affero General Public License v3.0 only
@notice On-chain membership of Club Chat communities, the list relays enforce.

        A community is created for a burnt CLUB fee (governance-set spam price)
        and owned by an EOA or a contract wallet (the owner acts by calling from
        its address; its invite signatures are checked with EIP-1271). Ownership
        moves in two steps. The owner names admins, owner and admins name
        moderators.

        Join paths, one policy per community:
        - OPEN: anyone `join`s.
        - ALLOWLIST: admins `add_members` / `remove_members` in batches.
        - MERKLE: `join_with_proof` against a root built by OpenZeppelin's
          `StandardMerkleTree` with leaf encoding ["address"] (leaf =
          keccak256(keccak256(abi.encode(account))), sorted pairs). The proof is
          walked by a loop written here rather than snekmate's
          `merkle_proof_verification`, which copies every proof into a 255-word
          array and costs ~3,700 gas more at depth 20 (over the join's gas
          target); tests/fuzz/test_merkle_equivalence.py checks the two agree on
          random and adversarial proofs.
        - TOKEN_GATE: `join_with_token` for holders of a CLUB balance, or of
          stake delegated to a named node in the NodeRegistry, or of a premium
          tier; anyone may `evict` a member who no longer qualifies. The gate
          is checked at join; `is_qualified_member` (what AdMarket pays on)
          checks it again, so a balance passed on after joining qualifies
          only the account holding it when the view is called. A colluding
          settler can still time its calls between transfers.
        - INVITE: `redeem_invite` with an EIP-712 voucher signed by the owner or
          an admin (EOA or EIP-1271 wallet) naming the community, the invitee,
          a nonce and an expiry; the invitee sends (and pays for) the redemption.
        Admins may add members under every policy.

        Memberships may expire (per-community duration; joining again renews,
        never shortening a membership). Bans are kept in the member's own storage
        word, which every join path reads, so no path readmits a banned account.
        `is_member` is one storage read (not banned and not expired). Every
        member change is logged (MemberJoined with the new expiry, MembersAdded
        for a staff batch, MemberRemoved, Banned, Unbanned), so a relay rebuilds
        `is_member` exactly from logs alone (clubchat.communities.cache). The
        member count is kept by that cache, not on chain: a stored counter
        costs every join a second write (2,900 gas), which the Merkle join's
        target has no room for.

        Storage layout (packed by hand to meet the gas targets):
        - `_config[id]`: policy (bits 0-7), fail_open (bit 8), membership
          seconds (bits 16-79).
        - `_members[id][account]`: expiry (bits 0-63; 0 = no membership record),
          banned (bit 64), roles ADMIN (bit 65), MODERATOR (bit 66), OWNER
          (bit 67), last redeemed invite nonce (bits 128-255). One cold read
          answers "member?", "banned?" and "staff?" for an account, which is
          what keeps bans and staff checks cheap.
@custom:security Invite nonces are per (community, invitee) and must increase:
                 redeeming nonce n kills every voucher of that invitee with a
                 nonce <= n, so a voucher is single-use and an admin can issue a
                 fresh one. Vouchers are bound to this chain and contract by the
                 EIP-712 domain and to the invitee by `msg.sender`. Signatures
                 are checked by `wallet_signatures`, which never reverts: an
                 EOA's (65 or 64 bytes) by snekmate's ECDSA recovery with
                 "not valid" where snekmate reverts (high s, bad v or r); a
                 contract wallet's through EIP-1271 (snekmate's checker up to
                 65 bytes, the same call for a Safe's n × 65 bytes, up to
                 2,048). Every bad signature reverts with "communities:
                 invalid signature". A Safe may also approve the digest on
                 chain (`signMessage`) and send an empty signature.
                 A ban leaves the record so that banning a member writes one
                 word; `unban` drops what is left of it.
                 Changing the policy keeps the current members; staff remove
                 whom they want to.
"""

from interfaces import IClubToken
from interfaces import INodeRegistry
from interfaces import IPremium
from interfaces import ICommunities

implements: ICommunities

from ethereum.ercs import IERC165

implements: IERC165

from snekmate.auth.interfaces import IAccessControl

implements: IAccessControl

from snekmate.utils.interfaces import IERC5267

implements: IERC5267

from snekmate.auth import access_control

initializes: access_control

from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

from contracts.modules import wallet_signatures

# @dev Role management (`grantRole`, `revokeRole`, `renounceRole`, `hasRole`,
# `getRoleAdmin`, `set_role_admin`, `DEFAULT_ADMIN_ROLE`), ERC-165 and EIP-5267.
exports: (access_control.__interface__, eip712_domain_separator.eip712Domain)


# CONSTANTS #

# @dev Role allowed to set the creation fee (handed to the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")

# @dev Join policies.
OPEN: public(constant(uint256)) = 1
ALLOWLIST: public(constant(uint256)) = 2
MERKLE: public(constant(uint256)) = 3
TOKEN_GATE: public(constant(uint256)) = 4
INVITE: public(constant(uint256)) = 5

# @dev Community role flags.
ADMIN: public(constant(uint256)) = 1
MODERATOR: public(constant(uint256)) = 2

# @dev `MemberRemoved.reason` values.
REASON_LEFT: constant(uint256) = 1
REASON_REMOVED: constant(uint256) = 2
REASON_UNQUALIFIED: constant(uint256) = 3

# @dev EIP-712 type of an invite voucher.
INVITE_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Invite(uint256 communityId,address invitee,uint256 nonce,uint256 expiry)"
)

# @dev Expiry of a membership that never expires (2**64 - 1, far beyond any timestamp).
NEVER: public(constant(uint256)) = 2**64 - 1
# @dev Longest membership duration: 100 years (keeps now + duration below NEVER).
MAX_MEMBERSHIP_SECONDS: constant(uint256) = 100 * 365 * 86400
# @dev Largest creation fee governance may set: 1,000,000 CLUB.
MAX_CREATION_FEE: constant(uint256) = 10**6 * 10**18
# @dev Largest batch of `add_members` / `remove_members` (bounds the loop).
MAX_BATCH: constant(uint256) = 256
# @dev Longest Merkle proof accepted: 32 levels (4 billion leaves).
MAX_PROOF: constant(uint256) = 32

# @dev Bit fields of `_config` and `_members` (see the header).
_MASK64: constant(uint256) = 2**64 - 1
_FAIL_OPEN_BIT: constant(uint256) = 1 << 8
_SECONDS_SHIFT: constant(uint256) = 16
_BANNED_BIT: constant(uint256) = 1 << 64
_ROLE_SHIFT: constant(uint256) = 65
_ADMIN_BIT: constant(uint256) = 1 << 65
_MODERATOR_BIT: constant(uint256) = 1 << 66
_OWNER_BIT: constant(uint256) = 1 << 67
_STAFF_BITS: constant(uint256) = _ADMIN_BIT | _MODERATOR_BIT | _OWNER_BIT
_NONCE_SHIFT: constant(uint256) = 128
_MAX_NONCE: constant(uint256) = 2**128 - 1


# IMMUTABLES #

# @dev CLUB: creation fees are burnt from it; TOKEN_GATE reads balances.
TOKEN: public(immutable(IClubToken))
# @dev NodeRegistry: TOKEN_GATE reads delegated stake (`assets_of`).
REGISTRY: public(immutable(INodeRegistry))
# @dev Premium: TOKEN_GATE reads tiers (`tier_of`).
PREMIUM: public(immutable(IPremium))


# STRUCTS #


# @dev TOKEN_GATE requirements; a zero threshold is not a way in.
struct TokenGate:
    min_balance: uint256
    node: address
    min_stake: uint256
    min_tier: uint256


# STORAGE #

# @dev Creation fee in wei of CLUB, burnt from the creator.
creation_fee: public(uint256)
# @dev Number of communities created; ids run from 1 to `community_count`.
community_count: public(uint256)
# @dev community id -> owner (zero: no such community).
_owner: HashMap[uint256, address]
# @dev community id -> the owner-to-be of a started two-step transfer (zero: none).
pending_owner_of: public(HashMap[uint256, address])
# @dev community id -> packed policy, fail_open, membership seconds.
_config: HashMap[uint256, uint256]
# @dev community id -> account -> packed expiry, ban flag, roles, last invite nonce.
_members: HashMap[uint256, HashMap[address, uint256]]
# @dev community id -> MERKLE allowlist root.
merkle_root: public(HashMap[uint256, bytes32])
# @dev community id -> TOKEN_GATE requirements.
token_gate: public(HashMap[uint256, TokenGate])


# EVENTS #
# Declared once, in interfaces/ICommunities.vyi, and logged as `ICommunities.<Event>`.


@deploy
def __init__(token: IClubToken, registry: INodeRegistry, premium: IPremium, creation_fee: uint256):
    """
    @param token The CLUB token.
    @param registry The NodeRegistry (stake gates).
    @param premium The Premium contract (tier gates).
    @param creation_fee Initial creation fee in wei of CLUB.
    @dev The deployer receives DEFAULT_ADMIN_ROLE and PARAMETER_ROLE; the deploy
         plan hands both to the Timelock.
    """
    assert creation_fee <= MAX_CREATION_FEE, "communities: fee too high"
    TOKEN = token
    REGISTRY = registry
    PREMIUM = premium
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    eip712_domain_separator.__init__("Communities", "1")
    self.creation_fee = creation_fee


# GOVERNANCE #


@external
def set_creation_fee(new_fee: uint256):
    """
    @notice Set the creation fee (wei of CLUB, burnt on `create`).
    @param new_fee The new fee; at most 1,000,000 CLUB.
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    assert new_fee <= MAX_CREATION_FEE, "communities: fee too high"
    log ICommunities.CreationFeeChanged(old_fee=self.creation_fee, new_fee=new_fee)
    self.creation_fee = new_fee


# CREATION AND OWNERSHIP #


@external
def create(owner: address, policy: uint256, membership_seconds: uint256, fail_open: bool) -> uint256:
    """
    @notice Create a community owned by `owner`; burns the creation fee from the caller
            (approve this contract for it first).
    @param owner The owner: an EOA or a contract wallet.
    @param policy OPEN, ALLOWLIST, MERKLE, TOKEN_GATE or INVITE.
    @param membership_seconds How long a join lasts (0: memberships never expire).
    @param fail_open What relays do when their RPC is unreachable: serve the cached
           member list (True) or refuse (False).
    @return The new community's id.
    """
    assert owner != empty(address), "communities: zero owner"
    self._check_settings(policy, membership_seconds)
    fee: uint256 = self.creation_fee
    if fee != 0:
        extcall TOKEN.burnFrom(msg.sender, fee)
    community_id: uint256 = self.community_count + 1
    self.community_count = community_id
    self._owner[community_id] = owner
    self._members[community_id][owner] = _OWNER_BIT
    self._config[community_id] = self._pack_settings(policy, membership_seconds, fail_open)
    log ICommunities.CommunityCreated(
        community_id=community_id,
        owner=owner,
        creator=msg.sender,
        policy=policy,
        membership_seconds=membership_seconds,
        fail_open=fail_open,
        fee=fee,
    )
    return community_id


@external
def transfer_ownership(community_id: uint256, new_owner: address):
    """
    @notice Start handing the community to `new_owner` (zero cancels); it takes
            effect when `new_owner` calls `accept_ownership`.
    @param community_id The community.
    @param new_owner The owner-to-be (EOA or contract wallet).
    """
    assert self._owner[community_id] == msg.sender, "communities: not the owner"
    self.pending_owner_of[community_id] = new_owner
    log ICommunities.OwnershipTransferStarted(
        community_id=community_id, previous_owner=msg.sender, new_owner=new_owner
    )


@external
def accept_ownership(community_id: uint256):
    """
    @notice Complete a two-step transfer: the caller becomes the owner.
    @param community_id The community.
    """
    assert msg.sender != empty(address), "communities: zero owner"
    assert self.pending_owner_of[community_id] == msg.sender, "communities: not the pending owner"
    word: uint256 = self._members[community_id][msg.sender]
    assert word & _BANNED_BIT == 0, "communities: banned"
    previous: address = self._owner[community_id]
    self._members[community_id][previous] &= ~_OWNER_BIT
    self._members[community_id][msg.sender] = word | _OWNER_BIT
    self._owner[community_id] = msg.sender
    self.pending_owner_of[community_id] = empty(address)
    log ICommunities.OwnershipTransferred(
        community_id=community_id, previous_owner=previous, new_owner=msg.sender
    )


@external
def set_admin(community_id: uint256, account: address, enabled: bool):
    """
    @notice Grant or revoke the ADMIN role (owner only).
    @param community_id The community.
    @param account The admin.
    @param enabled Grant (True) or revoke (False).
    """
    assert self._members[community_id][msg.sender] & _OWNER_BIT != 0, "communities: not the owner"
    self._set_role(community_id, account, _ADMIN_BIT, enabled)


@external
def set_moderator(community_id: uint256, account: address, enabled: bool):
    """
    @notice Grant or revoke the MODERATOR role (owner or admin).
    @param community_id The community.
    @param account The moderator.
    @param enabled Grant (True) or revoke (False).
    """
    self._check_staff(community_id, _ADMIN_BIT)
    self._set_role(community_id, account, _MODERATOR_BIT, enabled)


# SETTINGS #


@external
def set_policy(community_id: uint256, policy: uint256, membership_seconds: uint256, fail_open: bool):
    """
    @notice Change the join policy, the membership duration (for joins from now
            on) and the relays' behaviour without RPC (owner or admin).
    @param community_id The community.
    @param policy OPEN, ALLOWLIST, MERKLE, TOKEN_GATE or INVITE.
    @param membership_seconds How long a join lasts (0: never expires).
    @param fail_open Relays serve the cached member list when their RPC is down.
    """
    self._check_staff(community_id, _ADMIN_BIT)
    self._check_settings(policy, membership_seconds)
    self._config[community_id] = self._pack_settings(policy, membership_seconds, fail_open)
    log ICommunities.PolicyChanged(
        community_id=community_id, policy=policy, membership_seconds=membership_seconds, fail_open=fail_open
    )


@external
def set_merkle_root(community_id: uint256, root: bytes32):
    """
    @notice Set the MERKLE allowlist root (owner or admin). Members who joined
            under an older root stay members.
    @param community_id The community.
    @param root Root of an OpenZeppelin StandardMerkleTree with leaf encoding ["address"].
    """
    self._check_staff(community_id, _ADMIN_BIT)
    self.merkle_root[community_id] = root
    log ICommunities.MerkleRootChanged(community_id=community_id, root=root)


@external
def set_token_gate(community_id: uint256, min_balance: uint256, node: address, min_stake: uint256, min_tier: uint256):
    """
    @notice Set the TOKEN_GATE requirements (owner or admin); any one met qualifies.
    @param community_id The community.
    @param min_balance CLUB balance (wei) that qualifies; 0: balance is no way in.
    @param node The node whose delegators qualify by stake.
    @param min_stake Stake delegated to `node` (wei, NodeRegistry `assets_of`); 0: no way in.
    @param min_tier Premium tier that qualifies; 0: tiers are no way in.
    """
    self._check_staff(community_id, _ADMIN_BIT)
    assert min_stake == 0 or node != empty(address), "communities: stake gate needs a node"
    self.token_gate[community_id] = TokenGate(
        min_balance=min_balance, node=node, min_stake=min_stake, min_tier=min_tier
    )
    log ICommunities.TokenGateChanged(
        community_id=community_id, min_balance=min_balance, node=node, min_stake=min_stake, min_tier=min_tier
    )


# JOIN PATHS #


@external
def join(community_id: uint256):
    """
    @notice Join (or renew) an OPEN community.
    @param community_id The community.
    """
    config: uint256 = self._config_with_policy(community_id, OPEN)
    self._admit(community_id, msg.sender, config, 0)


@external
@reentrant
def join_with_proof(community_id: uint256, proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Join (or renew) a MERKLE community with a proof that the caller's
            address is a leaf of the community's root.
    @param community_id The community.
    @param proof Sibling hashes from the leaf to the root (OpenZeppelin `getProof`).
    @dev Not under the reentrancy lock (`@reentrant`): it calls no other contract, and the
         lock's transient-storage round trip (300 gas) is more than this join's gas target
         leaves. The policy check is `_config_with_policy` written out for the same reason.
    """
    config: uint256 = self._config[community_id]
    assert config != 0, "communities: no such community"
    assert config & 255 == MERKLE, "communities: wrong join policy"
    # OpenZeppelin StandardMerkleTree leaf for ["address"]: double-hashed, so no
    # 64-byte inner node can pass as a leaf (second-preimage safe).
    node: bytes32 = keccak256(keccak256(abi_encode(msg.sender)))
    # Sorted-pair hashing as snekmate's `_process_proof` (and OpenZeppelin's
    # `processProof`) does it; bounded by MAX_PROOF.
    for sibling: bytes32 in proof:
        if convert(node, uint256) < convert(sibling, uint256):
            node = keccak256(abi_encode(node, sibling))
        else:
            node = keccak256(abi_encode(sibling, node))
    assert node == self.merkle_root[community_id], "communities: invalid proof"
    self._admit(community_id, msg.sender, config, 0)


@external
def join_with_token(community_id: uint256):
    """
    @notice Join (or renew) a TOKEN_GATE community the caller qualifies for.
    @param community_id The community.
    """
    config: uint256 = self._config_with_policy(community_id, TOKEN_GATE)
    assert self._qualifies(community_id, msg.sender), "communities: does not qualify"
    self._admit(community_id, msg.sender, config, 0)


@external
def redeem_invite(
    community_id: uint256,
    nonce: uint256,
    expiry: uint256,
    signer: address,
    signature: Bytes[wallet_signatures.MAX_SIGNATURE_BYTES],
):
    """
    @notice Join (or renew) an INVITE community with a voucher signed by its owner
            or an admin; the caller must be the voucher's invitee.
    @param community_id The community.
    @param nonce The voucher nonce; must exceed the caller's last redeemed one here.
    @param expiry Last second (unix) the voucher is valid.
    @param signer The owner or admin who signed (EOA, or EIP-1271 wallet).
    @param signature 65-byte ECDSA signature (r || s || v), or the wallet's EIP-1271
           signature (a Safe's: its owners' signatures, 65 bytes each), at most 2,048 bytes.
    """
    config: uint256 = self._config_with_policy(community_id, INVITE)
    assert block.timestamp <= expiry, "communities: voucher expired"
    assert self._members[community_id][signer] & (_ADMIN_BIT | _OWNER_BIT) != 0, "communities: signer is not an admin"
    assert nonce <= _MAX_NONCE, "communities: nonce too large"
    assert nonce > self._members[community_id][msg.sender] >> _NONCE_SHIFT, "communities: voucher already used"
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(INVITE_TYPEHASH, community_id, msg.sender, nonce, expiry))
    )
    assert wallet_signatures._is_valid_signature_now(signer, digest, signature), "communities: invalid signature"
    self._admit(community_id, msg.sender, config, nonce)


@external
def add_members(community_id: uint256, accounts: DynArray[address, MAX_BATCH]):
    """
    @notice Add (or renew) members, under any policy (owner or admin). Each
            account's membership then lasts until now + the community's duration
            or its current expiry, whichever is later; one MembersAdded event
            names the batch.
    @param community_id The community.
    @param accounts Up to 256 accounts; the batch reverts if one is banned.
    """
    self._check_staff(community_id, _ADMIN_BIT)
    seconds: uint256 = (self._config[community_id] >> _SECONDS_SHIFT) & _MASK64
    expires_at: uint256 = NEVER
    if seconds != 0:
        expires_at = block.timestamp + seconds
    # Bounded by MAX_BATCH. The body is `_admit` written out and the batch logs one event:
    # the per-member cost is the benchmark's target, and a call and an event per member
    # cost ~1,600 gas more.
    for account: address in accounts:
        assert account != empty(address), "communities: zero account"
        word: uint256 = self._members[community_id][account]
        assert word & _BANNED_BIT == 0, "communities: banned"
        if word & _MASK64 < expires_at:
            self._members[community_id][account] = (word & ~_MASK64) | expires_at
    log ICommunities.MembersAdded(community_id=community_id, accounts=accounts, expires_at=expires_at)


# LEAVING, REMOVAL, BANS #


@external
def remove_members(community_id: uint256, accounts: DynArray[address, MAX_BATCH]):
    """
    @notice Remove members (owner, admin or moderator).
    @param community_id The community.
    @param accounts Up to 256 members; the batch reverts if one is not a member.
    """
    self._check_staff(community_id, _ADMIN_BIT | _MODERATOR_BIT)
    # Bounded by MAX_BATCH.
    for account: address in accounts:
        self._remove(community_id, account, REASON_REMOVED)


@external
def leave(community_id: uint256):
    """
    @notice Leave a community (also drops an expired membership record).
    @param community_id The community.
    """
    self._existing_config(community_id)
    self._remove(community_id, msg.sender, REASON_LEFT)


@external
def evict(community_id: uint256, account: address):
    """
    @notice Remove a member of a TOKEN_GATE community who no longer qualifies (anyone).
    @param community_id The community.
    @param account The member.
    """
    self._config_with_policy(community_id, TOKEN_GATE)
    assert not self._qualifies(community_id, account), "communities: still qualifies"
    self._remove(community_id, account, REASON_UNQUALIFIED)


@external
def ban(community_id: uint256, account: address):
    """
    @notice Ban `account` (owner, admin or moderator): it stops being a member and
            no join path (staff adds included) readmits it until `unban`.
    @param community_id The community.
    @param account The account; the owner and role holders cannot be banned.
    """
    # The caller's staff role proves the community exists.
    self._check_staff(community_id, _ADMIN_BIT | _MODERATOR_BIT)
    word: uint256 = self._members[community_id][account]
    assert word & _STAFF_BITS == 0, "communities: cannot ban staff"
    assert word & _BANNED_BIT == 0, "communities: already banned"
    # The record (expiry) stays: `is_member` reads the ban bit, and `unban` drops it.
    self._members[community_id][account] = word | _BANNED_BIT
    log ICommunities.Banned(community_id=community_id, account=account, by=msg.sender)


@external
def unban(community_id: uint256, account: address):
    """
    @notice Lift a ban (owner, admin or moderator) and drop what is left of the
            membership record: the account is no member until it joins again.
    @param community_id The community.
    @param account The banned account.
    """
    self._check_staff(community_id, _ADMIN_BIT | _MODERATOR_BIT)
    word: uint256 = self._members[community_id][account]
    assert word & _BANNED_BIT != 0, "communities: not banned"
    self._members[community_id][account] = word & ~(_BANNED_BIT | _MASK64)
    log ICommunities.Unbanned(community_id=community_id, account=account, by=msg.sender)


# VIEWS #


@view
@external
def is_member(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` is a member of `community_id` now (not banned, not expired).
    @dev One storage read: expiry and ban flag share the member word.
    """
    word: uint256 = self._members[community_id][account]
    return word & _BANNED_BIT == 0 and word & _MASK64 > block.timestamp


@view
@external
def owner_of(community_id: uint256) -> address:
    """
    @notice The community's owner (zero: no such community).
    """
    return self._owner[community_id]


@view
@external
def expiry_of(community_id: uint256, account: address) -> uint256:
    """
    @notice When `account`'s membership ends (unix s; NEVER: no end; 0: no membership).
    """
    return self._members[community_id][account] & _MASK64


@view
@external
def is_banned(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` is banned from `community_id`.
    """
    return self._members[community_id][account] & _BANNED_BIT != 0


@view
@external
def invite_nonce(community_id: uint256, account: address) -> uint256:
    """
    @notice The last invite nonce `account` redeemed in `community_id` (0: none).
    """
    return self._members[community_id][account] >> _NONCE_SHIFT


@view
@external
def roles_of(community_id: uint256, account: address) -> uint256:
    """
    @notice `account`'s role flags in `community_id` (ADMIN = 1, MODERATOR = 2).
    """
    return (self._members[community_id][account] >> _ROLE_SHIFT) & (ADMIN | MODERATOR)


@view
@external
def policy_of(community_id: uint256) -> uint256:
    """
    @notice The community's join policy (0: no such community).
    """
    return self._config[community_id] & 255


@view
@external
def membership_seconds_of(community_id: uint256) -> uint256:
    """
    @notice How long a join lasts (s; 0: forever).
    """
    return (self._config[community_id] >> _SECONDS_SHIFT) & _MASK64


@view
@external
def fail_open(community_id: uint256) -> bool:
    """
    @notice Whether relays serve the cached member list when their RPC is unreachable.
    """
    return self._config[community_id] & _FAIL_OPEN_BIT != 0


@view
@external
def qualifies(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` meets the community's TOKEN_GATE requirements now.
    """
    return self._qualifies(community_id, account)


@view
@external
def is_qualified_member(community_id: uint256, account: address) -> bool:
    """
    @notice Whether `account` is a member of `community_id` now and, if the community's
            policy is TOKEN_GATE, still meets its gate now (what AdMarket pays for).
    @dev `join_with_token` checks the gate once, at join, and a member who falls below
         it stays a member until someone `evict`s them; this view re-checks it, so one
         balance moved from account to account qualifies only the account holding it
         when the view is called. Members staff added to a TOKEN_GATE community
         without the gate do not qualify either. Other policies: `is_member`.
    """
    word: uint256 = self._members[community_id][account]
    if word & _BANNED_BIT != 0 or word & _MASK64 <= block.timestamp:
        return False
    if self._config[community_id] & 255 != TOKEN_GATE:
        return True
    return self._qualifies(community_id, account)


@view
@external
def invite_digest(community_id: uint256, invitee: address, nonce: uint256, expiry: uint256) -> bytes32:
    """
    @notice The EIP-712 digest an admin signs for an invite voucher.
    """
    return eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(INVITE_TYPEHASH, community_id, invitee, nonce, expiry))
    )


# INTERNAL #


@view
@internal
def _existing_config(community_id: uint256) -> uint256:
    config: uint256 = self._config[community_id]
    assert config != 0, "communities: no such community"
    return config


@view
@internal
def _config_with_policy(community_id: uint256, policy: uint256) -> uint256:
    config: uint256 = self._existing_config(community_id)
    assert config & 255 == policy, "communities: wrong join policy"
    return config


@view
@internal
def _check_staff(community_id: uint256, role_bits: uint256):
    # The owner holds every role. Staff exist only in existing communities.
    assert self._members[community_id][msg.sender] & (role_bits | _OWNER_BIT) != 0, "communities: not staff"


@pure
@internal
def _check_settings(policy: uint256, membership_seconds: uint256):
    assert policy >= OPEN and policy <= INVITE, "communities: unknown policy"
    assert membership_seconds <= MAX_MEMBERSHIP_SECONDS, "communities: membership too long"


@pure
@internal
def _pack_settings(policy: uint256, membership_seconds: uint256, fail_open: bool) -> uint256:
    word: uint256 = policy | (membership_seconds << _SECONDS_SHIFT)
    if fail_open:
        word |= _FAIL_OPEN_BIT
    return word


@internal
def _set_role(community_id: uint256, account: address, role: uint256, enabled: bool):
    assert account != empty(address), "communities: zero account"
    word: uint256 = self._members[community_id][account]
    if enabled:
        assert word & _BANNED_BIT == 0, "communities: banned"
        word |= role
    else:
        word &= ~role
    self._members[community_id][account] = word
    roles: uint256 = (word >> _ROLE_SHIFT) & (ADMIN | MODERATOR)
    log ICommunities.RolesChanged(community_id=community_id, account=account, roles=roles, by=msg.sender)


@view
@internal
def _qualifies(community_id: uint256, account: address) -> bool:
    # The gate's fields are read one at a time, each only when the ones before did not
    # qualify the account: a balance gate that passes costs one storage read of the gate,
    # not four (AdMarket pays this view for every gated receipt it settles).
    min_balance: uint256 = self.token_gate[community_id].min_balance
    if min_balance != 0 and staticcall TOKEN.balanceOf(account) >= min_balance:
        return True
    min_stake: uint256 = self.token_gate[community_id].min_stake
    if min_stake != 0 and staticcall REGISTRY.assets_of(self.token_gate[community_id].node, account) >= min_stake:
        return True
    min_tier: uint256 = self.token_gate[community_id].min_tier
    if min_tier != 0 and staticcall PREMIUM.tier_of(account) >= min_tier:
        return True
    return False


@internal
def _admit(community_id: uint256, account: address, config: uint256, nonce: uint256):
    """
    @dev Makes `account` (the caller of a join path) a member until now + the
         community's duration (never shortening a longer membership), stores
         `nonce` if non-zero.
    """
    word: uint256 = self._members[community_id][account]
    assert word & _BANNED_BIT == 0, "communities: banned"
    seconds: uint256 = (config >> _SECONDS_SHIFT) & _MASK64
    expires_at: uint256 = NEVER
    if seconds != 0:
        expires_at = block.timestamp + seconds
    old_expiry: uint256 = word & _MASK64
    if old_expiry > expires_at:
        expires_at = old_expiry
    if nonce != 0:
        word = (word & ~(_MAX_NONCE << _NONCE_SHIFT)) | (nonce << _NONCE_SHIFT)
    self._members[community_id][account] = (word & ~_MASK64) | expires_at
    log ICommunities.MemberJoined(community_id=community_id, account=account, expires_at=expires_at)


@internal
def _remove(community_id: uint256, account: address, reason: uint256):
    word: uint256 = self._members[community_id][account]
    assert word & _MASK64 != 0, "communities: not a member"
    self._members[community_id][account] = word & ~_MASK64
    log ICommunities.MemberRemoved(community_id=community_id, account=account, reason=reason)
