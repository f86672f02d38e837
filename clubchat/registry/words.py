"""NodeRegistry's packed node words (`node_words`) decoded in Python, as the NodeDirectory lens does.

The registry keeps its read-only views out of its own code (EIP-170) and exposes the stored words
of a node and of one account's stake in it. `NodeRecord` is the lens's `Node` struct field for
field (same order, so a record indexes like the ABI tuple `nodes(node)` returns); `pending_rewards`
and `eligible` are the lens's rules. Layouts: NodeRegistry's STORAGE section.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eth_utils import to_checksum_address

from clubchat.params import WAD

MASK128 = 2**128 - 1
MASK40 = 2**40 - 1
MASK32 = 2**32 - 1
MASK14 = 2**14 - 1
ADDRESS_MASK = 2**160 - 1
ACCOUNT_SHARES_MASK = 2**127 - 1
HAS_REWARDS = 2**127


class NodeWords(NamedTuple):
    """What `node_words(node, account)` returns, in order."""

    meta: int
    keys: int
    bonded_pool: int
    unbonding_pool: int
    accs: int
    commission_accrued: int
    stake: int  # the account's word in the node's pool


class NodeRecord(NamedTuple):
    """NodeDirectory's `Node`: everything the registry stores about a node, unpacked."""

    kinds: int
    node_key: str
    live_until: int
    jailed: bool
    jailed_until: int
    weight: int
    acc_snapshot: int
    commission_bps: int
    pending_commission_bps: int
    commission_effective_at: int
    bonded_assets: int
    bonded_shares: int
    unbonding_assets: int
    unbonding_shares: int
    pool_acc: int
    commission_accrued: int


def decode(words: Any) -> NodeRecord:
    """A `NodeRecord` from the seven words `node_words` returns."""
    w = NodeWords(*(int(x) for x in words))
    lazy = (w.meta >> 5) & 1 == 1  # jailed, its leaves not moved yet: its weight is out of the total
    return NodeRecord(
        kinds=w.meta & 7,
        node_key=to_checksum_address(f"0x{w.keys & ADDRESS_MASK:040x}"),
        live_until=(w.meta >> 8) & MASK40,
        jailed=(w.meta >> 3) & 1 == 1,
        jailed_until=(w.meta >> 48) & MASK40,
        weight=0 if lazy else (w.meta >> 204) & MASK32,
        acc_snapshot=w.accs & MASK128,
        commission_bps=(w.meta >> 88) & MASK14,
        pending_commission_bps=(w.meta >> 102) & MASK14,
        commission_effective_at=(w.meta >> 116) & MASK40,
        bonded_assets=w.bonded_pool & MASK128,
        bonded_shares=w.bonded_pool >> 128,
        unbonding_assets=w.unbonding_pool & MASK128,
        unbonding_shares=w.unbonding_pool >> 128,
        pool_acc=w.accs >> 128,
        commission_accrued=w.commission_accrued,
    )


def shares(words: Any) -> int:
    """The bonded shares in the stake word of `node_words(node, account)`: `account`'s shares."""
    return int(words[6]) & ACCOUNT_SHARES_MASK


def pending_rewards(words: Any, stored_rewards: int, is_operator: bool) -> int:
    """What `claim(node)` pays the account whose stake word `words` holds: its stored rewards (the
    registry's `rewards(node, account)`, counted when its word says so), its pool share up to the
    node's last checkpoint (rounded down) and, for the operator, the commission."""
    w = NodeWords(*(int(x) for x in words))
    owed = w.commission_accrued if is_operator else 0
    if w.stake & HAS_REWARDS:
        owed += int(stored_rewards)
    return owed + (w.stake & ACCOUNT_SHARES_MASK) * ((w.accs >> 128) - (w.stake >> 128)) // WAD


def eligible(words: Any, min_self_stake_per_kind: int, now: int) -> bool:
    """The registry's eligibility rule over `node_words(node, node)`: registered, not jailed, live
    at `now`, and the operator's own stake (rounded down) at least the minimum times its kinds."""
    w = NodeWords(*(int(x) for x in words))
    kinds = w.meta & 7
    if kinds == 0 or (w.meta >> 3) & 1 or now > (w.meta >> 8) & MASK40:
        return False
    own = (w.stake & ACCOUNT_SHARES_MASK) * ((w.bonded_pool & MASK128) + 1) // ((w.bonded_pool >> 128) + 1)
    return own >= int(min_self_stake_per_kind) * bin(kinds).count("1")


def node_record(registry: Any, node: str) -> NodeRecord:
    """`node`'s record read from a web3.py NodeRegistry contract (one `node_words` call)."""
    return decode(registry.functions.node_words(node, node).call())
