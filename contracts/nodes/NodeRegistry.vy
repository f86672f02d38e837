# pragma version 0.4.3
# pragma optimize codesize
"""
@title Node registry: typed relay / TURN / notify nodes, staking, delegation,
       rewards, stake-weighted discovery, jailing and slashing
@custom:contract-name NodeRegistry
@license GNU Affero General Public License v3.0 only
@notice A node is identified by its operator address. It declares its kinds as
        flags (RELAY = 1, TURN = 2, NOTIFY = 4), one endpoint per kind, a hot
        node key (heartbeats), a region and a metadata URI, and bonds CLUB.

        Pools. Each node owns one pool with two share classes: bonded shares
        (self-stake and delegations, they earn) and unbonding shares (waiting
        for `unbonding_seconds`, they earn nothing). Both classes are plain
        assets/shares exchange rates with one virtual share and one virtual
        wei (ERC-4626 style, every conversion rounds down, i.e. in the pool's
        favour). A slash multiplies both classes' assets by (1 - fraction):
        self-stake, delegations and unbonding entries lose the same fraction
        in O(1), without touching any account.

        Weight. A node's weight is its bonded assets while it is eligible
        (registered, not jailed, self-stake >= the per-kind minimum times its
        number of kinds, heartbeat not older than `heartbeat_seconds`) and 0
        otherwise. The weight lives in one Fenwick tree per kind (module
        `fenwick`), which gives O(log n) updates and O(log n) sampling.

        Rewards. New CLUB (Emission mints the node share straight to this
        contract; any other transfer counts too) is whatever the registry's
        token balance holds above what it owes (`principal` + `reward_reserve`).
        `finalize_epoch` (permissionless, tipped) spreads it over the total
        weight through a cumulative reward-per-weight accumulator
        (`acc_at[epochs finalised]`, 1e18-scaled). A node checkpoint credits
        weight * (accumulator delta), splits it into the operator's commission
        and the pool, and adds the pool part to a per-share accumulator; an
        account settles shares * (per-share delta). Everything is O(1)
        whatever the number of epochs since the last touch.

        Liveness and rewards. A node earns the rewards of epoch e only if its
        heartbeat still covered the end of epoch e: at a checkpoint, the
        accumulator is read at the last epoch whose end is <= last_beat +
        heartbeat_seconds; the rest of its share is forfeited and returns to
        the undistributed balance (it is paid out at the next finalisation).

        Liveness and sampling. Expiry is time-based, so it cannot update the
        trees by itself. `sample` therefore draws sequentially without
        replacement and, when it draws an expired node, removes it from the
        remaining weight and draws again (at most MAX_DRAWS draws in all).
        Rejecting and removing a drawn item is exactly sequential weighted
        sampling without replacement from the eligible nodes only, so the
        result carries no bias; the only effect of expired weight is that
        fewer than k nodes may come back when expired nodes hold most of the
        weight (each draw hits expired weight with probability = its share of
        the remaining weight). `poke(node)` (permissionless, unpaid) removes an
        expired or otherwise ineligible node from the trees.

        Commission. Changes are at most `commission_max_change_bps` per change,
        one pending change at a time, effective `commission_delay_seconds`
        later; rewards of epochs that ended before the effective time keep the
        old rate even when they are checkpointed later.
@custom:security Reentrancy: every state-changing function is `@nonreentrant`;
                 views and getters are not, to keep the runtime code under the
                 EIP-170 limit (the only contract called is CLUB, which makes
                 no callbacks, so a read-only reentrancy cannot happen).
                 Unbonding stake stays slashable until it is withdrawn (for any
                 fault, not only faults before it started unbonding: tracking
                 fault times per entry would cost a loop). Rewards already
                 credited to accounts and to the commission are not slashed.
                 Rounding dust of the accumulators stays reserved for ever, so
                 the token balance always covers everything owed.
                 Endpoints: RELAY must be `wss://` (plain `ws://` only on
                 127.0.0.1 / localhost, for local development); TURN must be
                 `turn:` or `turns:` plus a TURN credential endpoint; TURN
                 credential and NOTIFY endpoints must be `https://` (plain
                 `http://` only on loopback).
"""


from interfaces import IClubToken

from interfaces import INodeRegistry
implements: INodeRegistry

from ethereum.ercs import IERC165
implements: IERC165

from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.auth import access_control
initializes: access_control

from contracts.modules import fenwick
initializes: fenwick


# @dev Role management and ERC-165.
exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.DEFAULT_ADMIN_ROLE,
    # `set_role_admin` is left out on purpose: DEFAULT_ADMIN_ROLE administers
    # PARAMETER_ROLE and SLASHER_ROLE and the hierarchy needs no knob (and the
    # contract is close to the EIP-170 size limit).
)


# CONSTANTS #

# @dev Node kinds (flags) and the mask of every known kind.
RELAY: constant(uint256) = 1
TURN: constant(uint256) = 2
NOTIFY: constant(uint256) = 4
ALL_KINDS: constant(uint256) = 7
# @dev Not a kind: the `endpoint` key of a TURN node's credential service (https).
TURN_CREDENTIAL: constant(uint256) = 8
# @dev Role that may change the registry's parameters (the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")
# @dev Role that may jail and slash (the Timelock now, the dispute module later).
SLASHER_ROLE: public(constant(bytes32)) = keccak256("SLASHER_ROLE")
# @dev Fixed-point scale of accumulators and fractions.
WAD: constant(uint256) = 10**18
# @dev Basis points: 10,000 = 100 %.
BPS: constant(uint256) = 10_000
# @dev Longest stored URI, in characters.
MAX_URI: constant(uint256) = 256
# @dev Longest URI accepted as input: longer inputs revert with a clear reason instead of an ABI error.
MAX_URI_INPUT: constant(uint256) = 1024
# @dev Largest k of `sample`.
MAX_SAMPLE: constant(uint256) = 16
# @dev Draws `sample` may spend in all, rejected (expired) draws included.
MAX_DRAWS: constant(uint256) = 32
# @dev Largest page of `list_nodes`, and how many registered nodes one call scans at most.
MAX_PAGE: constant(uint256) = 100
MAX_SCAN: constant(uint256) = 1000


# IMMUTABLES #

# @dev The staked token (CLUB).
TOKEN: public(immutable(IClubToken))
# @dev Start of reward epoch 0 (unix seconds) and epoch length (seconds).
EPOCH_START: public(immutable(uint256))
EPOCH_SECONDS: public(immutable(uint256))


# STRUCTS #

# @dev Everything the registry stores about one node (strings live in their own maps).
struct Node:
    kinds: uint256                    # flags of the kinds it serves; 0 = not registered
    node_key: address                 # hot key that sends heartbeats
    last_beat: uint256                # unix seconds of the last heartbeat (0 = never)
    jailed: bool                      # excluded until the operator unjails after jailed_until
    jailed_until: uint256             # unix seconds
    weight: uint256                   # CLUB wei currently in the trees and in total_weight
    acc_snapshot: uint256             # reward-per-weight accumulator at the last checkpoint (1e18-scaled)
    commission_bps: uint256           # operator commission in force
    pending_commission_bps: uint256   # scheduled commission
    commission_effective_at: uint256  # when the scheduled commission applies (0 = none scheduled)
    bonded_assets: uint256            # CLUB wei bonded in the pool
    bonded_shares: uint256            # bonded shares outstanding
    unbonding_assets: uint256         # CLUB wei of the pool waiting to be withdrawn
    unbonding_shares: uint256         # unbonding shares outstanding
    pool_acc: uint256                 # reward per bonded share accumulator (1e18-scaled)
    commission_accrued: uint256       # commission credited to the operator, not yet claimed (wei)

# @dev One pending withdrawal of an account: unbonding shares of `node`'s pool.
struct Unbonding:
    node: address
    shares: uint256                   # unbonding shares (their assets shrink with slashes)
    release_time: uint256             # unix seconds from which `withdraw` works

# @dev What a node checkpoint would credit right now.
struct Accrual:
    acc_now: uint256
    commission: uint256
    pool_acc: uint256
    forfeited: uint256
    commission_bps: uint256
    apply_pending: bool


# STORAGE #

# @dev operator => node record.
nodes: public(HashMap[address, Node])
# @dev operator => kind (or TURN_CREDENTIAL) => endpoint URI.
endpoints: HashMap[address, HashMap[uint256, String[MAX_URI]]]
# @dev operator => region code (e.g. "eu-west", ISO 3166 "DE").
region: public(HashMap[address, String[16]])
# @dev operator => metadata URI (operator name, contact, terms).
metadata_uri: public(HashMap[address, String[MAX_URI]])
# @dev node key => operator.
operator_of_key: public(HashMap[address, address])
# @dev operator => kind => Fenwick slot (1-based).
slot_of: HashMap[address, HashMap[uint256, uint256]]
# @dev Registered operators in registration order (for paginated listing).
node_list: public(DynArray[address, 65536])

# @dev node => account => bonded shares.
shares: public(HashMap[address, HashMap[address, uint256]])
# @dev node => account => pool_acc at the account's last settlement.
reward_snapshot: HashMap[address, HashMap[address, uint256]]
# @dev node => account => rewards settled but not claimed (CLUB wei).
rewards: public(HashMap[address, HashMap[address, uint256]])
# @dev account => entry id => unbonding entry.
unbondings: public(HashMap[address, HashMap[uint256, Unbonding]])
# @dev account => number of unbonding entries ever created (ids are 0 .. count - 1).
unbonding_count: public(HashMap[address, uint256])

# @dev Epochs finalised so far; epoch e ends at EPOCH_START + (e + 1) * EPOCH_SECONDS.
epochs_finalised: public(uint256)
# @dev epochs finalised => reward-per-weight accumulator after them (1e18-scaled).
acc_at: public(HashMap[uint256, uint256])
# @dev Sum of all node weights (CLUB wei).
total_weight: public(uint256)
# @dev Bonded + unbonding assets of all pools (CLUB wei).
principal: public(uint256)
# @dev Rewards distributed by finalisations and not yet claimed or forfeited (CLUB wei).
reward_reserve: public(uint256)

# @dev Self-stake required per declared kind (CLUB wei).
min_self_stake_per_kind: public(uint256)
# @dev Delegated shares may be at most this multiple of the operator's shares.
saturation_multiple: public(uint256)
# @dev Waiting time of an unbonding entry (seconds).
unbonding_seconds: public(uint256)
# @dev A heartbeat keeps a node live for this long (seconds).
heartbeat_seconds: public(uint256)
# @dev Highest commission (bps).
commission_max_bps: public(uint256)
# @dev Largest change of one commission change (bps).
commission_max_change_bps: public(uint256)
# @dev Delay between scheduling and applying a commission change (seconds).
commission_delay_seconds: public(uint256)
# @dev Tip paid to whoever finalises an epoch, out of that epoch's new rewards (CLUB wei).
finalize_tip: public(uint256)


# EVENTS #

# @dev A node registered.
event NodeRegistered:
    node: indexed(address)
    node_key: indexed(address)
    kinds: uint256
    region: String[16]
    metadata_uri: String[MAX_URI]

# @dev The endpoint of `kind` (or of the TURN credential service, kind = 8) was set.
event EndpointChanged:
    node: indexed(address)
    kind: indexed(uint256)
    uri: String[MAX_URI]

# @dev The node key changed.
event NodeKeyChanged:
    node: indexed(address)
    old_key: indexed(address)
    new_key: indexed(address)

# @dev Region or metadata URI changed.
event MetadataChanged:
    node: indexed(address)
    region: String[16]
    metadata_uri: String[MAX_URI]

# @dev `account` bonded `assets` CLUB wei to `node` for `shares` (account == node: self-stake).
event Staked:
    node: indexed(address)
    account: indexed(address)
    assets: uint256
    shares: uint256

# @dev `account` started unbonding `shares` (worth `assets`) as entry `entry_id`.
event Unbonded:
    node: indexed(address)
    account: indexed(address)
    entry_id: uint256
    shares: uint256
    assets: uint256
    release_time: uint256

# @dev Entry `entry_id` went back into the bonded pool.
event Rebonded:
    node: indexed(address)
    account: indexed(address)
    entry_id: uint256
    assets: uint256
    shares: uint256

# @dev Entry `entry_id` paid out `assets`.
event Withdrawn:
    node: indexed(address)
    account: indexed(address)
    entry_id: uint256
    assets: uint256

# @dev `account` claimed `amount` of rewards (commission included for the operator).
event Claimed:
    node: indexed(address)
    account: indexed(address)
    amount: uint256

# @dev A commission change was scheduled.
event CommissionChangeScheduled:
    node: indexed(address)
    current_bps: uint256
    pending_bps: uint256
    effective_at: uint256

# @dev A scheduled commission took effect.
event CommissionChanged:
    node: indexed(address)
    commission_bps: uint256

# @dev The node key sent a heartbeat.
event Heartbeat:
    node: indexed(address)
    timestamp: uint256

# @dev The node's weight in the trees changed (0 = not sampled, earns nothing).
event WeightChanged:
    node: indexed(address)
    weight: uint256

# @dev The node was jailed until `until`.
event Jailed:
    node: indexed(address)
    until: uint256

# @dev The operator released the node from jail.
event Unjailed:
    node: indexed(address)

# @dev The node's pool was slashed by `fraction` (1e18 = 100 %).
event Slashed:
    node: indexed(address)
    reporter: indexed(address)
    fraction: uint256
    bonded_cut: uint256
    unbonding_cut: uint256
    reporter_amount: uint256
    burned: uint256

# @dev Epoch `epoch` was finalised: `rewards` wei spread over `total_weight`.
event EpochFinalised:
    epoch: indexed(uint256)
    caller: indexed(address)
    rewards: uint256
    total_weight: uint256
    tip: uint256

# @dev The parameters were set (all of them, changed or not).
event ParametersChanged:
    min_self_stake_per_kind: uint256
    saturation_multiple: uint256
    unbonding_seconds: uint256
    heartbeat_seconds: uint256
    commission_max_bps: uint256
    commission_max_change_bps: uint256
    commission_delay_seconds: uint256
    finalize_tip: uint256


@deploy
def __init__(
    token: IClubToken,
    epoch_start: uint256,
    epoch_seconds: uint256,
    min_self_stake_per_kind: uint256,
    saturation_multiple: uint256,
    unbonding_seconds: uint256,
    heartbeat_seconds: uint256,
    commission_max_bps: uint256,
    commission_max_change_bps: uint256,
    commission_delay_seconds: uint256,
    finalize_tip: uint256,
):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE, PARAMETER_ROLE and SLASHER_ROLE;
         the deploy plan hands all three to the Timelock.
    @param token The CLUB token.
    @param epoch_start Start of reward epoch 0 (unix seconds).
    @param epoch_seconds Reward epoch length (seconds).
    """
    assert token.address != empty(address), "registry: zero token"
    assert epoch_seconds > 0, "registry: zero epoch"
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    access_control._grant_role(SLASHER_ROLE, msg.sender)
    TOKEN = token
    EPOCH_START = epoch_start
    EPOCH_SECONDS = epoch_seconds
    self._set_parameters(
        min_self_stake_per_kind,
        saturation_multiple,
        unbonding_seconds,
        heartbeat_seconds,
        commission_max_bps,
        commission_max_change_bps,
        commission_delay_seconds,
        finalize_tip,
    )


# REGISTRATION #

@external
@nonreentrant
def register(
    kinds: uint256,
    node_key: address,
    region: String[16],
    metadata_uri: String[MAX_URI_INPUT],
    endpoints: DynArray[String[MAX_URI_INPUT], 3],
    credential_endpoint: String[MAX_URI_INPUT],
    commission_bps: uint256,
    amount: uint256,
):
    """
    @notice Registers msg.sender as a node operator and bonds its self-stake.
    @param kinds Flags of the kinds served (RELAY = 1, TURN = 2, NOTIFY = 4).
    @param node_key Hot key for heartbeats: non-zero, not the operator, not used by another node.
    @param region Region code.
    @param metadata_uri Operator metadata (<= 256 characters).
    @param endpoints One URI per declared kind, in increasing kind order.
    @param credential_endpoint TURN credential service (`https://`) if TURN is declared, else empty.
    @param commission_bps Initial commission (applies at once: there are no delegators yet).
    @param amount Self-stake in CLUB wei (pulled with transferFrom), at least the per-kind minimum
           times the number of kinds.
    """
    meta: String[MAX_URI] = self._bounded(metadata_uri)
    assert self.nodes[msg.sender].kinds == 0, "registry: already registered"
    assert kinds != 0 and kinds & ALL_KINDS == kinds, "registry: unknown kind"
    assert len(endpoints) == self._count_kinds(kinds), "registry: one endpoint per kind"
    assert commission_bps <= self.commission_max_bps, "registry: commission too high"
    assert amount >= self._required_self_stake(kinds), "registry: stake below minimum"
    self._check_key(msg.sender, node_key)

    self.nodes[msg.sender].kinds = kinds
    self.nodes[msg.sender].node_key = node_key
    self.nodes[msg.sender].commission_bps = commission_bps
    self.operator_of_key[node_key] = msg.sender
    self.region[msg.sender] = region
    self.metadata_uri[msg.sender] = meta
    self.node_list.append(msg.sender)
    log NodeRegistered(node=msg.sender, node_key=node_key, kinds=kinds, region=region, metadata_uri=meta)

    i: uint256 = 0
    # Bound: three known kinds.
    for kind: uint256 in [RELAY, TURN, NOTIFY]:
        if kinds & kind != 0:
            self._set_endpoint(msg.sender, kind, endpoints[i])
            self.slot_of[msg.sender][kind] = fenwick._new_slot(kind, msg.sender)
            i += 1
    if kinds & TURN != 0:
        self._set_endpoint(msg.sender, TURN_CREDENTIAL, credential_endpoint)
    else:
        assert len(credential_endpoint) == 0, "registry: credential needs TURN"

    self._bond(msg.sender, msg.sender, amount)
    self._pull(msg.sender, amount)


@external
@nonreentrant
def set_endpoint(kind: uint256, uri: String[MAX_URI_INPUT]):
    """
    @notice Replaces the operator's endpoint for one declared kind, or (kind =
            TURN_CREDENTIAL = 8) the TURN credential service of a TURN node.
    @param kind RELAY, TURN, NOTIFY or TURN_CREDENTIAL.
    @param uri The new URI (scheme checked per kind, <= 256 characters).
    """
    node_kinds: uint256 = self._registered(msg.sender)
    assert kind == RELAY or kind == TURN or kind == NOTIFY or kind == TURN_CREDENTIAL, "registry: unknown kind"
    if kind == TURN_CREDENTIAL:
        assert node_kinds & TURN != 0, "registry: kind not declared"
    else:
        assert node_kinds & kind != 0, "registry: kind not declared"
    self._set_endpoint(msg.sender, kind, uri)


@external
@nonreentrant
def set_node_key(new_key: address):
    """
    @notice Rotates the node key.
    @param new_key Non-zero, not the operator, not used by another node.
    """
    self._registered(msg.sender)
    self._check_key(msg.sender, new_key)
    old_key: address = self.nodes[msg.sender].node_key
    self.operator_of_key[old_key] = empty(address)
    self.operator_of_key[new_key] = msg.sender
    self.nodes[msg.sender].node_key = new_key
    log NodeKeyChanged(node=msg.sender, old_key=old_key, new_key=new_key)


@external
@nonreentrant
def set_metadata(region: String[16], metadata_uri: String[MAX_URI_INPUT]):
    """
    @notice Replaces the region code and metadata URI.
    """
    self._registered(msg.sender)
    meta: String[MAX_URI] = self._bounded(metadata_uri)
    self.region[msg.sender] = region
    self.metadata_uri[msg.sender] = meta
    log MetadataChanged(node=msg.sender, region=region, metadata_uri=meta)


# STAKING #

@external
@nonreentrant
def stake(amount: uint256) -> uint256:
    """
    @notice Adds self-stake to the caller's own node.
    @param amount CLUB wei, pulled with transferFrom.
    @return uint256 Bonded shares minted.
    """
    self._registered(msg.sender)
    minted: uint256 = self._bond(msg.sender, msg.sender, amount)
    self._pull(msg.sender, amount)
    return minted


@external
@nonreentrant
def stake_with_permit(amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32) -> uint256:
    """
    @notice `stake` with an EIP-2612 permit for this contract, in one transaction.
    """
    self._registered(msg.sender)
    self._permit(amount, deadline, v, r, s)
    minted: uint256 = self._bond(msg.sender, msg.sender, amount)
    self._pull(msg.sender, amount)
    return minted


@external
@nonreentrant
def delegate(node: address, amount: uint256) -> uint256:
    """
    @notice Delegates CLUB to `node`'s pool for bonded shares (rounded down).
    @param node A registered node other than the caller.
    @param amount CLUB wei, pulled with transferFrom.
    @return uint256 Bonded shares minted.
    """
    minted: uint256 = self._delegate(node, msg.sender, amount)
    self._pull(msg.sender, amount)
    return minted


@external
@nonreentrant
def delegate_with_permit(
    node: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
) -> uint256:
    """
    @notice `delegate` with an EIP-2612 permit for this contract, in one transaction.
    """
    self._permit(amount, deadline, v, r, s)
    minted: uint256 = self._delegate(node, msg.sender, amount)
    self._pull(msg.sender, amount)
    return minted


@external
@nonreentrant
def unbond(node: address, share_amount: uint256) -> uint256:
    """
    @notice Starts unbonding `share_amount` bonded shares of `node`'s pool.
    @dev The operator may unbond either everything (exit) or down to a
         self-stake that still meets the minimum and the saturation cap.
    @return uint256 The new unbonding entry id of the caller.
    """
    assert share_amount > 0, "registry: zero shares"
    held: uint256 = self.shares[node][msg.sender]
    assert held >= share_amount, "registry: not enough shares"
    self._checkpoint(node)
    self._settle(node, msg.sender, False)

    bonded_assets: uint256 = self.nodes[node].bonded_assets
    bonded_shares: uint256 = self.nodes[node].bonded_shares
    # Rounds down: the leaving account gets at most its exact share.
    assets: uint256 = share_amount * (bonded_assets + 1) // (bonded_shares + 1)
    assert assets > 0, "registry: amount too small"
    self.nodes[node].bonded_assets = bonded_assets - assets
    self.nodes[node].bonded_shares = bonded_shares - share_amount
    self.shares[node][msg.sender] = held - share_amount

    if msg.sender == node:
        left: uint256 = held - share_amount
        if left > 0:
            assert self._self_assets(node) >= self._required_self_stake(
                self.nodes[node].kinds
            ), "registry: self-stake too low"
            assert (
                bonded_shares - share_amount - left <= left * self.saturation_multiple
            ), "registry: pool over-saturated"

    u_assets: uint256 = self.nodes[node].unbonding_assets
    u_shares: uint256 = self.nodes[node].unbonding_shares
    # Rounds down: the new entry never claims more than the assets it brings.
    minted: uint256 = assets * (u_shares + 1) // (u_assets + 1)
    assert minted > 0, "registry: amount too small"
    self.nodes[node].unbonding_assets = u_assets + assets
    self.nodes[node].unbonding_shares = u_shares + minted

    entry_id: uint256 = self.unbonding_count[msg.sender]
    release: uint256 = block.timestamp + self.unbonding_seconds
    self.unbondings[msg.sender][entry_id] = Unbonding(node=node, shares=minted, release_time=release)
    self.unbonding_count[msg.sender] = entry_id + 1
    log Unbonded(
        node=node, account=msg.sender, entry_id=entry_id, shares=share_amount, assets=assets, release_time=release
    )
    self._sync(node)
    return entry_id


@external
@nonreentrant
def rebond(entry_id: uint256) -> uint256:
    """
    @notice Moves an unbonding entry back into its node's bonded pool.
    @return uint256 Bonded shares minted.
    """
    entry: Unbonding = self.unbondings[msg.sender][entry_id]
    assert entry.shares > 0, "registry: no such unbonding"
    self._registered(entry.node)
    assets: uint256 = self._release_entry(msg.sender, entry_id, entry)
    # The assets stay in the registry: `_bond` counts them into principal again.
    self.principal -= assets
    minted: uint256 = 0
    if msg.sender == entry.node:
        minted = self._bond(entry.node, msg.sender, assets)
    else:
        minted = self._delegate(entry.node, msg.sender, assets)
    log Rebonded(node=entry.node, account=msg.sender, entry_id=entry_id, assets=assets, shares=minted)
    return minted


@external
@nonreentrant
def withdraw(entry_id: uint256) -> uint256:
    """
    @notice Pays out an unbonding entry whose release time has passed.
    @return uint256 CLUB wei paid (after any slash of the pool).
    """
    entry: Unbonding = self.unbondings[msg.sender][entry_id]
    assert entry.shares > 0, "registry: no such unbonding"
    assert block.timestamp >= entry.release_time, "registry: still unbonding"
    assets: uint256 = self._release_entry(msg.sender, entry_id, entry)
    self.principal -= assets
    log Withdrawn(node=entry.node, account=msg.sender, entry_id=entry_id, assets=assets)
    if assets > 0:
        assert extcall TOKEN.transfer(msg.sender, assets), "registry: transfer failed"
    return assets


@external
@nonreentrant
def claim(node: address) -> uint256:
    """
    @notice Pays the caller's rewards from `node`'s pool (plus the commission when
            the caller is the operator).
    @return uint256 CLUB wei paid.
    """
    self._checkpoint(node)
    amount: uint256 = self._settle(node, msg.sender, True)
    if msg.sender == node:
        commission: uint256 = self.nodes[node].commission_accrued
        if commission > 0:
            self.nodes[node].commission_accrued = 0
            amount += commission
    if amount > 0:
        self.reward_reserve -= amount
        assert extcall TOKEN.transfer(msg.sender, amount), "registry: transfer failed"
    log Claimed(node=node, account=msg.sender, amount=amount)
    return amount


@external
@nonreentrant
def set_commission(commission_bps: uint256):
    """
    @notice Schedules a commission change, effective after `commission_delay_seconds`.
    @dev One pending change at a time; each change moves at most `commission_max_change_bps`.
    """
    self._registered(msg.sender)
    self._checkpoint(msg.sender)
    assert self.nodes[msg.sender].commission_effective_at == 0, "registry: commission pending"
    current: uint256 = self.nodes[msg.sender].commission_bps
    assert commission_bps <= self.commission_max_bps, "registry: commission too high"
    delta: uint256 = max(commission_bps, current) - min(commission_bps, current)
    assert delta > 0, "registry: commission unchanged"
    assert delta <= self.commission_max_change_bps, "registry: commission step big"
    effective_at: uint256 = block.timestamp + self.commission_delay_seconds
    self.nodes[msg.sender].pending_commission_bps = commission_bps
    self.nodes[msg.sender].commission_effective_at = effective_at
    log CommissionChangeScheduled(
        node=msg.sender, current_bps=current, pending_bps=commission_bps, effective_at=effective_at
    )


# LIVENESS #

@external
@nonreentrant
def heartbeat():
    """
    @notice Called by a node key: keeps its node live for `heartbeat_seconds`
            and does the node's reward bookkeeping.
    """
    node: address = self.operator_of_key[msg.sender]
    assert node != empty(address), "registry: not a node key"
    self._checkpoint(node)
    self.nodes[node].last_beat = block.timestamp
    log Heartbeat(node=node, timestamp=block.timestamp)
    self._sync(node)


@external
@nonreentrant
def poke(node: address):
    """
    @notice Permissionless and unpaid: takes an expired (or otherwise ineligible)
            node out of the trees so it is no longer drawn or counted.
    """
    assert self.nodes[node].weight != 0 and not self._eligible(node), "registry: node is eligible"
    self._checkpoint(node)
    self._sync(node)


@external
@nonreentrant
def unjail():
    """
    @notice The operator releases its node once the jail time is over.
    """
    self._registered(msg.sender)
    assert self.nodes[msg.sender].jailed, "registry: not jailed"
    assert block.timestamp >= self.nodes[msg.sender].jailed_until, "registry: still jailed"
    self._checkpoint(msg.sender)
    self.nodes[msg.sender].jailed = False
    log Unjailed(node=msg.sender)
    self._sync(msg.sender)


# REWARDS #

@external
@nonreentrant
def finalize_epoch() -> uint256:
    """
    @notice Permissionless: finalises the oldest unfinalised epoch once it has
            ended, spreading the new CLUB over the current total weight.
    @return uint256 The tip paid to the caller (at most `finalize_tip`, never
            more than the epoch's new rewards).
    """
    done: uint256 = self.epochs_finalised
    assert block.timestamp >= EPOCH_START + (done + 1) * EPOCH_SECONDS, "registry: epoch not over"
    balance: uint256 = staticcall TOKEN.balanceOf(self)
    owed: uint256 = self.principal + self.reward_reserve
    fresh: uint256 = 0
    if balance > owed:
        fresh = balance - owed
    tip: uint256 = min(self.finalize_tip, fresh)
    fresh -= tip
    weight: uint256 = self.total_weight
    acc: uint256 = self.acc_at[done]
    distributed: uint256 = 0
    if weight > 0 and fresh > 0:
        # Rounds down; only what the nodes can ever be credited is reserved
        # (sum over nodes of floor(w_i * step / WAD) <= floor(W * step / WAD)),
        # the rest stays fresh for the next epoch.
        step: uint256 = fresh * WAD // weight
        acc += step
        distributed = weight * step // WAD
        self.reward_reserve += distributed
    self.acc_at[done + 1] = acc
    self.epochs_finalised = done + 1
    log EpochFinalised(epoch=done, caller=msg.sender, rewards=distributed, total_weight=weight, tip=tip)
    if tip > 0:
        assert extcall TOKEN.transfer(msg.sender, tip), "registry: transfer failed"
    return tip


# SLASHING #

@external
@nonreentrant
def jail(node: address, until: uint256):
    """
    @notice Removes `node` from sampling and rewards until the operator unjails
            it after `until`. Only SLASHER_ROLE.
    @param until Unix seconds in the future; a later jail never shortens an earlier one.
    """
    access_control._check_role(SLASHER_ROLE, msg.sender)
    self._registered(node)
    assert until > block.timestamp, "registry: jail end in the past"
    self._checkpoint(node)
    new_until: uint256 = max(until, self.nodes[node].jailed_until)
    self.nodes[node].jailed = True
    self.nodes[node].jailed_until = new_until
    log Jailed(node=node, until=new_until)
    self._sync(node)


@external
@nonreentrant
def slash(node: address, fraction: uint256, reporter: address, reporter_share: uint256) -> uint256:
    """
    @notice Cuts `fraction` (1e18 = 100 %) of `node`'s pool: bonded stake and
            unbonding entries alike, in O(1). Pays `reporter_share` (1e18 = 100 %)
            of the cut to `reporter` and burns the rest. Only SLASHER_ROLE.
    @return uint256 Total CLUB wei cut.
    """
    access_control._check_role(SLASHER_ROLE, msg.sender)
    self._registered(node)
    assert fraction > 0 and fraction <= WAD, "registry: bad fraction"
    assert reporter_share <= WAD, "registry: bad reporter share"
    assert reporter_share == 0 or reporter != empty(address), "registry: zero reporter"
    self._checkpoint(node)
    bonded: uint256 = self.nodes[node].bonded_assets
    unbonding: uint256 = self.nodes[node].unbonding_assets
    # Round up: the penalty is never smaller than asked (capped by what exists).
    bonded_cut: uint256 = min(bonded, (bonded * fraction + WAD - 1) // WAD)
    unbonding_cut: uint256 = min(unbonding, (unbonding * fraction + WAD - 1) // WAD)
    self.nodes[node].bonded_assets = bonded - bonded_cut
    self.nodes[node].unbonding_assets = unbonding - unbonding_cut
    total: uint256 = bonded_cut + unbonding_cut
    self.principal -= total
    # Rounds down: the reporter never gets more than its share; the rest burns.
    to_reporter: uint256 = total * reporter_share // WAD
    burned: uint256 = total - to_reporter
    log Slashed(
        node=node,
        reporter=reporter,
        fraction=fraction,
        bonded_cut=bonded_cut,
        unbonding_cut=unbonding_cut,
        reporter_amount=to_reporter,
        burned=burned,
    )
    self._sync(node)
    if to_reporter > 0:
        self._push(reporter, to_reporter)
    if burned > 0:
        extcall TOKEN.burn(burned)
    return total


# PARAMETERS #

@external
@nonreentrant
def set_parameters(
    min_self_stake_per_kind: uint256,
    saturation_multiple: uint256,
    unbonding_seconds: uint256,
    heartbeat_seconds: uint256,
    commission_max_bps: uint256,
    commission_max_change_bps: uint256,
    commission_delay_seconds: uint256,
    finalize_tip: uint256,
):
    """
    @notice Sets every tunable at once (read the current ones, change what you
            need). Only PARAMETER_ROLE. Nodes that fall below a raised minimum
            stop being eligible at their next touch (or `poke`); a new unbonding
            period applies to new entries; a new heartbeat period applies at once.
    @param min_self_stake_per_kind Self-stake per declared kind (CLUB wei, > 0).
    @param saturation_multiple Delegated shares <= this times the operator's shares.
    @param unbonding_seconds Waiting time of new unbonding entries.
    @param heartbeat_seconds How long one heartbeat keeps a node live (> 0).
    @param commission_max_bps Commission ceiling (<= 10,000).
    @param commission_max_change_bps Largest single commission change.
    @param commission_delay_seconds Delay before a commission change applies.
    @param finalize_tip Tip per finalised epoch (CLUB wei).
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._set_parameters(
        min_self_stake_per_kind,
        saturation_multiple,
        unbonding_seconds,
        heartbeat_seconds,
        commission_max_bps,
        commission_max_change_bps,
        commission_delay_seconds,
        finalize_tip,
    )


# VIEWS #

@external
@view
def sample(kind: uint256, seed: bytes32, k: uint256) -> DynArray[address, MAX_SAMPLE]:
    """
    @notice Up to `k` distinct eligible nodes serving `kind`, drawn without
            replacement with probability proportional to their bonded stake;
            deterministic for a given seed and chain state.
    @dev Draw i uses keccak256(seed, i) modulo the remaining weight (the modulo
         bias is below weight / 2**256). Drawn expired nodes are rejected and
         removed from the remaining weight; at most MAX_DRAWS draws in all.
         O(k * (log n + k)) storage reads and comparisons.
    @param kind RELAY, TURN or NOTIFY.
    @param k At most 16.
    """
    assert kind == RELAY or kind == TURN or kind == NOTIFY, "registry: unknown kind"
    assert k <= MAX_SAMPLE, "registry: k above 16"
    picked: DynArray[address, MAX_SAMPLE] = []
    excluded_slots: DynArray[uint256, fenwick.MAX_EXCLUDED] = []
    excluded_weights: DynArray[uint256, fenwick.MAX_EXCLUDED] = []
    remaining: uint256 = fenwick._total(kind)
    # Bound: MAX_DRAWS draws, rejected ones included.
    for i: uint256 in range(MAX_DRAWS):
        if len(picked) >= k or remaining == 0:
            break
        target: uint256 = convert(keccak256(abi_encode(seed, i)), uint256) % remaining
        slot: uint256 = fenwick._find(kind, target, excluded_slots, excluded_weights)
        node: address = fenwick.owner[kind][slot]
        weight: uint256 = self.nodes[node].weight
        excluded_slots.append(slot)
        excluded_weights.append(weight)
        remaining -= weight
        if self._live(node):
            picked.append(node)
    return picked


@external
@view
def endpoint(node: address, kind: uint256) -> String[MAX_URI]:
    """
    @notice The node's endpoint for `kind` (empty when not declared); kind =
            TURN_CREDENTIAL (8) gives a TURN node's credential service.
    """
    return self.endpoints[node][kind]


@external
@view
def credential_endpoint(node: address) -> String[MAX_URI]:
    """
    @notice A TURN node's credential service; the same as `endpoint(node, TURN_CREDENTIAL)`.
    """
    return self.endpoints[node][TURN_CREDENTIAL]


@external
@view
def node_key(node: address) -> address:
    """
    @notice The node's hot key (zero when not registered).
    """
    return self.nodes[node].node_key


@external
@view
def is_eligible(node: address) -> bool:
    """
    @notice True when the node would be sampled and earn right now.
    """
    return self._eligible(node)


@external
@view
def node_count() -> uint256:
    """
    @notice Number of registered nodes.
    """
    return len(self.node_list)


@external
@view
def total_stake(kind: uint256) -> uint256:
    """
    @notice Weight (CLUB wei) in the tree of `kind`: the eligible stake as of each node's last touch.
    """
    return fenwick._total(kind)


@external
@view
def list_nodes(
    kind_mask: uint256, eligible_only: bool, start: uint256, limit: uint256
) -> (DynArray[address, MAX_PAGE], uint256):
    """
    @notice Paginated listing for explorers: registered nodes from index `start`
            that serve any kind of `kind_mask` (0 = any) and, if asked, are eligible.
    @return (nodes, next) Matches (at most min(limit, 100)) and the index to pass
            as `start` next; next == node_count() when the list is exhausted.
    """
    found: DynArray[address, MAX_PAGE] = []
    count: uint256 = len(self.node_list)
    cap: uint256 = min(limit, MAX_PAGE)
    i: uint256 = start
    # Bound: scans at most MAX_SCAN registered nodes per call.
    for _: uint256 in range(MAX_SCAN):
        if i >= count or len(found) >= cap:
            break
        node: address = self.node_list[i]
        i += 1
        if kind_mask != 0 and self.nodes[node].kinds & kind_mask == 0:
            continue
        if eligible_only and not self._eligible(node):
            continue
        found.append(node)
    return found, min(i, count)


@external
@view
def assets_of(node: address, account: address) -> uint256:
    """
    @notice CLUB wei that `account`'s bonded shares of `node` are worth (rounded down).
    """
    return self._to_assets(
        self.shares[node][account], self.nodes[node].bonded_assets, self.nodes[node].bonded_shares
    )


@external
@view
def pending_rewards(node: address, account: address) -> uint256:
    """
    @notice What `claim(node)` would pay `account` now (commission included for the operator).
    """
    a: Accrual = self._accrual(node)
    snapshot: uint256 = self.reward_snapshot[node][account]
    owed: uint256 = self.rewards[node][account]
    owed += self.shares[node][account] * (a.pool_acc - snapshot) // WAD
    if account == node:
        owed += self.nodes[node].commission_accrued + a.commission
    return owed


# INTERNAL: ACCOUNTING #

@internal
@view
def _accrual(node: address) -> Accrual:
    """
    @dev What a checkpoint of `node` would credit now. Reads O(1) slots.
    """
    done: uint256 = self.epochs_finalised
    a: Accrual = empty(Accrual)
    a.acc_now = self.acc_at[done]
    a.pool_acc = self.nodes[node].pool_acc
    bps: uint256 = self.nodes[node].commission_bps
    a.commission_bps = bps
    effective_at: uint256 = self.nodes[node].commission_effective_at
    new_bps: uint256 = bps
    if effective_at != 0:
        new_bps = self.nodes[node].pending_commission_bps
        # Applied once it is due and every epoch that ended before it is finalised
        # (until then the split below still needs the old rate).
        if block.timestamp >= effective_at and done >= self._epochs_ended_by(effective_at):
            a.apply_pending = True
            a.commission_bps = new_bps

    snapshot: uint256 = self.nodes[node].acc_snapshot
    weight: uint256 = self.nodes[node].weight
    if weight == 0 or a.acc_now <= snapshot:
        return a

    # Epochs whose end the last heartbeat still covered.
    live_until: uint256 = self.nodes[node].last_beat + self.heartbeat_seconds
    live_epochs: uint256 = self._epochs_ended_by(live_until)
    acc_end: uint256 = max(self.acc_at[min(done, live_epochs)], snapshot)
    # Epochs that ended by the commission change use the old rate.
    acc_mid: uint256 = acc_end
    if effective_at != 0:
        acc_mid = min(max(self.acc_at[min(done, self._epochs_ended_by(effective_at))], snapshot), acc_end)
    # Each part rounds down, so together they never exceed weight * (acc_now - snapshot) / WAD.
    old_part: uint256 = weight * (acc_mid - snapshot) // WAD
    new_part: uint256 = weight * (acc_end - acc_mid) // WAD
    a.forfeited = weight * (a.acc_now - acc_end) // WAD
    # Commission rounds down: the remainder goes to the pool.
    a.commission = old_part * bps // BPS + new_part * new_bps // BPS
    to_pool: uint256 = old_part + new_part - a.commission
    bonded_shares: uint256 = self.nodes[node].bonded_shares
    if bonded_shares > 0:
        # Rounds down; the dust stays reserved for ever.
        a.pool_acc += to_pool * WAD // bonded_shares
    else:
        a.commission += to_pool
    return a


@internal
def _checkpoint(node: address):
    """
    @dev Credits `node`'s rewards up to now (commission and pool accumulator),
         returns forfeited rewards to the undistributed balance and applies a
         due commission change. Must run before any change of the node's weight
         or bonded shares.
    """
    a: Accrual = self._accrual(node)
    if a.acc_now != self.nodes[node].acc_snapshot:
        self.nodes[node].acc_snapshot = a.acc_now
        if a.commission > 0:
            self.nodes[node].commission_accrued += a.commission
        if a.pool_acc != self.nodes[node].pool_acc:
            self.nodes[node].pool_acc = a.pool_acc
        if a.forfeited > 0:
            self.reward_reserve -= a.forfeited
    if a.apply_pending:
        self.nodes[node].commission_bps = a.commission_bps
        self.nodes[node].commission_effective_at = 0
        log CommissionChanged(node=node, commission_bps=a.commission_bps)


@internal
def _settle(node: address, account: address, pay: bool) -> uint256:
    """
    @dev Brings `account`'s pool rewards up to the node's pool accumulator. Must
         run after `_checkpoint(node)` and before its shares change. With `pay`
         the total is returned and `rewards` cleared (no 0 -> x -> 0 store);
         without, it is kept in `rewards`.
    """
    pool_acc: uint256 = self.nodes[node].pool_acc
    snapshot: uint256 = self.reward_snapshot[node][account]
    stored: uint256 = self.rewards[node][account]
    owed: uint256 = stored
    if pool_acc != snapshot:
        # Rounds down: an account is never credited more than its share.
        owed += self.shares[node][account] * (pool_acc - snapshot) // WAD
        self.reward_snapshot[node][account] = pool_acc
    if pay:
        if stored != 0:
            self.rewards[node][account] = 0
    elif owed != stored:
        self.rewards[node][account] = owed
    return owed


@internal
def _bond(node: address, account: address, amount: uint256) -> uint256:
    """
    @dev Mints bonded shares of `node` for `amount` assets to `account`
         (the caller moves the tokens) and updates the node's weight.
    """
    self._checkpoint(node)
    self._settle(node, account, False)
    bonded_assets: uint256 = self.nodes[node].bonded_assets
    bonded_shares: uint256 = self.nodes[node].bonded_shares
    # Rounds down: the pool keeps the remainder.
    minted: uint256 = amount * (bonded_shares + 1) // (bonded_assets + 1)
    assert minted > 0, "registry: amount too small"
    self.nodes[node].bonded_assets = bonded_assets + amount
    self.nodes[node].bonded_shares = bonded_shares + minted
    self.shares[node][account] += minted
    self.principal += amount
    log Staked(node=node, account=account, assets=amount, shares=minted)
    self._sync(node)
    return minted


@internal
def _delegate(node: address, account: address, amount: uint256) -> uint256:
    """
    @dev Delegation: `_bond` plus the checks that only apply to delegators.
    """
    self._registered(node)
    assert account != node, "registry: operators use stake"
    minted: uint256 = self._bond(node, account, amount)
    own: uint256 = self.shares[node][node]
    assert self.nodes[node].bonded_shares - own <= own * self.saturation_multiple, "registry: pool over-saturated"
    return minted


@internal
def _release_entry(account: address, entry_id: uint256, entry: Unbonding) -> uint256:
    """
    @dev Burns an unbonding entry and returns its assets (rounded down); the
         caller decides where the assets go.
    """
    u_assets: uint256 = self.nodes[entry.node].unbonding_assets
    u_shares: uint256 = self.nodes[entry.node].unbonding_shares
    assets: uint256 = self._to_assets(entry.shares, u_assets, u_shares)
    self.nodes[entry.node].unbonding_assets = u_assets - assets
    self.nodes[entry.node].unbonding_shares = u_shares - entry.shares
    self.unbondings[account][entry_id] = empty(Unbonding)
    return assets


@internal
def _sync(node: address):
    """
    @dev Sets the node's weight (trees and total) to its bonded assets when it
         is eligible, else to 0. Runs after `_checkpoint`, so the new weight
         earns from the current accumulator on.
    """
    target: uint256 = 0
    if self._eligible(node):
        target = self.nodes[node].bonded_assets
    current: uint256 = self.nodes[node].weight
    if target == current:
        return
    kinds: uint256 = self.nodes[node].kinds
    # Bound: three known kinds.
    for kind: uint256 in [RELAY, TURN, NOTIFY]:
        if kinds & kind != 0:
            slot: uint256 = self.slot_of[node][kind]
            if target > current:
                fenwick._add(kind, slot, target - current)
            else:
                fenwick._sub(kind, slot, current - target)
    self.total_weight = self.total_weight + target - current
    self.nodes[node].weight = target
    log WeightChanged(node=node, weight=target)


@internal
def _push(account: address, amount: uint256):
    """
    @dev Pays `amount` CLUB to `account`.
    """
    assert extcall TOKEN.transfer(account, amount), "registry: transfer failed"


@internal
def _permit(amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    """
    @dev EIP-2612 approval of `amount` from msg.sender to this contract.
    """
    extcall TOKEN.permit(msg.sender, self, amount, deadline, v, r, s)


@internal
def _pull(account: address, amount: uint256):
    """
    @dev Pulls `amount` CLUB from `account` (approval or permit required).
    """
    assert extcall TOKEN.transferFrom(account, self, amount), "registry: transfer failed"


# INTERNAL: CHECKS AND HELPERS #

@internal
@view
def _registered(node: address) -> uint256:
    kinds: uint256 = self.nodes[node].kinds
    assert kinds != 0, "registry: not registered"
    return kinds


@internal
@view
def _live(node: address) -> bool:
    last_beat: uint256 = self.nodes[node].last_beat
    return last_beat != 0 and block.timestamp <= last_beat + self.heartbeat_seconds


@internal
@view
def _eligible(node: address) -> bool:
    kinds: uint256 = self.nodes[node].kinds
    if kinds == 0 or self.nodes[node].jailed or not self._live(node):
        return False
    return self._self_assets(node) >= self._required_self_stake(kinds)


@internal
@view
def _self_assets(node: address) -> uint256:
    return self._to_assets(self.shares[node][node], self.nodes[node].bonded_assets, self.nodes[node].bonded_shares)


@internal
@pure
def _to_assets(share_amount: uint256, total_assets: uint256, total_shares: uint256) -> uint256:
    # One virtual share and one virtual wei; rounds down (in the pool's favour).
    return share_amount * (total_assets + 1) // (total_shares + 1)


@internal
@view
def _required_self_stake(kinds: uint256) -> uint256:
    return self.min_self_stake_per_kind * self._count_kinds(kinds)


@internal
@pure
def _count_kinds(kinds: uint256) -> uint256:
    count: uint256 = 0
    # Bound: three known kinds.
    for kind: uint256 in [RELAY, TURN, NOTIFY]:
        if kinds & kind != 0:
            count += 1
    return count


@internal
@view
def _epochs_ended_by(timestamp: uint256) -> uint256:
    """
    @dev Number of epochs whose end is <= `timestamp`.
    """
    if timestamp < EPOCH_START:
        return 0
    return (timestamp - EPOCH_START) // EPOCH_SECONDS


@internal
@view
def _check_key(node: address, node_key: address):
    assert node_key != empty(address), "registry: zero node key"
    assert node_key != node, "registry: node key is operator"
    assert self.operator_of_key[node_key] == empty(address), "registry: node key in use"


@internal
@pure
def _bounded(uri: String[MAX_URI_INPUT]) -> String[MAX_URI]:
    assert len(uri) <= MAX_URI, "registry: endpoint too long"
    return abi_decode(abi_encode(uri), String[MAX_URI])


@internal
@pure
def _has_prefix(uri: String[MAX_URI], prefix: String[24]) -> bool:
    n: uint256 = len(prefix)
    if len(uri) <= n:
        return False
    return keccak256(slice(uri, 0, n)) == keccak256(prefix)


@internal
@pure
def _loopback(uri: String[MAX_URI], scheme: String[8]) -> bool:
    return self._has_prefix(uri, concat(scheme, "127.0.0.1:")) or self._has_prefix(
        uri, concat(scheme, "localhost:")
    )


@internal
def _set_endpoint(node: address, kind: uint256, raw: String[MAX_URI_INPUT]):
    assert len(raw) > 0, "registry: empty endpoint"
    uri: String[MAX_URI] = self._bounded(raw)
    if kind == RELAY:
        assert self._has_prefix(uri, "wss://") or self._loopback(uri, "ws://"), "registry: relay must be wss://"
    elif kind == TURN:
        assert self._has_prefix(uri, "turn:") or self._has_prefix(uri, "turns:"), "registry: TURN must be turn(s):"
    else:
        assert self._has_prefix(uri, "https://") or self._loopback(uri, "http://"), "registry: endpoint not https://"
    self.endpoints[node][kind] = uri
    log EndpointChanged(node=node, kind=kind, uri=uri)


@internal
def _set_parameters(
    min_self_stake_per_kind: uint256,
    saturation_multiple: uint256,
    unbonding_seconds: uint256,
    heartbeat_seconds: uint256,
    commission_max_bps: uint256,
    commission_max_change_bps: uint256,
    commission_delay_seconds: uint256,
    finalize_tip: uint256,
):
    assert min_self_stake_per_kind > 0, "registry: zero minimum"
    assert heartbeat_seconds > 0, "registry: zero heartbeat"
    assert commission_max_bps <= BPS, "registry: commission above 100%"
    self.min_self_stake_per_kind = min_self_stake_per_kind
    self.saturation_multiple = saturation_multiple
    self.unbonding_seconds = unbonding_seconds
    self.heartbeat_seconds = heartbeat_seconds
    self.commission_max_bps = commission_max_bps
    self.commission_max_change_bps = commission_max_change_bps
    self.commission_delay_seconds = commission_delay_seconds
    self.finalize_tip = finalize_tip
    log ParametersChanged(
        min_self_stake_per_kind=min_self_stake_per_kind,
        saturation_multiple=saturation_multiple,
        unbonding_seconds=unbonding_seconds,
        heartbeat_seconds=heartbeat_seconds,
        commission_max_bps=commission_max_bps,
        commission_max_change_bps=commission_max_change_bps,
        commission_delay_seconds=commission_delay_seconds,
        finalize_tip=finalize_tip,
    )
