"""Communities from Python: Merkle allowlists, invite vouchers, the log-fed membership cache.

- `merkle`: OpenZeppelin `StandardMerkleTree`-compatible allowlists (leaf encoding ["address"]);
- `invite`: the EIP-712 `Invite` voucher an admin signs and the invitee redeems;
- `cache`: `MembershipCache` and `TierCache`, exact views rebuilt from event logs alone;
- `client`: `CommunitiesClient`, one method per action, typed `info` and `membership`.
"""

from clubchat.communities.cache import MembershipCache, TierCache, TierLimits
from clubchat.communities.client import CommunitiesClient, CommunityError, CommunityInfo, Membership
from clubchat.communities.invite import Invite, SignedInvite
from clubchat.communities.merkle import AllowlistTree, MerkleError, build, load_dump, load_tree_file

__all__ = [
    "AllowlistTree",
    "CommunitiesClient",
    "CommunityError",
    "CommunityInfo",
    "Invite",
    "Membership",
    "MembershipCache",
    "MerkleError",
    "SignedInvite",
    "TierCache",
    "TierLimits",
    "build",
    "load_dump",
    "load_tree_file",
]
