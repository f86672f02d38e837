# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
# pragma optimize codesize
"""
@title Node directory: the registry's read-only views and paginated listing
@custom:contract-name NodeDirectory
@license GNU Affero General Public License v3.0 only
@notice A stateless read-only lens over NodeRegistry (its address is an
        immutable). It decodes the registry's packed storage words
        (`node_words`, layouts in NodeRegistry's STORAGE section) into
        `nodes(node)` (everything stored about a node), `pending_rewards`,
        `shares`, `is_eligible`, `node_at(index)` and the paginated `list_nodes`; and it
        answers `credential_endpoint(node)` (the registry's `endpoint(node, 8)`)
        and `operator_of_key(key)` (the first half of its `key_record(key)`).
        These views live apart from the registry only to keep the registry's
        runtime code under the EIP-170 limit of 24,576 bytes. Discovery itself
        is `NodeRegistry.sample`; this is for clients, explorers, dashboards
        and keepers.
@custom:security View functions only: no storage, no state-changing call. The
                 decoding mirrors NodeRegistry's word layouts and eligibility
                 rule (tests compare both on the deployed pair).
"""


from interfaces import INodeRegistry


# CONSTANTS #

# @dev Largest page of `list_nodes`, and how many registered nodes one call scans at most.
MAX_PAGE: constant(uint256) = 100
MAX_SCAN: constant(uint256) = 1000
# @dev Fixed-point scale of the per-share pool accumulators.
WAD: constant(uint256) = 10**18
# @dev NodeRegistry's word layouts (see its STORAGE section).
MASK128: constant(uint256) = 2**128 - 1
MASK40: constant(uint256) = 2**40 - 1
MASK32: constant(uint256) = 2**32 - 1
MASK14: constant(uint256) = 2**14 - 1
ADDRESS_MASK: constant(uint256) = 2**160 - 1
ACCOUNT_SHARES_MASK: constant(uint256) = 2**127 - 1
HAS_REWARDS: constant(uint256) = 2**127
TURN_CREDENTIAL: constant(uint256) = 8


# STRUCTS #

# @dev Everything the registry knows about one node, unpacked (the `nodes` view).
struct Node:
    kinds: uint256                    # flags of the kinds it serves; 0 = not registered
    node_key: address                 # hot key that sends heartbeats
    live_until: uint256               # unix seconds the last heartbeat keeps it live (0 = never beat)
    jailed: bool                      # excluded until the operator unjails after jailed_until
    jailed_until: uint256             # unix seconds
    weight: uint256                   # whole CLUB currently in total_weight (and in the trees; a jailed
                                      # node's leaves may still hold its old weight until its next sync)
    acc_snapshot: uint256             # sum of the node's declared kinds' reward accumulators at its last checkpoint
    commission_bps: uint256           # operator commission in force
    pending_commission_bps: uint256   # scheduled commission
    commission_effective_at: uint256  # when the scheduled commission applies (0 = none scheduled)
    bonded_assets: uint256            # CLUB wei bonded in the pool
    bonded_shares: uint256            # bonded shares outstanding
    unbonding_assets: uint256         # CLUB wei of the pool waiting to be withdrawn
    unbonding_shares: uint256         # unbonding shares outstanding
    pool_acc: uint256                 # reward per bonded share accumulator (1e18-scaled)
    commission_accrued: uint256       # commission credited to the operator, not yet claimed (wei)


# IMMUTABLES #

# @dev The registry listed.
REGISTRY: public(immutable(INodeRegistry))


@deploy
def __init__(registry: INodeRegistry):
    """
    @param registry The NodeRegistry.
    """
    assert registry.address.is_contract, "directory: registry not a contract"
    REGISTRY = registry


# EXTERNAL #

@external
@view
def nodes(node: address) -> Node:
    """
    @notice Everything the registry stores about `node`, unpacked (zeros when not registered).
    @param node The operator.
    @return Node The unpacked record.
    """
    meta: uint256 = 0
    key: uint256 = 0
    pool: uint256 = 0
    waiting: uint256 = 0
    accw: uint256 = 0
    commission: uint256 = 0
    account: uint256 = 0
    meta, key, pool, waiting, accw, commission, account = staticcall REGISTRY.node_words(node, node)
    weight: uint256 = (meta >> 204) & MASK32
    if (meta >> 5) & 1 == 1:
        # Lazy (jailed, its leaves not yet moved): its weight is out of total_weight.
        weight = 0
    return Node(
        kinds=meta & 7,
        node_key=convert(key & ADDRESS_MASK, address),
        live_until=(meta >> 8) & MASK40,
        jailed=(meta >> 3) & 1 == 1,
        jailed_until=(meta >> 48) & MASK40,
        weight=weight,
        acc_snapshot=accw & MASK128,
        commission_bps=(meta >> 88) & MASK14,
        pending_commission_bps=(meta >> 102) & MASK14,
        commission_effective_at=(meta >> 116) & MASK40,
        bonded_assets=pool & MASK128,
        bonded_shares=pool >> 128,
        unbonding_assets=waiting & MASK128,
        unbonding_shares=waiting >> 128,
        pool_acc=accw >> 128,
        commission_accrued=commission,
    )


@external
@view
def pending_rewards(node: address, account: address) -> uint256:
    """
    @notice What `NodeRegistry.claim(node)` would pay `account` now: its rewards up
            to the node's last checkpoint (commission included for the operator).
    @param node The node.
    @param account The holder (the operator: commission included).
    @return uint256 CLUB wei.
    """
    meta: uint256 = 0
    key: uint256 = 0
    pool: uint256 = 0
    waiting: uint256 = 0
    accw: uint256 = 0
    commission: uint256 = 0
    stake: uint256 = 0
    meta, key, pool, waiting, accw, commission, stake = staticcall REGISTRY.node_words(node, account)
    owed: uint256 = 0
    if account == node:
        owed = commission
    if stake & HAS_REWARDS != 0:
        owed += staticcall REGISTRY.rewards(node, account)
    # Rounds down, as the registry's settlement.
    return owed + (stake & ACCOUNT_SHARES_MASK) * ((accw >> 128) - (stake >> 128)) // WAD


@external
@view
def shares(node: address, account: address) -> uint256:
    """
    @notice `account`'s bonded shares of `node`'s pool.
    @param node The node.
    @param account The holder.
    @return uint256 Bonded shares.
    """
    return (staticcall REGISTRY.node_words(node, account))[6] & ACCOUNT_SHARES_MASK


@external
@view
def is_eligible(node: address) -> bool:
    """
    @notice True when the node would be sampled and earn right now: registered,
            not jailed, live, and its own stake at least the per-kind minimum times
            its number of kinds (the registry's rule).
    @param node The operator.
    @return bool Whether it is eligible.
    """
    return self._eligible(node)


@external
@view
def node_at(index: uint256) -> (address, uint256, bool):
    """
    @notice The registered node at `index` (0 <= index < node_count(), in
            registration order), its kinds and whether it is eligible now.
    @param index 0 <= index < NodeRegistry.node_count().
    @return (address, uint256, bool) The node, its kinds and whether it is eligible.
    """
    assert index < staticcall REGISTRY.node_count(), "directory: index out of range"
    return self._node_at(index)


@external
@view
def credential_endpoint(node: address) -> String[256]:
    """
    @notice A TURN node's credential service: the registry's `endpoint(node, 8)`.
    @param node The operator.
    @return String[256] The URI (empty when none).
    """
    return staticcall REGISTRY.endpoint(node, TURN_CREDENTIAL)


@external
@view
def operator_of_key(key: address) -> address:
    """
    @notice The operator `key` was ever bound to (zero: never); the registry's
            `key_record(key)` without the retirement time.
    @param key A node key.
    @return address The operator.
    """
    operator: address = empty(address)
    retired: uint256 = 0
    operator, retired = staticcall REGISTRY.key_record(key)
    return operator



@external
@view
def list_nodes(
    kind_mask: uint256, eligible_only: bool, start: uint256, limit: uint256
) -> (DynArray[address, MAX_PAGE], uint256):
    """
    @notice Paginated listing: registered nodes from index `start` that serve
            any kind of `kind_mask` (0 = any) and, if asked, are eligible now.
    @return (nodes, next) Matches (at most min(limit, 100)) and the index to pass
            as `start` next; next == node_count() when the list is exhausted.
    """
    found: DynArray[address, MAX_PAGE] = []
    count: uint256 = staticcall REGISTRY.node_count()
    cap: uint256 = min(limit, MAX_PAGE)
    i: uint256 = start
    # Bound: scans at most MAX_SCAN registered nodes per call.
    for _: uint256 in range(MAX_SCAN):
        if i >= count or len(found) >= cap:
            break
        node: address = empty(address)
        kinds: uint256 = 0
        eligible: bool = False
        node, kinds, eligible = self._node_at(i)
        i += 1
        if kind_mask != 0 and kinds & kind_mask == 0:
            continue
        if eligible_only and not eligible:
            continue
        found.append(node)
    return found, min(i, count)


# INTERNAL #

@internal
@view
def _node_at(index: uint256) -> (address, uint256, bool):
    node: address = staticcall REGISTRY.node_list(index)
    return node, (staticcall REGISTRY.node_words(node, node))[0] & 7, self._eligible(node)


@internal
@view
def _eligible(node: address) -> bool:
    # NodeRegistry's `_eligible`: registered, not jailed, live, own stake (rounded
    # down, one virtual share and wei) >= the per-kind minimum times the kinds.
    meta: uint256 = 0
    key: uint256 = 0
    pool: uint256 = 0
    waiting: uint256 = 0
    accw: uint256 = 0
    commission: uint256 = 0
    own: uint256 = 0
    meta, key, pool, waiting, accw, commission, own = staticcall REGISTRY.node_words(node, node)
    kinds: uint256 = meta & 7
    if kinds == 0 or (meta >> 3) & 1 == 1 or block.timestamp > (meta >> 8) & MASK40:
        return False
    assets: uint256 = (own & ACCOUNT_SHARES_MASK) * ((pool & MASK128) + 1) // ((pool >> 128) + 1)
    required: uint256 = staticcall REGISTRY.min_self_stake_per_kind() * ((kinds & 1) + ((kinds >> 1) & 1) + (kinds >> 2))
    return assets >= required
