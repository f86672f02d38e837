# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
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
        in O(1), without touching any account. A pool worth 0 with shares
        left could never mint shares again, so a partial slash leaves a
        non-empty pool at least 1 wei, and a 100 % slash closes the node for
        good (it takes no new stake, even if its bonded pool was empty).

        Weight. A node's weight is its bonded assets while it is eligible
        (registered, not jailed, self-stake >= the per-kind minimum times its
        number of kinds, its last heartbeat's `live_until` not passed) and 0
        otherwise, counted in whole CLUB (rounded down). The weight lives in
        one 4-ary sum tree per kind (module `sumtree`): an update or a draw
        touches one storage word per level, log4(n) words (7 at 10,000 nodes).
        Each word also keeps the sums frozen at the start of the epoch, for
        sampling (below).

        Rewards. New CLUB (Emission mints the node share straight to this
        contract; any other transfer counts too) is whatever the registry's
        token balance holds above what it owes (`principal`, the reward
        reserve and what the running stream has still to pay). Each
        finalisation streams it (below) and the stream is split between the
        kinds by a Timelock-set `kind_reward_bps` (RELAY / TURN / NOTIFY,
        summing to 10,000; deployed 2000 / 7000 / 1000): a node is paid from
        the stream of every kind it declares, with a reward weight per kind of
        its weight divided by its number of declared kinds, so declaring kinds
        never multiplies its rewards (sampling keeps the full weight in each
        kind's tree). The arithmetic, exactly (integers, `//` rounds down):
          u = weight * 6 // n (n = kinds declared; exact for 1, 2, 3), and
          W_k = sum of u over the counted nodes declaring kind k (stake_word);
          active = the kinds with W_k > 0 when `finalize_epoch` (or
          `set_kind_reward_bps`) last ran, S = sum of bps_k over them;
          rate_k = rate * bps_k // S for an active kind, 0 otherwise (S = 0
          only when every active share is 0: then nothing streams);
          per update of kind k over dt seconds of stream (dt stops at the
          stream's end), if W_k > 0: step = rate_k * dt * 6e9 // W_k,
          A_k += step, reserve_k += ceil(W_k * step / 6e9); if W_k = 0 the
          kind's word only moves its time;
          a node's snapshot is S_node = sum of A_k over its declared kinds and
          a checkpoint credits u * (sum of A_k now - S_node) // 6e9.
        Each kind's word (accumulator, time, reserve) is brought up to now on
        its own: a checkpoint of a node updates only its declared kinds'
        words (a one-kind node reads and writes one word, as with one pool);
        `finalize_epoch` and `set_kind_reward_bps` bring all three up to now
        first, so a new split or stream never re-prices the past. With one
        active kind whose nodes declare only it, rate_k = rate and W_k = 6 *
        total weight, so steps, reserves and credits are exactly those of a
        single pool. What streams to a kind that is not active or whose weight
        dropped to 0, and every rounding remainder, is in no reserve: it is
        fresh again at the next finalisation (a RELAY-only network gets the
        whole stream; a kind with no nodes strands nothing). Claims and
        forfeits cannot tell which kind's reserve they draw on, so they add to
        one `spent` counter: reserve = sum of reserve_k - spent. A checkpoint
        splits the credit into the operator's commission and the pool and
        adds the pool part to a per-share accumulator; an account settles
        shares * (per-share delta). Everything is O(1) whatever the number of
        epochs or updates since the last touch.

        Rewards timing. Rewards are time-weighted:
        `finalize_epoch` (permissionless, tipped) does not pay the new CLUB
        to the weight present at that moment (stake bonded one block before
        used to earn as much as stake held all week) but streams it, plus
        what the running stream had left, at a constant rate over the next
        `stream_seconds` (a parameter, Emission's epoch length: one week).
        Emission mints weekly and the registry finalises daily; a one-day
        stream paid the whole weekly mint to the day after the weekly
        finalisation, so stake held for that day only earned 7 times its
        time share. Over the week, the day earns a day's share; the daily
        finalisations in between re-spread what is left, with no new CLUB,
        over a new period (the stream slows down, it never speeds up, so no
        day pays more than the day after a mint). The node's kinds' accumulators are brought up to now
        (rate_k * seconds / W_k) before every checkpoint, and a checkpoint runs before
        every change of a node's weight or of a pool's shares, so a node earns
        for the seconds its weight is in the total and a pool's shares for the
        seconds they exist: stake that arrives just before a finalisation
        and leaves just after earns nothing of it; stake that leaves early
        keeps what streamed while it was bonded. Each epoch's CLUB is paid
        one stream period after it arrived. Claims pay what the node's last
        checkpoint booked (the node software beats every 20 minutes; what
        streamed since waits for the next checkpoint), so they read no
        global word. Gas (bench/results/registry_gas.md): the update costs
        every checkpoint (stake, delegate, unbond, heartbeat, slash) two more
        cold reads (stream word, total weight) and one write of the reward
        word: stake +4,900, heartbeat +6,900; claims got cheaper (they no
        longer compute or store the node's accrual); `finalize_epoch` writes
        the stream word instead of a per-epoch accumulator.

        Liveness and rewards. A node earns only while its heartbeat keeps it
        live: a checkpoint at a time after the node's `live_until` (its last
        heartbeat + the heartbeat period then in force) forfeits everything
        accrued to the node since its previous checkpoint, i.e. since its
        last heartbeat at the latest (the accumulator holds no history, so
        the part before `live_until` cannot be told apart); the forfeit
        returns to the undistributed balance and is streamed again by the
        next finalisation. A node that is down keeps its weight in the total
        until it is touched or poked, so the others' share is diluted
        meanwhile and paid back later through the forfeit. A heartbeat after
        an outage checkpoints first, so a comeback never earns the outage.

        Reserve rounding. Every update of a kind's accumulator reserves
        ceil(W_k * step / 6e9) of the streamed amount (step rounds down); a
        checkpoint takes floor(u * delta / 6e9) once over all the updates and
        kinds it spans: 6e9 * reserve_k >= sum of u * delta_k over the kind's
        nodes, so every checkpoint is covered (one floor over several steps
        can exceed the sum of per-step floors, which used to leave the reserve
        short and the node frozen). The rest of what streamed (and all of it
        while a kind's weight is 0) is fresh again.

        Sampling epochs. A draw must not be steerable
        by anyone who knows every public input: before, the seed was public
        and any stake change (1 CLUB) re-rolled every draw at once, so an
        operator could grind its stake offline until a chosen user's
        rendezvous relays were all its own. Now (a) `sample` draws from the
        weights frozen at the start of the current epoch (the epochs of the
        rewards, EPOCH_SECONDS long): stake, unbond, slash, jail, heartbeat
        and registration change the live weights at once but the sampled ones
        only at the next boundary (the trees keep both, rolled over lazily,
        word by word, by the first write of a new epoch: no loop at the
        boundary); (b) every draw mixes the caller's seed with the epoch seed,
        recorded once per epoch, after the weights were frozen, by the first
        `heartbeat`, `finalize_epoch` or `record_epoch_seed` of the epoch
        from `prevrandao`, the previous block hash and the previous seed.
        Until it is recorded, `sample` uses a fallback derived from the last
        recorded seed and the epoch number: it is public before the weights
        are frozen, so an epoch in which nobody records a seed is grindable
        as before (every live node beats at least once per heartbeat period,
        which records it). Clients read `sampling_epoch` and `epoch_seed`
        and recompute rendezvous when either changes, with an overlap. In a
        kind's first epoch (no weight frozen yet: a new deployment) `sample`
        draws from the live weights, so a new network is usable at once.

        Liveness and sampling. Expiry is time-based, so it cannot update the
        trees by itself, and the sampled weights are frozen anyway. `sample`
        therefore draws sequentially without replacement and, when it draws a
        node that is not eligible now (jailed, expired, or its self-stake
        below the current minimum, e.g. after a raise, even before anyone
        pokes it), removes it from the remaining weight and draws again (at
        most MAX_DRAWS draws in all). The sequence of drawn nodes depends only
        on the frozen weights and the seeds; eligibility only decides which
        of them are returned, so an operator that toggles its own nodes'
        eligibility can only lose draws. Rejecting and removing a drawn item
        is exactly sequential weighted sampling without replacement from the
        eligible nodes only, so the result carries no bias; the only effect
        of ineligible weight is that fewer than k nodes may come back when it
        holds most of the weight. `poke(node)` (permissionless, unpaid)
        removes an expired or otherwise ineligible node from the live trees
        and from the reward weight: a node below a raised minimum keeps
        earning until it is touched or poked (checking the minimum in every
        claim would cost each claim two more cold reads; the Timelock's
        proposal that raises the minimum should poke the nodes it leaves
        below it).

        Node keys. Binding a key needs the key's own consent: the key sends
        `approve_operator(operator)` first, then the operator's `register`
        or `set_node_key` binds it. Before, a registered operator could copy
        a newcomer's key out of the mempool into `set_node_key` and block
        that registration for good. Two steps rather than an EIP-712
        signature by the key: node keys send transactions anyway (they
        beat), and the signature check (snekmate ecdsa + domain separator)
        cost 1,121 bytes of runtime code against 163.

        Exit. `deregister` (once the operator's own shares are unbonded, or
        its pool was slashed out) frees the node's tree slots and its
        `node_list` entry, so the capacity (65,536 per kind and in all)
        bounds the nodes registered at once, not every registration ever. A
        freed slot goes back into use only from the next epoch (the frozen
        leaf of this epoch may still hold the old weight). Jail and the
        closed bit stay with the address; the pool stays (withdrawals,
        slashes, delegators' unbonds and claims keep working).

        Commission. Changes are at most `commission_max_change_bps` per change,
        one pending change at a time, effective `commission_delay_seconds`
        later: the first checkpoint at or after the effective time applies it
        (heartbeats checkpoint), and what accrued before that checkpoint keeps
        the old rate.

        Keys and disputes. A node key once bound stays attributed to its
        operator for good (`key_record`: operator and the time it was
        rotated away), so relay-log entries it signed remain evidence
        against that operator and no other operator can ever bind it; only
        the current key may heartbeat. The Disputes contract (DISPUTES_ROLE)
        freezes a flagged node while its dispute is open: `withdraw` refuses
        the unbonding entries of a frozen node's pool (a counter, so
        overlapping disputes each hold it), so leaving just before a flag
        escapes nothing. Disputes also holds SLASHER_ROLE; the Timelock
        keeps its own as a backstop.

        Storage. Every hot record is packed into whole words (see STORAGE):
        a node's flags, times, commission schedule, tree slots and weight
        share one word; bonded assets and shares another; the node's two
        accumulator snapshots a third; an account's shares and reward
        snapshot one word per (node, account); the node key and the node's
        index in `node_list` one word; a key's operator and retirement time
        one word (a heartbeat reads one slot for both key checks); the reward
        stream's rate, end, period, split, active kinds and epoch count one
        word; the principal and the three kinds' reward weights one word; each
        kind's accumulator, time and reserve one word. A delegator's claim
        reads the node and writes only its own word and the spent word. Every packed field's range is checked where it is
        written (amounts are below 2**128, far above the CLUB cap). The hot
        paths decode and encode the words in place with the named layout
        constants (see CONSTANTS): Venom at `optimize codesize` does not
        inline a helper that is called from more than one place.
@custom:security Reentrancy: contract-wide (`pragma nonreentrancy on`, a
                 transient-storage lock); the contracts called are CLUB and
                 (a static call, for every stored endpoint) EndpointRules.
                 Unbonding stake stays slashable until it is withdrawn (for any
                 fault, not only faults before it started unbonding: tracking
                 fault times per entry would cost a loop). Rewards already
                 credited to accounts and to the commission are not slashed.
                 Rounding dust of the accumulators stays reserved for ever, so
                 the token balance always covers everything owed.
                 Kind split: the active kinds are fixed at each finalisation, so a
                 node that makes a kind active and leaves at once strands that
                 kind's share only until the next finalisation (one epoch: the
                 daily finalisations re-split what the weekly stream has left);
                 the only node of a kind earns that kind's whole share (the
                 split's purpose: an empty kind pays its first operators).
                 Sampling randomness and its residual bias: whoever records
                 an epoch's seed chooses the block it lands in, and a block's
                 `prevrandao` and parent hash are known before the block (L1:
                 the RANDAO mix of the previous slot). So the first recorder
                 of an epoch can pick the best of the candidate seeds of the
                 blocks before anyone else records: with c candidates its
                 chance of winning a given draw is at most c times its stake
                 share (union bound); an L1 proposer can also withhold its
                 block (one more candidate per slot it owns, at the price of
                 the block). Every heartbeat and finalisation records it, so c
                 is about one block per (heartbeat period / live nodes).
                 Numbers (L1, 12 s blocks): the keeper finalises at the epoch
                 boundary, which records the seed (`club keeper run` passes
                 every 60 s: c <= 6); without it, the first of n nodes beating
                 every 20 minutes beats 1,200 / n s after the boundary on
                 average (c ~ 1 at 100 nodes, ~10 at 10). Capturing both
                 rendezvous relays of a chosen user with stake share s then
                 succeeds with probability <= c * s^2 per epoch (s = 4.24 %,
                 c = 6: 1.1 %, against 0.18 % at stake share and certainty
                 before the frozen weights). A commitment to a future block's
                 hash was weighed and not built: the EVM exposes no past
                 `prevrandao`, and a block hash is chosen freely by that
                 block's builder (it orders the block's transactions), so it
                 would trade the bounded choice of the first recorder for an
                 unbounded one of one builder, for ~300 bytes of code the
                 EIP-170 budget does not have. On
                 Arbitrum `prevrandao` is a constant and the sequencer orders
                 (and can delay) transactions and sets the block hashes, so
                 the sequencer can choose the seed: sampling there is only as
                 fair as the sequencer. The fallback seed (no record in an
                 epoch) is public before the freeze: grindable for that epoch.
                 Tree tags are epoch numbers modulo 65,535: a tree word left
                 untouched for exactly a multiple of 65,535 epochs (179 years
                 of one-day epochs) would be read with stale frozen sums.
                 Endpoints: RELAY must be `wss://` (plain `ws://` only when
                 the host is exactly 127.0.0.1 or localhost, for local
                 development); TURN must be `turn:` or `turns:` plus a TURN
                 credential endpoint; TURN credential and NOTIFY endpoints
                 must be `https://` (plain `http://` only on loopback). The
                 authority is parsed (no userinfo, a numeric port, a
                 non-empty host), not prefix-matched; clients check again.
                 These rules live in the EndpointRules contract (immutable
                 `ENDPOINT_RULES`, stateless), with the other stateless checks
                 of registration input (kinds and endpoint count, credential
                 only with TURN, node key given whether it is in use, metadata
                 length); the registry static-calls it and its "registry: ..."
                 reverts bubble up unchanged. With them inside, the registry's
                 runtime code was over the EIP-170 limit of 24,576 bytes,
                 which every chain enforces. For the same reason the
                 read-only views `nodes`, `pending_rewards`, `shares`,
                 `is_eligible`, `node_at`, `credential_endpoint`,
                 `operator_of_key` and the paginated listing (`list_nodes`)
                 are the NodeDirectory lens, which decodes `node_words`.
"""


from interfaces import IClubToken
from interfaces import IEndpointRules

from interfaces import INodeRegistry
implements: INodeRegistry

from ethereum.ercs import IERC165
implements: IERC165

from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.auth import access_control
initializes: access_control

from contracts.modules import sumtree
initializes: sumtree


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
    # PARAMETER_ROLE and SLASHER_ROLE and the hierarchy needs no knob.
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
# @dev Role that may jail and slash (the Timelock, as a backstop, and Disputes).
SLASHER_ROLE: public(constant(bytes32)) = keccak256("SLASHER_ROLE")
# @dev Role that may freeze a node's unbonding entries while a dispute is open (Disputes).
DISPUTES_ROLE: public(constant(bytes32)) = keccak256("DISPUTES_ROLE")
# @dev Fixed-point scale of fractions and of the per-share pool accumulators.
WAD: constant(uint256) = 10**18
# @dev CLUB wei per unit of weight: weights are whole CLUB.
UNIT: constant(uint256) = 10**18
# @dev Scale of the reward-per-weight accumulator (wei per whole CLUB, times 1e9).
ACC_SCALE: constant(uint256) = 10**9
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
# @dev Packed-field masks: 128-bit amounts, 40-bit unix times (year 36812), 32-bit durations and weights.
MASK128: constant(uint256) = 2**128 - 1
MASK40: constant(uint256) = 2**40 - 1
MASK32: constant(uint256) = 2**32 - 1
MASK14: constant(uint256) = 2**14 - 1
# @dev Field layout of the packed words (see STORAGE). Hot paths decode and
#      encode in place with these names: Venom at `optimize codesize` does not
#      inline a helper called from more than one place, and the calls cost
#      stake ~1,100 gas and a claim ~280.
# @dev Pair words (`bonded_pool`, `unbonding_pool`, `accs`): low and high 128 bits.
PAIR_LOW_MASK: constant(uint256) = 2**128 - 1
PAIR_HIGH_SHIFT: constant(uint256) = 128
# @dev Account words (`stakes`): bonded shares (bits 0-126), HAS_REWARDS (bit 127), the
#      pool accumulator at the account's last settlement (bits 128-255).
ACCOUNT_SHARES_MASK: constant(uint256) = 2**127 - 1
HAS_REWARDS: constant(uint256) = 2**127
ACCOUNT_ACC_SHIFT: constant(uint256) = 128
# @dev Kind reward words (`kind_words`): accumulator (bits 0-119), time (120-159), reserve (160-255).
REWARD_ACC_MASK: constant(uint256) = 2**120 - 1
REWARD_TIME_SHIFT: constant(uint256) = 120
RESERVE_SHIFT: constant(uint256) = 160
# @dev Spent word (`spent_word`): claims + forfeits so far (bits 128-255) | bit 0, set at
#      deployment so that no claim ever writes the word from zero (20,000 gas instead of 2,900).
SPENT_SHIFT: constant(uint256) = 128
# @dev Stream word (`stream_word`): rate (bits 0-89), end (90-129), the stream period
#      `stream_seconds` (130-161), kind_reward_bps of RELAY / TURN / NOTIFY (162-203, 14 bits
#      each), the active kinds (204-206, kind flags) and the sum of their bps (207-220),
#      epochs finalised (221-).
STREAM_RATE_MASK: constant(uint256) = 2**90 - 1
STREAM_END_SHIFT: constant(uint256) = 90
STREAM_PERIOD_SHIFT: constant(uint256) = 130
STREAM_BPS_SHIFT: constant(uint256) = 162
STREAM_ACTIVE_SHIFT: constant(uint256) = 204
STREAM_SHARES_SHIFT: constant(uint256) = 207
STREAM_EPOCHS_SHIFT: constant(uint256) = 221
# @dev The stream period, the split and the active kinds with their bps sum (bits 130-220):
#      what `finalize_epoch` does not replace.
STREAM_KEPT_MASK: constant(uint256) = (2**91 - 1) << STREAM_PERIOD_SHIFT
# @dev Stake word (`stake_word`): principal (bits 0-95) | the reward weights W_RELAY,
#      W_TURN, W_NOTIFY (53 bits each from bit 96, see `_weight_shift`).
PRINCIPAL_MASK: constant(uint256) = 2**96 - 1
WEIGHT_SHIFT: constant(uint256) = 96
MASK53: constant(uint256) = 2**53 - 1
# @dev Reward units per whole CLUB of weight: a node's reward weight in each declared kind
#      is u = weight * REWARD_UNITS // (number of kinds declared), exact for 1, 2 and 3 kinds.
REWARD_UNITS: constant(uint256) = 6
# @dev An address in the low 160 bits of a word (entry heads, key words, key owner words).
ADDRESS_MASK: constant(uint256) = 2**160 - 1
# @dev Unbonding entry head (`PackedEntry.head`): node (bits 0-159), release time (160-199).
ENTRY_RELEASE_SHIFT: constant(uint256) = 160
# @dev Key word (`keys`): node key (bits 0-159), the operator's index in `node_list` (160-175).
KEY_INDEX_SHIFT: constant(uint256) = 160
# @dev Key owner word (`key_owner`): operator (bits 0-159), the time the key was retired (160-).
KEY_RETIRED_SHIFT: constant(uint256) = 160
# @dev Seed word (`seed_word`): the epoch it was recorded for, plus 1 (bits 0-39), seed (40-255).
SEED_EPOCH_MASK: constant(uint256) = 2**40 - 1
SEED_EPOCH_BITS: constant(uint256) = 40
# @dev One tree slot in the meta word's `slots` field (16 bits per kind, see `_slot_shift`).
SLOT_MASK: constant(uint256) = 2**16 - 1


# IMMUTABLES #

# @dev The staked token (CLUB).
TOKEN: public(immutable(IClubToken))
# @dev The endpoint validator (scheme and authority rules of every stored URI).
ENDPOINT_RULES: public(immutable(IEndpointRules))
# @dev Start of reward epoch 0 (unix seconds) and epoch length (seconds).
EPOCH_START: public(immutable(uint256))
EPOCH_SECONDS: public(immutable(uint256))


# STRUCTS #

# @dev The node's meta word, unpacked (see `meta`).
struct Meta:
    kinds: uint256
    jailed: bool
    live_until: uint256
    jailed_until: uint256
    commission_bps: uint256
    pending_bps: uint256
    effective_at: uint256
    slots: uint256                    # 3 x 16 bits: the RELAY, TURN and NOTIFY tree slots
    weight: uint256
    commission_owed: bool             # commission_accrued is non-zero
    closed: bool                      # slashed out: the node takes no new stake, ever
    lazy: bool                        # jailed, its leaves not yet moved to 0 (see `jail`)

# @dev One pending withdrawal of an account: unbonding shares of `node`'s pool.
struct Unbonding:
    node: address
    shares: uint256                   # unbonding shares (their assets shrink with slashes)
    release_time: uint256             # unix seconds from which `withdraw` works

# @dev An unbonding entry as stored (`unbonding_entries`): two words instead of three.
struct PackedEntry:
    head: uint256                     # node (bits 0-159) | release_time (bits 160-199)
    shares: uint256

# @dev What a node checkpoint would credit right now.
struct Accrual:
    acc_now: uint256
    commission: uint256
    pool_acc: uint256
    forfeited: uint256


# STORAGE #

# @dev operator => packed meta word: kinds (bits 0-2), jailed (3), live_until (8-47),
#      jailed_until (48-87), commission_bps (88-101), pending commission (102-115),
#      commission effective_at (116-155), tree slots RELAY/TURN/NOTIFY (156-203, 16 bits each),
#      weight in whole CLUB (204-235), commission_accrued is non-zero (236),
#      closed (4: slashed out, kept after deregistration), lazy (5: jailed with its
#      leaves still holding `weight`, which is out of total_weight; see `jail`).
meta: HashMap[address, uint256]
# @dev operator => key word: node key (bits 0-159) | the operator's index in `node_list`
#      (bits 160-175). Written by registration, rotations and deregistration.
keys: HashMap[address, uint256]
# @dev operator => the pool's bonded class: assets (low 128 bits) | shares (high 128 bits).
bonded_pool: HashMap[address, uint256]
# @dev operator => the pool's unbonding class: assets (low 128 bits) | shares (high 128 bits).
unbonding_pool: HashMap[address, uint256]
# @dev operator => accumulator at the last checkpoint (low 128 bits) | pool accumulator (high 128 bits).
accs: HashMap[address, uint256]
# @dev operator => commission credited to the operator, not yet claimed (CLUB wei).
commission_accrued: HashMap[address, uint256]
# @dev operator => kind (or TURN_CREDENTIAL) => endpoint URI.
endpoints: HashMap[address, HashMap[uint256, String[MAX_URI]]]
# @dev operator => region code (e.g. "eu-west", ISO 3166 "DE").
region: public(HashMap[address, String[16]])
# @dev operator => metadata URI (operator name, contact, terms).
metadata_uri: public(HashMap[address, String[MAX_URI]])
# @dev node key => operator (bits 0-159) | unix seconds it was rotated away (bits 160-;
#      0 while it is the operator's current key). Never cleared: a key once bound stays
#      attributed to its operator for good (signed evidence stays attributable; nobody else
#      can bind it). One word, so that a heartbeat reads one slot for both checks.
key_owner: HashMap[address, uint256]
# @dev operator => number of open disputes freezing its pool's unbonding entries (0 = free).
frozen: public(HashMap[address, uint256])
# @dev node key => the operator it consents to be bound by (set by the key itself, see `approve_operator`).
approved_operator: public(HashMap[address, address])
# @dev Registered operators in registration order (for paginated listing); each one's index is
#      kept in its key word (`keys`).
node_list: public(DynArray[address, 65536])

# @dev node => account => bonded shares (bits 0-126) | HAS_REWARDS (bit 127) |
#      pool accumulator at the account's last settlement (bits 128-255).
stakes: HashMap[address, HashMap[address, uint256]]
# @dev node => account => rewards settled but not claimed (CLUB wei).
rewards: public(HashMap[address, HashMap[address, uint256]])
# @dev account => entry id => unbonding entry, packed (read it with `_entry`, the `unbondings` view).
unbonding_entries: HashMap[address, HashMap[uint256, PackedEntry]]
# @dev account => number of unbonding entries ever created (ids are 0 .. count - 1).
unbonding_count: public(HashMap[address, uint256])

# @dev kind (RELAY, TURN, NOTIFY) => that kind's reward word: reward-per-weight accumulator
#      (bits 0-119, wei per whole CLUB of reward weight, 1e9-scaled) as of its last update |
#      the time of that update (bits 120-159) | CLUB wei streamed to the kind so far (bits
#      160-255, cumulative; the reserve is the three kinds' sum minus `spent_word`). See `_streamed`.
kind_words: HashMap[uint256, uint256]
# @dev Claims + forfeits so far in CLUB wei (bits 128-255) | 1 (bit 0, from deployment on):
#      the reward reserve is the sum of the kind words' reserves minus this.
spent_word: uint256
# @dev Bonded + unbonding assets of all pools in CLUB wei (bits 0-95) | the reward weights
#      W_RELAY, W_TURN, W_NOTIFY (bits 96-148, 149-201, 202-254): each the sum of u =
#      weight * 6 // (kinds declared) over the counted nodes declaring the kind.
stake_word: uint256

# @dev Self-stake required per declared kind (CLUB wei).
min_self_stake_per_kind: public(uint256)
# @dev Delegated shares may be at most this multiple of the operator's shares.
saturation_multiple: public(uint256)
# @dev Waiting time of an unbonding entry (seconds).
unbonding_seconds: public(uint256)
# @dev A heartbeat keeps a node live for this long (seconds), counted from that heartbeat.
heartbeat_seconds: public(uint256)
# @dev Highest commission (bps).
commission_max_bps: public(uint256)
# @dev Largest change of one commission change (bps).
commission_max_change_bps: public(uint256)
# @dev Delay between scheduling and applying a commission change (seconds).
commission_delay_seconds: public(uint256)
# @dev Tip paid to whoever finalises an epoch, out of that epoch's new rewards (CLUB wei).
finalize_tip: public(uint256)

# @dev Sampling randomness: the latest recorded epoch seed (bits 40-255, keccak of
#      prevrandao, the previous block hash and the previous seed word) | the epoch
#      it was recorded for, plus 1 (bits 0-39; 0 = never recorded).
seed_word: uint256

# @dev The reward stream: CLUB wei streamed per second, all kinds together (bits 0-89;
#      below the CLUB cap, 10**27 < 2**90) | end of the stream (bits 90-129, unix seconds) |
#      the stream period (bits 130-161: the `stream_seconds` parameter, in the word
#      `finalize_epoch` reads anyway) | kind_reward_bps of RELAY, TURN, NOTIFY (bits 162-175,
#      176-189, 190-203) | the active kinds: those with reward weight when `finalize_epoch`
#      or `set_kind_reward_bps` last ran (bits 204-206, kind flags) | the sum of the active
#      kinds' bps (bits 207-220) | epochs finalised (bits 221-). Epoch e ends at
#      EPOCH_START + (e + 1) * EPOCH_SECONDS.
stream_word: uint256


# EVENTS #
# Declared once, with their indexed topics, in interfaces/INodeRegistry.vyi;
# the registry logs them as `log INodeRegistry.<Event>(...)`.


@deploy
def __init__(
    token: IClubToken,
    endpoint_rules: IEndpointRules,
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
    stream_seconds: uint256,
    kind_reward_bps: uint256[3],
):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE, PARAMETER_ROLE and SLASHER_ROLE;
         the deploy plan hands all three to the Timelock.
    @param token The CLUB token.
    @param endpoint_rules The EndpointRules contract.
    @param epoch_start Start of reward epoch 0 (unix seconds).
    @param epoch_seconds Reward epoch length (seconds).
    @param min_self_stake_per_kind See `set_parameters`.
    @param saturation_multiple See `set_parameters`.
    @param unbonding_seconds See `set_parameters`.
    @param heartbeat_seconds See `set_parameters`.
    @param commission_max_bps See `set_parameters`.
    @param commission_max_change_bps See `set_parameters`.
    @param commission_delay_seconds See `set_parameters`.
    @param finalize_tip See `set_parameters`.
    @param stream_seconds See `set_parameters` (the deploy plan passes Emission's epoch length).
    @param kind_reward_bps See `set_kind_reward_bps`.
    """
    assert token.address != empty(address), "registry: zero token"
    assert endpoint_rules.address.is_contract, "registry: endpoint rules not a contract"
    assert epoch_seconds > 0, "registry: zero epoch"
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    access_control._grant_role(SLASHER_ROLE, msg.sender)
    TOKEN = token
    ENDPOINT_RULES = endpoint_rules
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
        stream_seconds,
    )
    self._set_kind_reward_bps(kind_reward_bps)
    # Bit 0 of the spent word is set once: claims never write it from zero.
    self.spent_word = 1


# REGISTRATION #

@external
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
    @param node_key Hot key for heartbeats: non-zero, not the operator, not used by another node,
           and it approved msg.sender first (`approve_operator`, sent by the key).
    @param region Region code.
    @param metadata_uri Operator metadata (<= 256 characters).
    @param endpoints One URI per declared kind, in increasing kind order.
    @param credential_endpoint TURN credential service (`https://`) if TURN is declared, else empty.
    @param commission_bps Initial commission (applies at once: there are no delegators yet).
    @param amount Self-stake in CLUB wei (pulled with transferFrom), at least the per-kind minimum
           times the number of kinds.
    """
    meta_uri: String[MAX_URI] = self._set_metadata(region, metadata_uri)
    previous: uint256 = self.meta[msg.sender]
    assert previous & ALL_KINDS == 0, "registry: already registered"
    # Known kinds, one endpoint per kind, a credential service only with TURN
    # (EndpointRules reverts with the reason).
    assert staticcall ENDPOINT_RULES.check_kinds(kinds, len(endpoints), len(credential_endpoint))
    assert commission_bps <= self.commission_max_bps, "registry: commission too high"
    assert amount >= self._required_self_stake(kinds), "registry: stake below minimum"
    self._check_key(msg.sender, node_key)

    # A returning node (it deregistered) keeps its jail, its closed bit and
    # its unclaimed commission; `deregister` cleared everything else. A
    # newcomer's word is 0 and is not decoded.
    m: Meta = empty(Meta)
    if previous != 0:
        m = self._meta(msg.sender)
    m.kinds = kinds
    m.commission_bps = commission_bps
    # The index shares the key word: registration writes one new slot for both.
    self.keys[msg.sender] = convert(node_key, uint256) | (len(self.node_list) << KEY_INDEX_SHIFT)
    self.key_owner[node_key] = convert(msg.sender, uint256)
    self.node_list.append(msg.sender)
    log INodeRegistry.NodeRegistered(node=msg.sender, node_key=node_key, kinds=kinds, region=region, metadata_uri=meta_uri)

    i: uint256 = 0
    # Bound: three known kinds.
    for kind: uint256 in [RELAY, TURN, NOTIFY]:
        if kinds & kind != 0:
            self._set_endpoint(msg.sender, kind, endpoints[i])
            m.slots |= sumtree._new_slot(kind, msg.sender, self._sampling_tag()) << self._slot_shift(kind)
            i += 1
    if kinds & TURN != 0:
        self._set_endpoint(msg.sender, TURN_CREDENTIAL, credential_endpoint)

    # The pool accumulator starts at 1 (accounts settle differences from their
    # entry value, so the base is irrelevant): the node's accumulator word is
    # never zero, and its first reward checkpoint rewrites a warm value
    # instead of creating a slot. A returning node keeps its word: its old
    # accounts' snapshots are differences from it.
    if self.accs[msg.sender] == 0:
        self.accs[msg.sender] = self._pair(0, 1)
    self._bond(msg.sender, msg.sender, amount, m)
    self._pull(msg.sender, amount)


@external
def set_endpoint(kind: uint256, uri: String[MAX_URI_INPUT]):
    """
    @notice Replaces the operator's endpoint for one declared kind, or (kind =
            TURN_CREDENTIAL = 8) the TURN credential service of a TURN node.
    @param kind RELAY, TURN, NOTIFY or TURN_CREDENTIAL.
    @param uri The new URI (scheme checked per kind, <= 256 characters).
    """
    node_kinds: uint256 = self._registered(msg.sender).kinds
    assert kind == RELAY or kind == TURN or kind == NOTIFY or kind == TURN_CREDENTIAL, "registry: unknown kind"
    # A credential service belongs to a TURN node. One assert for both cases:
    # every revert site costs code size (EIP-170).
    declared: uint256 = kind
    if kind == TURN_CREDENTIAL:
        declared = TURN
    assert node_kinds & declared != 0, "registry: kind not declared"
    self._set_endpoint(msg.sender, kind, uri)


@external
def set_node_key(new_key: address):
    """
    @notice Rotates the node key. The old key is retired, not released: it
            stays attributed to this operator and can never be bound again.
    @param new_key Non-zero, not the operator, never bound before, and it
           approved msg.sender first (`approve_operator`, sent by the key).
    """
    self._registered(msg.sender)
    self._check_key(msg.sender, new_key)
    key_word: uint256 = self.keys[msg.sender]
    old_key: address = convert(key_word & ADDRESS_MASK, address)
    # The old key stays attributed to this operator (evidence it signed still
    # counts for an unbonding period); only its retirement time is recorded.
    self.key_owner[old_key] = convert(msg.sender, uint256) | (block.timestamp << KEY_RETIRED_SHIFT)
    self.key_owner[new_key] = convert(msg.sender, uint256)
    self.keys[msg.sender] = (key_word & ~ADDRESS_MASK) | convert(new_key, uint256)
    log INodeRegistry.NodeKeyChanged(node=msg.sender, old_key=old_key, new_key=new_key)


@external
def approve_operator(operator: address):
    """
    @notice Sent by a node key: consents to being bound by `operator`'s
            `register` or `set_node_key`. Nobody else can bind the key, so
            an operator that copies a newcomer's key out of the mempool can
            no longer block its registration. The approval stays until the
            key approves another operator (or the zero address, to withdraw
            it); a key that is bound stays bound until its operator rotates
            it away.
    @param operator The operator that may bind the calling key.
    """
    self.approved_operator[msg.sender] = operator
    log INodeRegistry.OperatorApproved(key=msg.sender, operator=operator)


@external
def set_metadata(region: String[16], metadata_uri: String[MAX_URI_INPUT]):
    """
    @notice Replaces the region code and metadata URI.
    @param region Region code (at most 16 characters).
    @param metadata_uri Operator metadata (<= 256 characters).
    """
    self._registered(msg.sender)
    meta_uri: String[MAX_URI] = self._set_metadata(region, metadata_uri)
    log INodeRegistry.MetadataChanged(node=msg.sender, region=region, metadata_uri=meta_uri)


@external
def deregister():
    """
    @notice The operator leaves for good and frees its sum-tree slots and its
            `node_list` entry for newcomers (capacity: 65,536 registered nodes,
            65,536 per kind). Only once its own stake is unbonded (`unbond` of
            all its shares; its weight is 0 from then on), or after a 100 %
            slash (its shares are worth nothing and cannot be unbonded). What it leaves
            behind keeps working: unbonding entries (its own and its
            delegators') can be withdrawn and stay slashable, delegators can
            still unbond and claim, the operator can claim its commission. Jail
            and the slashed-out mark stay with the address. The node key is
            retired (it stays attributed to this operator, for evidence, and
            can never be bound again). The operator may register again later
            (a new slot, a new node key that approves it).
    """
    m: Meta = self._registered(msg.sender)
    # Own shares 0, or a pool slashed out (its shares are worth 0 and cannot
    # be unbonded): not eligible, so `_sync` left the weight at 0 (the leaves
    # it frees hold 0) and no delegator can join.
    assert m.closed or (self.stakes[msg.sender][msg.sender] & ACCOUNT_SHARES_MASK) == 0, "registry: self-stake still bonded"
    tag: uint256 = self._sampling_tag()
    # Bound: three known kinds.
    for kind: uint256 in [RELAY, TURN, NOTIFY]:
        if m.kinds & kind != 0:
            sumtree._free_slot(kind, (m.slots >> self._slot_shift(kind)) & SLOT_MASK, tag)
            self.endpoints[msg.sender][kind] = ""
    self.endpoints[msg.sender][TURN_CREDENTIAL] = ""
    # Swap-and-pop: the last registered node takes the leaver's index.
    key_word: uint256 = self.keys[msg.sender]
    last: address = self.node_list.pop()
    if last != msg.sender:
        position: uint256 = key_word >> KEY_INDEX_SHIFT
        self.node_list[position] = last
        self.keys[last] = (self.keys[last] & ADDRESS_MASK) | (position << KEY_INDEX_SHIFT)
    # The key is retired, not released: it stays attributed to this operator, so
    # evidence it signed still counts against the pool left behind (Disputes).
    key: address = convert(key_word & ADDRESS_MASK, address)
    self.key_owner[key] = convert(msg.sender, uint256) | (block.timestamp << KEY_RETIRED_SHIFT)
    self.keys[msg.sender] = 0
    # Keep jail, the closed bit and the commission flag; clear the rest.
    kept: Meta = empty(Meta)
    kept.jailed = m.jailed
    kept.jailed_until = m.jailed_until
    kept.closed = m.closed
    kept.commission_owed = m.commission_owed
    self._store_meta(msg.sender, kept)
    log INodeRegistry.NodeDeregistered(node=msg.sender)


# STAKING #

@external
def stake(amount: uint256) -> uint256:
    """
    @notice Adds self-stake to the caller's own node.
    @param amount CLUB wei, pulled with transferFrom.
    @return uint256 Bonded shares minted.
    """
    minted: uint256 = self._bond(msg.sender, msg.sender, amount, self._registered(msg.sender))
    self._pull(msg.sender, amount)
    return minted


@external
def stake_with_permit(amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32) -> uint256:
    """
    @notice `stake` with an EIP-2612 permit for this contract, in one transaction.
    @param amount CLUB wei, pulled with transferFrom after the permit.
    @param deadline Permit deadline (unix seconds).
    @param v Permit signature v.
    @param r Permit signature r.
    @param s Permit signature s.
    @return uint256 Bonded shares minted.
    """
    m: Meta = self._registered(msg.sender)
    self._permit(amount, deadline, v, r, s)
    minted: uint256 = self._bond(msg.sender, msg.sender, amount, m)
    self._pull(msg.sender, amount)
    return minted


@external
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
def delegate_with_permit(
    node: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32
) -> uint256:
    """
    @notice `delegate` with an EIP-2612 permit for this contract, in one transaction.
    @param node A registered node other than the caller.
    @param amount CLUB wei, pulled with transferFrom after the permit.
    @param deadline Permit deadline (unix seconds).
    @param v Permit signature v.
    @param r Permit signature r.
    @param s Permit signature s.
    @return uint256 Bonded shares minted.
    """
    self._permit(amount, deadline, v, r, s)
    minted: uint256 = self._delegate(node, msg.sender, amount)
    self._pull(msg.sender, amount)
    return minted


@external
def unbond(node: address, share_amount: uint256) -> uint256:
    """
    @notice Starts unbonding `share_amount` bonded shares of `node`'s pool.
    @dev The operator may unbond either everything (exit) or down to a
         self-stake that still meets the minimum and the saturation cap.
    @return uint256 The new unbonding entry id of the caller.
    @param node The node whose pool the shares are of.
    @param share_amount Bonded shares to unbond (> 0, at most the caller's).
    """
    assert share_amount > 0, "registry: zero shares"
    held: uint256 = self.stakes[node][msg.sender] & ACCOUNT_SHARES_MASK
    assert held >= share_amount, "registry: not enough shares"
    m: Meta = self._checkpoint(node, self._meta(node))
    self._settle(node, msg.sender, False, self.accs[node] >> PAIR_HIGH_SHIFT)

    pool: uint256 = self.bonded_pool[node]
    bonded_assets: uint256 = pool & PAIR_LOW_MASK
    bonded_shares: uint256 = pool >> PAIR_HIGH_SHIFT
    # Rounds down: the leaving account gets at most its exact share.
    assets: uint256 = self._to_assets(share_amount, bonded_assets, bonded_shares)
    assert assets > 0, "registry: amount too small"
    self.bonded_pool[node] = self._pair(bonded_assets - assets, bonded_shares - share_amount)
    left: uint256 = held - share_amount
    # Only the share bits change (the settlement above already wrote the rest).
    self.stakes[node][msg.sender] -= share_amount

    if msg.sender == node and left > 0:
        assert self._to_assets(left, bonded_assets - assets, bonded_shares - share_amount) >= self._required_self_stake(
            m.kinds
        ), "registry: self-stake too low"
        assert bonded_shares - share_amount - left <= left * self.saturation_multiple, "registry: pool over-saturated"

    pool = self.unbonding_pool[node]
    u_assets: uint256 = pool & PAIR_LOW_MASK
    u_shares: uint256 = pool >> PAIR_HIGH_SHIFT
    # Rounds down: the new entry never claims more than the assets it brings.
    minted: uint256 = assets * (u_shares + 1) // (u_assets + 1)
    assert minted > 0, "registry: amount too small"
    self.unbonding_pool[node] = self._pair(u_assets + assets, u_shares + minted)

    entry_id: uint256 = self.unbonding_count[msg.sender]
    release: uint256 = block.timestamp + self.unbonding_seconds
    self.unbonding_entries[msg.sender][entry_id] = PackedEntry(
        head=convert(node, uint256) | (self._time(release) << ENTRY_RELEASE_SHIFT), shares=minted
    )
    self.unbonding_count[msg.sender] = entry_id + 1
    log INodeRegistry.Unbonded(
        node=node, account=msg.sender, entry_id=entry_id, shares=share_amount, assets=assets, release_time=release
    )
    self._sync(node, m)
    return entry_id


@external
def rebond(entry_id: uint256) -> uint256:
    """
    @notice Moves an unbonding entry back into its node's bonded pool.
    @return uint256 Bonded shares minted.
    @param entry_id One of the caller's unbonding entries (its node must be registered).
    """
    entry: Unbonding = self._entry(msg.sender, entry_id)
    assert entry.shares > 0, "registry: no such unbonding"
    m: Meta = self._registered(entry.node)
    assets: uint256 = self._release_entry(msg.sender, entry_id, entry)
    # The assets stay in the registry: `_bond` counts them into principal again.
    self.stake_word -= assets
    minted: uint256 = 0
    if msg.sender == entry.node:
        minted = self._bond(entry.node, msg.sender, assets, m)
    else:
        minted = self._delegate(entry.node, msg.sender, assets)
    log INodeRegistry.Rebonded(node=entry.node, account=msg.sender, entry_id=entry_id, assets=assets, shares=minted)
    return minted


@external
def withdraw(entry_id: uint256) -> uint256:
    """
    @notice Pays out an unbonding entry whose release time has passed, unless
            its node is frozen by an open dispute.
    @return uint256 CLUB wei paid (after any slash of the pool).
    @param entry_id One of the caller's unbonding entries, released.
    """
    entry: Unbonding = self._entry(msg.sender, entry_id)
    assert entry.shares > 0, "registry: no such unbonding"
    assert block.timestamp >= entry.release_time, "registry: still unbonding"
    assert self.frozen[entry.node] == 0, "registry: node frozen"
    assets: uint256 = self._release_entry(msg.sender, entry_id, entry)
    # principal is the low half of stake_word and never below the assets it counts.
    self.stake_word -= assets
    log INodeRegistry.Withdrawn(node=entry.node, account=msg.sender, entry_id=entry_id, assets=assets)
    if assets > 0:
        self._push(msg.sender, assets)
    return assets


@external
def claim(node: address) -> uint256:
    """
    @notice Pays the caller's rewards from `node`'s pool (plus the commission when
            the caller is the operator).
    @dev A claim pays what the node's last checkpoint booked (every
         heartbeat, stake change, unbond, jail or slash checkpoints it; the
         node software beats every 20 minutes): it settles against the stored
         pool accumulator, which a later checkpoint only increases, plus the
         stored commission, so it reads no global word and writes only the
         caller's own word, the reward reserve and (commission) the
         operator's commission word. What streamed since waits for the next
         checkpoint.
    @return uint256 CLUB wei paid.
    @param node The node whose pool the caller holds shares of (or its own node).
    """
    amount: uint256 = self._settle(node, msg.sender, True, self.accs[node] >> PAIR_HIGH_SHIFT)
    if msg.sender == node:
        m: Meta = self._meta(node)
        if m.commission_owed:
            amount += self.commission_accrued[node]
            self.commission_accrued[node] = 0
            m.commission_owed = False
            self._store_meta(node, m)
    if amount > 0:
        # The reserve (kind reserves minus spent) always covers what it pays.
        self.spent_word += amount << SPENT_SHIFT
        self._push(msg.sender, amount)
    log INodeRegistry.Claimed(node=node, account=msg.sender, amount=amount)
    return amount


@external
def set_commission(commission_bps: uint256):
    """
    @notice Schedules a commission change, effective after `commission_delay_seconds`.
    @dev One pending change at a time; each change moves at most `commission_max_change_bps`.
    @param commission_bps The new commission (bps, <= commission_max_bps).
    """
    m: Meta = self._checkpoint(msg.sender, self._registered(msg.sender))
    assert m.effective_at == 0, "registry: commission pending"
    current: uint256 = m.commission_bps
    assert commission_bps <= self.commission_max_bps, "registry: commission too high"
    delta: uint256 = max(commission_bps, current) - min(commission_bps, current)
    assert delta > 0, "registry: commission unchanged"
    assert delta <= self.commission_max_change_bps, "registry: commission step big"
    effective_at: uint256 = self._time(block.timestamp + self.commission_delay_seconds)
    m.pending_bps = commission_bps
    m.effective_at = effective_at
    self._store_meta(msg.sender, m)
    log INodeRegistry.CommissionChangeScheduled(
        node=msg.sender, current_bps=current, pending_bps=commission_bps, effective_at=effective_at
    )


# LIVENESS #

@external
def heartbeat():
    """
    @notice Called by a node key: keeps its node live for `heartbeat_seconds`
            from now and does the node's reward bookkeeping.
    """
    owner: uint256 = self.key_owner[msg.sender]
    # A bound key (non-zero operator) that is the operator's current one (no retirement
    # time above the address): a retired key stays attributed but may not beat.
    assert owner != 0 and owner <= ADDRESS_MASK, "registry: not a node key"
    node: address = convert(owner, address)
    m: Meta = self._checkpoint(node, self._meta(node))
    m.live_until = self._time(block.timestamp + self.heartbeat_seconds)
    log INodeRegistry.Heartbeat(node=node, timestamp=block.timestamp)
    self._sync(node, m)
    self._record_seed()


@external
def poke(node: address):
    """
    @notice Permissionless and unpaid: takes an expired (or otherwise ineligible)
            node out of the trees so it is no longer drawn or counted (a jailed
            node's lazy leaves too).
    @param node A node with weight (in its leaves) that is not eligible now.
    """
    m: Meta = self._meta(node)
    assert m.weight != 0 and not self._eligible(node, m), "registry: node is eligible"
    self._sync(node, self._checkpoint(node, m))


@external
def unjail():
    """
    @notice The operator releases its node once the jail time is over.
    """
    m: Meta = self._registered(msg.sender)
    assert m.jailed, "registry: not jailed"
    assert block.timestamp >= m.jailed_until, "registry: still jailed"
    m = self._checkpoint(msg.sender, m)
    m.jailed = False
    log INodeRegistry.Unjailed(node=msg.sender)
    self._sync(msg.sender, m)


# REWARDS #

@external
def finalize_epoch() -> uint256:
    """
    @notice Permissionless: finalises the oldest unfinalised epoch once it has
            ended. The new CLUB found now (plus what the running stream has
            not paid yet) is streamed over the next `stream_seconds`: it accrues
            to the weight present, second by second, after this call.
    @return uint256 The tip paid to the caller (at most `finalize_tip`, never
            more than the new rewards).
    """
    stream: uint256 = self.stream_word
    totals: uint256 = self.stake_word
    # Every kind is brought up to now under the split and weights in force so far.
    self._stream_all(stream, totals)
    done: uint256 = stream >> STREAM_EPOCHS_SHIFT
    assert block.timestamp >= EPOCH_START + (done + 1) * EPOCH_SECONDS, "registry: epoch not over"
    # What the running stream (all kinds together) has still to pay after now.
    left: uint256 = 0
    end: uint256 = (stream >> STREAM_END_SHIFT) & MASK40
    if end > block.timestamp:
        left = (stream & STREAM_RATE_MASK) * (end - block.timestamp)
    owed: uint256 = (totals & PRINCIPAL_MASK) + self._reserve(stream, totals) + left
    balance: uint256 = staticcall TOKEN.balanceOf(self)
    fresh: uint256 = 0
    if balance > owed:
        fresh = balance - owed
    tip: uint256 = min(self.finalize_tip, fresh)
    fresh -= tip
    # Rounds down: the remainder (< stream_seconds wei) stays in the balance
    # above what is owed and is streamed by a later finalisation. The rate is
    # below the CLUB cap (10**27 < 2**96) and the epoch count below 2**40 (40-bit times).
    period: uint256 = (stream >> STREAM_PERIOD_SHIFT) & MASK32
    # The stream is split over the kinds that have reward weight now (see `_streamed`):
    # a kind without nodes does not strand its share.
    split: uint256 = 0
    weight: uint256 = 0
    split, weight = self._split(stream, totals)
    # Unchecked division: `set_parameters` keeps the period at least 1.
    self.stream_word = (
        unsafe_div(fresh + left, period)
        | (self._time(block.timestamp + period) << STREAM_END_SHIFT)
        | (split & STREAM_KEPT_MASK)
        | ((done + 1) << STREAM_EPOCHS_SHIFT)
    )
    self._record_seed()
    log INodeRegistry.EpochFinalised(epoch=done, caller=msg.sender, rewards=fresh, total_weight=weight, tip=tip)
    if tip > 0:
        self._push(msg.sender, tip)
    return tip


# SAMPLING SEED #

@external
def record_epoch_seed() -> bool:
    """
    @notice Permissionless: records the current epoch's sampling seed, once per
            epoch (`finalize_epoch` and `heartbeat` do it too). Until it runs,
            `sample` uses a fallback derived from the previous seed.
    @return bool True when this call recorded it, false when it already was.
    """
    return self._record_seed()


# SLASHING #

@external
def jail(node: address, until: uint256):
    """
    @notice Removes `node` from sampling and rewards until the operator unjails
            it after `until`. Only SLASHER_ROLE.
    @param until Unix seconds in the future; a later jail never shortens an earlier one.
    @param node A registered node, or a deregistered one with shares left in its pool.
    """
    access_control._check_role(SLASHER_ROLE, msg.sender)
    # Like `slash`: a deregistered node with shares left can still be jailed (the mark
    # stays with the address), so a proof against it is not blocked by the jail.
    m: Meta = self._slashable(node)
    assert until > block.timestamp, "registry: jail end in the past"
    m = self._checkpoint(node, m)
    m.jailed = True
    m.jailed_until = self._time(max(until, m.jailed_until))
    log INodeRegistry.Jailed(node=node, until=m.jailed_until)
    if m.weight != 0 and not m.lazy:
        # Lazy leaves: the weight leaves total_weight (and stops earning) now, but
        # the sum-tree leaves keep it until the node's next `_sync` (its heartbeat,
        # unjail, a stake change, deregistration, or anyone's `poke`). The frozen
        # view this epoch samples from is the same either way; a jailed node drawn
        # later is skipped like any ineligible one. A fork proof or a kick thus
        # pays no sum-tree path (one word per level).
        self._reweigh(m.kinds, m.weight, 0)
        m.lazy = True
        log INodeRegistry.WeightChanged(node=node, weight=0)
    self._store_meta(node, m)


@external
def slash(node: address, fraction: uint256, reporter: address, reporter_share: uint256) -> uint256:
    """
    @notice Cuts `fraction` (1e18 = 100 %) of `node`'s pool: bonded stake and
            unbonding entries alike, in O(1). Pays `reporter_share` (1e18 = 100 %)
            of the cut to `reporter` and burns the rest. Only SLASHER_ROLE.
    @return uint256 Total CLUB wei cut.
    @param node A registered node, or a deregistered one with shares left in its pool.
    @param fraction Share of the pool to cut (1e18 = 100 %; a 100 % slash closes the node).
    @param reporter Receives `reporter_share` of the cut (zero only with a zero share).
    @param reporter_share Share of the cut paid to `reporter` (1e18 = 100 %).
    """
    access_control._check_role(SLASHER_ROLE, msg.sender)
    m: Meta = self._slashable(node)
    assert fraction > 0 and fraction <= WAD, "registry: bad fraction"
    assert reporter_share <= WAD, "registry: bad reporter share"
    assert reporter_share == 0 or reporter != empty(address), "registry: zero reporter"
    m = self._checkpoint(node, m)
    pool: uint256 = self.bonded_pool[node]
    bonded: uint256 = pool & PAIR_LOW_MASK
    bonded_cut: uint256 = self._cut(bonded, fraction)
    self.bonded_pool[node] = pool - bonded_cut
    pool = self.unbonding_pool[node]
    waiting: uint256 = pool & PAIR_LOW_MASK
    unbonding_cut: uint256 = self._cut(waiting, fraction)
    self.unbonding_pool[node] = pool - unbonding_cut
    if fraction == WAD:
        # Both pools are worth 0 now (shares may remain): the node is closed for good.
        m.closed = True
    total: uint256 = bonded_cut + unbonding_cut
    self.stake_word -= total
    # Rounds down: the reporter never gets more than its share; the rest burns.
    to_reporter: uint256 = total * reporter_share // WAD
    burned: uint256 = total - to_reporter
    log INodeRegistry.Slashed(
        node=node,
        reporter=reporter,
        fraction=fraction,
        bonded_cut=bonded_cut,
        unbonding_cut=unbonding_cut,
        reporter_amount=to_reporter,
        burned=burned,
    )
    if m.lazy and not m.closed:
        # Jailed, so its weight is 0 whatever the cut: the leaves stay lazy. A closed
        # node's leaves are moved now (deregistration frees them and needs them at 0).
        self._store_meta(node, m)
    else:
        self._sync(node, m)
    if to_reporter > 0:
        self._push(reporter, to_reporter)
    if burned > 0:
        extcall TOKEN.burn(burned)
    return total


@external
def freeze(node: address):
    """
    @notice Blocks withdrawals of `node`'s unbonding entries while a dispute
            is open (a counter: overlapping disputes each freeze once). Only
            DISPUTES_ROLE.
    """
    access_control._check_role(DISPUTES_ROLE, msg.sender)
    count: uint256 = self.frozen[node] + 1
    self.frozen[node] = count
    log INodeRegistry.FreezeChanged(node=node, count=count)


@external
def unfreeze(node: address):
    """
    @notice Releases one `freeze` of `node`. Only DISPUTES_ROLE.
    """
    access_control._check_role(DISPUTES_ROLE, msg.sender)
    count: uint256 = self.frozen[node]
    assert count > 0, "registry: not frozen"
    count -= 1
    self.frozen[node] = count
    log INodeRegistry.FreezeChanged(node=node, count=count)


# PARAMETERS #

@external
def set_parameters(
    min_self_stake_per_kind: uint256,
    saturation_multiple: uint256,
    unbonding_seconds: uint256,
    heartbeat_seconds: uint256,
    commission_max_bps: uint256,
    commission_max_change_bps: uint256,
    commission_delay_seconds: uint256,
    finalize_tip: uint256,
    stream_seconds: uint256,
):
    """
    @notice Sets every tunable at once (read the current ones, change what you
            need). Only PARAMETER_ROLE. Nodes that fall below a raised minimum
            are skipped by `sample` at once and stop earning at their next
            touch (or `poke`); a new unbonding
            period applies to new entries; a new heartbeat period applies from
            each node's next heartbeat.
    @param min_self_stake_per_kind Self-stake per declared kind (CLUB wei, > 0).
    @param saturation_multiple Delegated shares <= this times the operator's shares.
    @param unbonding_seconds Waiting time of new unbonding entries (< 2**32).
    @param heartbeat_seconds How long one heartbeat keeps a node live (> 0, < 2**32).
    @param commission_max_bps Commission ceiling (<= 10,000).
    @param commission_max_change_bps Largest single commission change.
    @param commission_delay_seconds Delay before a commission change applies (< 2**32).
    @param finalize_tip Tip per finalised epoch (CLUB wei).
    @param stream_seconds Each later finalisation streams its rewards over
           this many seconds (> 0, < 2**32). Keep it equal to Emission's epoch
           length (a proposal that changes one changes both): with a shorter
           stream than the mint interval, stake held just after the
           finalisation that brings a mint earns more than its time share
           (a one-day stream of a weekly mint: 7 times as much that day).
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
        stream_seconds,
    )


@external
def set_kind_reward_bps(bps: uint256[3]):
    """
    @notice Sets the split of the reward stream between the kinds: `bps` for
            RELAY, TURN and NOTIFY, summing to 10,000. Only PARAMETER_ROLE. Every
            kind is brought up to now first, so what streamed before keeps the
            old split and the running stream pays the new one from now on. A
            share may be 0: that kind's nodes then earn nothing, and while the
            active kinds (those with reward weight when `finalize_epoch` or this
            setter last ran; this call takes them from the weights now) all have
            a 0 share nothing streams (it stays fresh for the next finalisation).
    @param bps Basis points of RELAY, TURN and NOTIFY (each <= 10,000, summing to 10,000).
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._stream_all(self.stream_word, self.stake_word)
    self._set_kind_reward_bps(bps)


# VIEWS #

@external
@view
def sample(kind: uint256, seed: bytes32, k: uint256) -> DynArray[address, MAX_SAMPLE]:
    """
    @notice Up to `k` distinct eligible nodes serving `kind`, drawn without
            replacement with probability proportional to their weight frozen
            at the start of the current epoch (whole CLUB); deterministic for a
            given seed within an epoch, and re-drawn every epoch.
    @dev Draw i uses keccak256(keccak256(epoch seed, seed), i) modulo the
         remaining frozen weight (the modulo bias is below weight / 2**256),
         where the epoch seed is `epoch_seed()`. The draw sequence depends
         only on the frozen weights and the seeds; a drawn node that is not
         eligible now (jailed, expired, self-stake below the current minimum)
         is skipped, and it stays removed from the remaining weight, so
         nobody can steer later draws by changing eligibility; at most
         MAX_DRAWS draws in all. While no weight of `kind` is frozen (the
         kind's first epoch) the live weights are drawn instead. A contract
         that acts on a draw (e.g. a reviewer panel) must call
         `record_epoch_seed()` first in the same transaction, so it never
         draws with the public fallback seed.
         O(k * log4(n)) storage reads and O(k * (log4(n) + k)) comparisons.
    @param kind RELAY, TURN or NOTIFY.
    @param seed The caller's seed (a client: keccak256 of the address it looks up).
    @param k At most 16.
    @return DynArray[address, 16] The drawn nodes, in draw order (fewer than `k` when not enough eligible weight is left).
    """
    assert kind == RELAY or kind == TURN or kind == NOTIFY, "registry: unknown kind"
    assert k <= MAX_SAMPLE, "registry: k above 16"
    picked: DynArray[address, MAX_SAMPLE] = []
    # Drawn slots so far, each as its leaf value << 16 | slot (`sumtree._find`).
    excluded: DynArray[uint256, sumtree.MAX_EXCLUDED] = []
    epoch: uint256 = self._epochs_ended_by(block.timestamp)
    tag: uint256 = sumtree._tag(epoch)
    mixed: bytes32 = keccak256(abi_encode(self._epoch_seed(epoch), seed))
    remaining: uint256 = sumtree._frozen_total(kind, tag)
    frozen: bool = remaining != 0
    if not frozen:
        remaining = sumtree._total(kind)
    # Bound: MAX_DRAWS draws, skipped ones included.
    for i: uint256 in range(MAX_DRAWS):
        if len(picked) >= k or remaining == 0:
            break
        target: uint256 = convert(keccak256(abi_encode(mixed, i)), uint256) % remaining
        slot: uint256 = 0
        weight: uint256 = 0
        slot, weight = sumtree._find(kind, target, excluded, tag, frozen)
        # Leaf values are below 2**30 and slots below 2**16.
        excluded.append((weight << 16) | slot)
        remaining -= weight
        node: address = sumtree._owner(kind, slot)
        if self._eligible(node, self._meta(node)):
            picked.append(node)
    return picked


@external
@view
def sampling_epoch() -> uint256:
    """
    @notice The epoch whose frozen weights and seed `sample` uses now (epoch e
            runs from EPOCH_START + e * EPOCH_SECONDS; 0 before EPOCH_START).
    @return uint256 The sampling epoch number.
    """
    return self._epochs_ended_by(block.timestamp)


@external
@view
def epoch_seed() -> (bytes32, bool):
    """
    @notice The seed `sample` mixes into every draw this epoch, and whether it
            was recorded this epoch (false: the fallback derived from the last
            recorded seed, public since before the weights were frozen; it
            changes when `record_epoch_seed` runs).
    @return (bytes32, bool) The seed, and whether it was recorded this epoch.
    """
    epoch: uint256 = self._epochs_ended_by(block.timestamp)
    return self._epoch_seed(epoch), (self.seed_word & SEED_EPOCH_MASK) == epoch + 1


@external
@view
def sampling_stake(kind: uint256) -> uint256:
    """
    @notice The weight of `kind` that `sample` draws from this epoch, as CLUB
            wei (the frozen weights; the live ones in a kind's first epoch).
    @param kind RELAY, TURN or NOTIFY.
    @return uint256 CLUB wei (whole CLUB per node).
    """
    tag: uint256 = sumtree._tag(self._epochs_ended_by(block.timestamp))
    total: uint256 = sumtree._frozen_total(kind, tag)
    if total == 0:
        total = sumtree._total(kind)
    return total * UNIT


@external
@view
def endpoint(node: address, kind: uint256) -> String[MAX_URI]:
    """
    @notice The node's endpoint for `kind` (empty when not declared); kind =
            TURN_CREDENTIAL (8) gives a TURN node's credential service.
    @param node The operator.
    @param kind RELAY, TURN, NOTIFY or TURN_CREDENTIAL.
    @return String[256] The URI (empty when none).
    """
    return self.endpoints[node][kind]


@external
@view
def node_key(node: address) -> address:
    """
    @notice The node's hot key (zero when not registered).
    @param node The operator.
    @return address The node key.
    """
    return convert(self.keys[node] & ADDRESS_MASK, address)


@external
@view
def key_record(key: address) -> (address, uint256):
    """
    @notice The operator `key` was ever bound to (zero: never) and when it was
            rotated away (0 while it is the operator's current key).
    @param key A node key.
    @return (address, uint256) The operator, and the unix seconds the key was retired (0: current).
    """
    owner: uint256 = self.key_owner[key]
    return convert(owner & ADDRESS_MASK, address), owner >> KEY_RETIRED_SHIFT


@external
@view
def unbondings(account: address, entry_id: uint256) -> Unbonding:
    """
    @notice `account`'s unbonding entry `entry_id` (zeros once withdrawn or rebonded).
    @param account The account that unbonded.
    @param entry_id Its entry id (0 .. unbonding_count(account) - 1).
    @return Unbonding The node, the unbonding shares and the release time.
    """
    return self._entry(account, entry_id)


@external
@view
def node_count() -> uint256:
    """
    @notice Number of registered nodes.
    @return uint256 The number of entries of `node_list`.
    """
    return len(self.node_list)


@external
@view
def total_stake(kind: uint256) -> uint256:
    """
    @notice Weight in the tree of `kind` as CLUB wei (whole CLUB per node): the
            eligible stake as of each node's last touch (a jailed node's leaves
            keep their weight until its next heartbeat, unjail, stake change or `poke`).
    @param kind RELAY, TURN or NOTIFY.
    @return uint256 CLUB wei.
    """
    return sumtree._total(kind) * UNIT


@external
@view
def total_weight() -> uint256:
    """
    @notice Sum of all node weights (whole CLUB); a jailed node counts 0 from its jail on.
            A node counts once whatever the kinds it declares: (W_RELAY + W_TURN + W_NOTIFY) / 6.
    @return uint256 Whole CLUB.
    """
    return self._split(0, self.stake_word)[1]


@external
@view
def principal() -> uint256:
    """
    @notice Bonded + unbonding assets of all pools (CLUB wei).
    @return uint256 CLUB wei.
    """
    return self.stake_word & PRINCIPAL_MASK


@external
@view
def stream_seconds() -> uint256:
    """
    @notice Each finalisation streams its rewards over this many seconds:
            Emission's epoch length, so that the weekly mint is paid over the
            week it stands for (a `set_parameters` value, 1 .. 2**32 - 1).
    @return uint256 Seconds.
    """
    return (self.stream_word >> STREAM_PERIOD_SHIFT) & MASK32


@external
@view
def epochs_finalised() -> uint256:
    """
    @notice Epochs finalised so far; epoch e ends at EPOCH_START + (e + 1) * EPOCH_SECONDS.
    @return uint256 The number of finalised epochs.
    """
    return self.stream_word >> STREAM_EPOCHS_SHIFT


@external
@view
def reward_reserve() -> uint256:
    """
    @notice Rewards streamed so far (up to now) and not yet claimed or forfeited (CLUB wei).
    @return uint256 CLUB wei.
    """
    return self._reserve(self.stream_word, self.stake_word)


@external
@view
def kind_reward_bps(kind: uint256) -> uint256:
    """
    @notice The share of each finalisation's stream paid to the nodes of `kind`
            (bps, the three summing to 10,000), re-split over the kinds that have
            reward weight when `finalize_epoch` runs.
    @param kind RELAY, TURN or NOTIFY (any other value: 0).
    @return uint256 Basis points.
    """
    # No revert for other values (EIP-170: every revert site costs code).
    if kind == RELAY or kind == TURN or kind == NOTIFY:
        return self._kind_bps(self.stream_word, kind)
    return 0


@external
@view
def node_words(node: address, account: address) -> (uint256, uint256, uint256, uint256, uint256, uint256, uint256):
    """
    @notice The stored words of `node` and of `account`'s stake in it, packed as
            STORAGE describes them: `meta`, `keys`, `bonded_pool`,
            `unbonding_pool`, `accs`, `commission_accrued` and `stakes[node][account]`.
            The NodeDirectory lens decodes them (`nodes`, `pending_rewards`,
            `node_at`): read-only views live there, to keep this contract
            under the EIP-170 code size limit.
    @param node The operator.
    @param account Any account (its stake word with `node`).
    @return (uint256, ...) The seven words, in that order.
    """
    return (
        self.meta[node],
        self.keys[node],
        self.bonded_pool[node],
        self.unbonding_pool[node],
        self.accs[node],
        self.commission_accrued[node],
        self.stakes[node][account],
    )


@external
@view
def assets_of(node: address, account: address) -> uint256:
    """
    @notice CLUB wei that `account`'s bonded shares of `node` are worth (rounded down).
    @param node The node.
    @param account The holder.
    @return uint256 CLUB wei.
    """
    pool: uint256 = self.bonded_pool[node]
    return self._to_assets(self.stakes[node][account] & ACCOUNT_SHARES_MASK, pool & PAIR_LOW_MASK, pool >> PAIR_HIGH_SHIFT)


# INTERNAL: ACCOUNTING #

@internal
@view
def _accrual(node: address, m: Meta, accw: uint256, acc_now: uint256) -> Accrual:
    """
    @dev What a checkpoint of `node` would credit, given its meta word `m`, its
         accumulator word `accw` and `acc_now`, the sum of its declared kinds'
         accumulators brought up to now. O(1) reads.
    """
    a: Accrual = empty(Accrual)
    a.acc_now = acc_now
    a.pool_acc = accw >> PAIR_HIGH_SHIFT
    snapshot: uint256 = accw & PAIR_LOW_MASK
    if m.weight == 0 or m.lazy or acc_now <= snapshot:
        return a
    # The node's reward weight in each declared kind is u = weight * 6 // n (exact:
    # n is 1, 2 or 3); the snapshot is the sum of those kinds' accumulators, so
    # u * (sum of deltas) is the sum of its per-kind credits. Rounds down, once
    # per checkpoint: the reserves cover it (see `_streamed`).
    credit: uint256 = m.weight * REWARD_UNITS // self._count_kinds(m.kinds) * (acc_now - snapshot) // (REWARD_UNITS * ACC_SCALE)
    if m.live_until < block.timestamp:
        # The heartbeat lapsed before now: everything since the node's last
        # checkpoint (its last heartbeat at the latest) is forfeited and goes
        # back to the undistributed balance.
        a.forfeited = credit
        return a
    # Commission rounds down: the remainder goes to the pool.
    a.commission = credit * m.commission_bps // BPS
    to_pool: uint256 = credit - a.commission
    bonded_shares: uint256 = self.bonded_pool[node] >> PAIR_HIGH_SHIFT
    if bonded_shares > 0:
        # Rounds down; the dust stays reserved for ever. The accumulator
        # saturates at 2**128 - 1 (unreachable: an eligible pool has at least
        # a whole CLUB of shares); what does not fit stays reserved too.
        a.pool_acc += min(to_pool * WAD // bonded_shares, MASK128 - a.pool_acc)
    else:
        a.commission += to_pool
    return a


@internal
@view
def _streamed(kind: uint256, stream: uint256, totals: uint256) -> uint256:
    """
    @dev `kind`'s reward word brought up to now, given the stream word and the
         stake word (both unchanged since the word's time: every change of the
         kind's reward weight brings the kind up to now first, and
         `finalize_epoch` and `set_kind_reward_bps` bring all three). The kind's
         rate is rate_k = rate * bps_k // (sum of the bps of the kinds active at
         the last finalisation), 0 for a kind that was not active then; it is
         spread over the kind's reward weight W_k (6 units per whole CLUB):
         step = rate_k * dt * 6e9 // W_k. With one active kind whose nodes
         declare only it, rate_k = rate and W_k = 6 * total weight: step and
         reserve are exactly those of one pool. A stake earns only while it is
         in the weight, in proportion to the seconds it is.
    """
    word: uint256 = self.kind_words[kind]
    last: uint256 = (word >> REWARD_TIME_SHIFT) & MASK40
    if last >= block.timestamp:
        return word
    end: uint256 = min((stream >> STREAM_END_SHIFT) & MASK40, block.timestamp)
    acc: uint256 = word & REWARD_ACC_MASK
    reserve: uint256 = word >> RESERVE_SHIFT
    weight: uint256 = (totals >> self._weight_shift(kind)) & MASK53
    if end > last and weight > 0 and (stream >> STREAM_ACTIVE_SHIFT) & kind != 0:
        # Rounds down (the remainders are fresh again at the next finalisation).
        # Unchecked division: the active bps sum is 0 only when every active kind's
        # share is 0, and then so is the numerator (the EVM's x / 0 is 0): nothing streams.
        rate: uint256 = unsafe_div(
            (stream & STREAM_RATE_MASK) * self._kind_bps(stream, kind), (stream >> STREAM_SHARES_SHIFT) & MASK14
        )
        # The step rounds down, so W_k * step <= 6e9 * streamed. The
        # accumulator saturates at 2**120 - 1 instead of overflowing
        # (unreachable with the CLUB cap and whole-CLUB weights).
        step: uint256 = min(rate * (end - last) * REWARD_UNITS * ACC_SCALE // weight, REWARD_ACC_MASK - acc)
        acc += step
        # Rounds UP (at most what streamed, by the line above): a checkpoint
        # takes floor(u * delta / 6e9) once over any number of updates and
        # kinds, which can exceed the sum of per-update floors. With the
        # reserve rounded up at every update, 6e9 * reserve_k >= sum of W_k *
        # step = sum over the kind's nodes of u * (their delta of A_k), which
        # bounds everything checkpoints may take; the < 1 wei per update of
        # excess stays reserved. What streamed to a kind with no weight (or
        # not active, or the rounding remainder) is in no reserve: it is fresh again.
        reserve += (weight * step + REWARD_UNITS * ACC_SCALE - 1) // (REWARD_UNITS * ACC_SCALE)
    return self._kind_word(acc, block.timestamp, reserve)


@internal
def _stream(kind: uint256, stream: uint256, totals: uint256) -> uint256:
    """
    @dev Stores `_streamed(kind, ...)` (one word). Runs before every checkpoint
         for each kind the node declares, hence before every change of W_k.
    """
    word: uint256 = self._streamed(kind, stream, totals)
    # An unchanged word costs a warm no-op SSTORE (100 gas).
    self.kind_words[kind] = word
    return word


@internal
def _stream_all(stream: uint256, totals: uint256):
    """
    @dev Brings every kind's word up to now (`finalize_epoch`, `set_kind_reward_bps`:
         a new stream or split only applies from now on).
    """
    # Bound: three known kinds.
    for i: uint256 in range(3):
        self._stream((1 << i), stream, totals)


@internal
@view
def _reserve(stream: uint256, totals: uint256) -> uint256:
    """
    @dev The reward reserve up to now: what streamed to the kinds minus claims and forfeits.
    """
    reserve: uint256 = 0
    # Bound: three known kinds.
    for i: uint256 in range(3):
        reserve += self._streamed((1 << i), stream, totals) >> RESERVE_SHIFT
    return reserve - (self.spent_word >> SPENT_SHIFT)


@internal
def _checkpoint(node: address, m: Meta) -> Meta:
    """
    @dev Credits `node`'s rewards up to now (commission and pool accumulator),
         returns forfeited rewards to the undistributed balance and applies a
         due commission change (to the returned meta; the caller stores it).
         Must run before any change of the node's weight or bonded shares.
    """
    stream: uint256 = self.stream_word
    totals: uint256 = self.stake_word
    acc_now: uint256 = 0
    # Bound: three known kinds. Only the declared kinds' words are brought up to now.
    for i: uint256 in range(3):
        if m.kinds & (1 << i) != 0:
            acc_now += self._stream((1 << i), stream, totals) & REWARD_ACC_MASK
    accw: uint256 = self.accs[node]
    a: Accrual = self._accrual(node, m, accw, acc_now)
    if acc_now != (accw & PAIR_LOW_MASK):
        self.accs[node] = self._pair(acc_now, a.pool_acc)
        if a.commission > 0:
            self.commission_accrued[node] += a.commission
            m.commission_owed = True
        if a.forfeited > 0:
            # Spent like a claim: the kind reserves held every credit it gives back.
            self.spent_word += a.forfeited << SPENT_SHIFT
    if m.effective_at != 0 and block.timestamp >= m.effective_at:
        # A due commission change applies from this checkpoint on: what
        # accrued before it (credited above) kept the old rate.
        m.commission_bps = m.pending_bps
        m.effective_at = 0
        log INodeRegistry.CommissionChanged(node=node, commission_bps=m.commission_bps)
    return m


@internal
def _settle(node: address, account: address, pay: bool, pool_acc: uint256) -> uint256:
    """
    @dev Brings `account`'s pool rewards up to `pool_acc` (the node's pool
         accumulator, stored or about to be). Must run before its shares
         change. With `pay` the total is returned and the stored rewards
         cleared; without, it is kept in `rewards`.
    """
    word: uint256 = self.stakes[node][account]
    held: uint256 = word & ACCOUNT_SHARES_MASK
    stored: uint256 = 0
    if word & HAS_REWARDS != 0:
        stored = self.rewards[node][account]
    # Rounds down: an account is never credited more than its share.
    owed: uint256 = stored + held * (pool_acc - (word >> PAIR_HIGH_SHIFT)) // WAD
    new_word: uint256 = held | (pool_acc << ACCOUNT_ACC_SHIFT)
    if pay:
        if stored != 0:
            self.rewards[node][account] = 0
    else:
        if owed != stored:
            self.rewards[node][account] = owed
        if owed != 0:
            new_word |= HAS_REWARDS
    if new_word != word:
        self.stakes[node][account] = new_word
    return owed


@internal
def _bond(node: address, account: address, amount: uint256, meta_before: Meta) -> uint256:
    """
    @dev Mints bonded shares of `node` for `amount` assets to `account`
         (the caller moves the tokens) and updates the node's weight.
    """
    m: Meta = self._checkpoint(node, meta_before)
    self._settle(node, account, False, self.accs[node] >> PAIR_HIGH_SHIFT)
    pool: uint256 = self.bonded_pool[node]
    bonded_assets: uint256 = pool & PAIR_LOW_MASK
    bonded_shares: uint256 = pool >> PAIR_HIGH_SHIFT
    # After a 100 % slash the old shares (bonded or unbonding) are worth
    # nothing: new stake would need more shares than a pool word holds, and
    # could never start unbonding against an unbonding pool worth 0. The node
    # is closed for good (`slash` sets the bit; only a 100 % slash empties a pool).
    assert not m.closed, "registry: pool slashed out"
    # Rounds down: the pool keeps the remainder.
    minted: uint256 = amount * (bonded_shares + 1) // (bonded_assets + 1)
    assert minted > 0, "registry: amount too small"
    self.bonded_pool[node] = self._pair(bonded_assets + amount, bonded_shares + minted)
    word: uint256 = self.stakes[node][account]
    assert (word & ACCOUNT_SHARES_MASK) + minted <= ACCOUNT_SHARES_MASK, "registry: amount out of range"
    self.stakes[node][account] = word + minted
    totals: uint256 = self.stake_word
    assert (totals & PRINCIPAL_MASK) + amount <= PRINCIPAL_MASK, "registry: amount out of range"
    self.stake_word = totals + amount
    log INodeRegistry.Staked(node=node, account=account, assets=amount, shares=minted)
    self._sync(node, m)
    return minted


@internal
def _delegate(node: address, account: address, amount: uint256) -> uint256:
    """
    @dev Delegation: `_bond` plus the checks that only apply to delegators.
    """
    m: Meta = self._registered(node)
    assert account != node, "registry: operators use stake"
    minted: uint256 = self._bond(node, account, amount, m)
    own: uint256 = self.stakes[node][node] & ACCOUNT_SHARES_MASK
    assert (self.bonded_pool[node] >> PAIR_HIGH_SHIFT) - own <= own * self.saturation_multiple, "registry: pool over-saturated"
    return minted


@internal
def _release_entry(account: address, entry_id: uint256, entry: Unbonding) -> uint256:
    """
    @dev Burns an unbonding entry and returns its assets (rounded down); the
         caller decides where the assets go.
    """
    pool: uint256 = self.unbonding_pool[entry.node]
    u_assets: uint256 = pool & PAIR_LOW_MASK
    u_shares: uint256 = pool >> PAIR_HIGH_SHIFT
    assets: uint256 = self._to_assets(entry.shares, u_assets, u_shares)
    self.unbonding_pool[entry.node] = self._pair(u_assets - assets, u_shares - entry.shares)
    self.unbonding_entries[account][entry_id] = empty(PackedEntry)
    return assets


@internal
def _sync(node: address, m: Meta):
    """
    @dev Sets the node's weight (trees and total) to its bonded assets in
         whole CLUB when it is eligible, else to 0, and stores its meta word;
         lazy leaves (see `jail`) are moved here, from the weight they hold.
         Runs after `_checkpoint`, so the new weight earns from the current
         accumulator on.
    """
    target: uint256 = 0
    if self._eligible(node, m):
        # Rounds down: a weight counts whole CLUB.
        target = (self.bonded_pool[node] & PAIR_LOW_MASK) // UNIT
        assert target <= MASK32, "registry: weight overflow"
    if target != m.weight:
        # The live leaves move now; the frozen view sampling reads moves at the next epoch.
        tag: uint256 = self._sampling_tag()
        # Bound: three known kinds.
        for kind: uint256 in [RELAY, TURN, NOTIFY]:
            if m.kinds & kind != 0:
                sumtree._update(kind, (m.slots >> self._slot_shift(kind)) & SLOT_MASK, m.weight, target, tag)
    # Lazy leaves (see `jail`) hold `weight`, but total_weight counts 0 for them.
    counted: uint256 = m.weight
    if m.lazy:
        counted = 0
    if target != counted:
        self._reweigh(m.kinds, counted, target)
        log INodeRegistry.WeightChanged(node=node, weight=target)
    m.weight = target
    m.lazy = False
    self._store_meta(node, m)


@internal
def _reweigh(kinds: uint256, old: uint256, new: uint256):
    """
    @dev Moves a node's reward weight from `old` to `new` whole CLUB in each of
         its declared kinds' totals W_k (u = weight * 6 // n per kind). The
         kinds were brought up to now by the node's checkpoint. No overflow:
         W_k <= 65,536 slots * 6 * 2**32 < 2**53.
    """
    n: uint256 = self._count_kinds(kinds)
    totals: uint256 = self.stake_word
    # Bound: three known kinds.
    for i: uint256 in range(3):
        if kinds & (1 << i) != 0:
            at: uint256 = self._weight_shift((1 << i))
            totals = totals - ((old * REWARD_UNITS // n) << at) + ((new * REWARD_UNITS // n) << at)
    self.stake_word = totals


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


# INTERNAL: PACKING #

@internal
@view
def _entry(account: address, entry_id: uint256) -> Unbonding:
    """
    @dev Unpacks an unbonding entry (layout at `PackedEntry`).
    """
    e: PackedEntry = self.unbonding_entries[account][entry_id]
    return Unbonding(
        node=convert(e.head & ADDRESS_MASK, address),
        shares=e.shares,
        release_time=(e.head >> ENTRY_RELEASE_SHIFT) & MASK40,
    )


@internal
@view
def _meta(node: address) -> Meta:
    """
    @dev Unpacks `node`'s meta word (layout at `meta`).
    """
    w: uint256 = self.meta[node]
    return Meta(
        kinds=w & ALL_KINDS,
        jailed=(w >> 3) & 1 == 1,
        live_until=(w >> 8) & MASK40,
        jailed_until=(w >> 48) & MASK40,
        commission_bps=(w >> 88) & MASK14,
        pending_bps=(w >> 102) & MASK14,
        effective_at=(w >> 116) & MASK40,
        slots=(w >> 156) & (2**48 - 1),
        weight=(w >> 204) & MASK32,
        commission_owed=(w >> 236) & 1 == 1,
        closed=(w >> 4) & 1 == 1,
        lazy=(w >> 5) & 1 == 1,
    )


@internal
def _store_meta(node: address, m: Meta):
    """
    @dev Packs and stores `node`'s meta word. Ranges are checked where the
         fields are set: kinds <= 7, bps <= 10,000 < 2**14, times < 2**40
         (`_time`), slots < 2**16 each, weight < 2**32 (`_sync`), position
         < 65,536 (`node_list`'s bound).
    """
    self.meta[node] = (
        m.kinds
        | (convert(m.jailed, uint256) << 3)
        | (m.live_until << 8)
        | (m.jailed_until << 48)
        | (m.commission_bps << 88)
        | (m.pending_bps << 102)
        | (m.effective_at << 116)
        | (m.slots << 156)
        | (m.weight << 204)
        | (convert(m.commission_owed, uint256) << 236)
        | (convert(m.closed, uint256) << 4)
        | (convert(m.lazy, uint256) << 5)
    )


@internal
@pure
def _pair(low: uint256, high: uint256) -> uint256:
    """
    @dev Two 128-bit amounts in one word.
    """
    assert low <= MASK128 and high <= MASK128, "registry: amount out of range"
    return (high << PAIR_HIGH_SHIFT) | low


@internal
@pure
def _kind_word(acc: uint256, time: uint256, reserve: uint256) -> uint256:
    # acc <= REWARD_ACC_MASK (saturating), time < 2**40 (block times), and the kind's
    # cumulative streamed CLUB below 2**96 wei: 79 times the CLUB cap (10**27), i.e.
    # centuries of node emission (not checked: the bits above 96 would be lost).
    return (reserve << RESERVE_SHIFT) | (time << REWARD_TIME_SHIFT) | acc


@internal
@pure
def _time(timestamp: uint256) -> uint256:
    assert timestamp <= MASK40, "registry: time out of range"
    return timestamp


@internal
@pure
def _slot_shift(kind: uint256) -> uint256:
    # RELAY (1) -> bits 0-15, TURN (2) -> 16-31, NOTIFY (4) -> 32-47 of `slots`.
    return 16 * (kind // 2)


@internal
@pure
def _weight_shift(kind: uint256) -> uint256:
    # RELAY (1) -> W at bits 96-148, TURN (2) -> 149-201, NOTIFY (4) -> 202-254 of `stake_word`.
    return WEIGHT_SHIFT + 53 * (kind // 2)


@internal
@pure
def _kind_bps(stream: uint256, kind: uint256) -> uint256:
    # RELAY (1) -> bits 168-181, TURN (2) -> 182-195, NOTIFY (4) -> 196-209 of `stream_word`.
    return (stream >> (STREAM_BPS_SHIFT + 14 * (kind // 2))) & MASK14


@internal
@pure
def _split(stream: uint256, totals: uint256) -> (uint256, uint256):
    """
    @dev `stream` with its active kinds set to the kinds that have reward weight in
         `totals` and their bps sum; and the total weight (each node counts
         weight * 6 // n in each of its n kinds: 6 * weight in all, exact).
    """
    w: uint256 = 0
    active: uint256 = 0
    shares: uint256 = 0
    # Bound: three known kinds.
    for i: uint256 in range(3):
        w_k: uint256 = (totals >> (WEIGHT_SHIFT + 53 * i)) & MASK53
        if w_k != 0:
            w += w_k
            active |= 1 << i
            shares += self._kind_bps(stream, 1 << i)
    return (stream & ~((2**17 - 1) << STREAM_ACTIVE_SHIFT)) | (active << STREAM_ACTIVE_SHIFT) | (shares << STREAM_SHARES_SHIFT), w // REWARD_UNITS


# INTERNAL: CHECKS AND HELPERS #

@internal
@view
def _registered(node: address) -> Meta:
    m: Meta = self._meta(node)
    assert m.kinds != 0, "registry: not registered"
    return m


@internal
@view
def _slashable(node: address) -> Meta:
    m: Meta = self._meta(node)
    # A deregistered node's pool stays slashable (and jailable) while shares are left in it.
    assert m.kinds != 0 or self.bonded_pool[node] | self.unbonding_pool[node] != 0, "registry: not registered"
    return m


@internal
@view
def _eligible(node: address, m: Meta) -> bool:
    if m.kinds == 0 or m.jailed or block.timestamp > m.live_until:
        return False
    pool: uint256 = self.bonded_pool[node]
    own: uint256 = self._to_assets(self.stakes[node][node] & ACCOUNT_SHARES_MASK, pool & PAIR_LOW_MASK, pool >> PAIR_HIGH_SHIFT)
    return own >= self._required_self_stake(m.kinds)


@internal
@pure
def _cut(assets: uint256, fraction: uint256) -> uint256:
    """
    @dev What a slash of `fraction` takes from a pool of `assets`. Rounds up
         (the penalty is never smaller than asked), except that a partial
         slash leaves a non-empty pool at least 1 wei (short of the asked cut
         by less than 1 wei): a pool worth 0 with shares left cannot mint
         shares any more, so only a 100 % slash, which closes the node, may
         empty it.
    """
    if fraction == WAD:
        return assets
    return min(assets - min(assets, 1), (assets * fraction + WAD - 1) // WAD)


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
    # RELAY, TURN and NOTIFY are bits 0, 1 and 2.
    return (kinds & 1) + ((kinds >> 1) & 1) + ((kinds >> 2) & 1)


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
    # Non-zero, not the operator, not in use, and the key's own consent: it
    # named `node` with `approve_operator` (EndpointRules reverts with the reason).
    in_use: bool = self.key_owner[node_key] != 0
    approved: bool = self.approved_operator[node_key] == node
    assert staticcall ENDPOINT_RULES.check_key(node, node_key, in_use, approved)


@internal
def _set_metadata(region: String[16], metadata_uri: String[MAX_URI_INPUT]) -> String[MAX_URI]:
    """
    @dev Stores the caller's region and metadata URI (<= 256 characters) and returns the URI.
    """
    meta_uri: String[MAX_URI] = staticcall ENDPOINT_RULES.bounded(metadata_uri)
    self.region[msg.sender] = region
    self.metadata_uri[msg.sender] = meta_uri
    return meta_uri


@internal
def _set_endpoint(node: address, kind: uint256, raw: String[MAX_URI_INPUT]):
    # ENDPOINT_RULES reverts with the "registry: ..." reason of a bad URI; the
    # revert data bubbles up unchanged.
    uri: String[MAX_URI] = staticcall ENDPOINT_RULES.check(kind, raw)
    self.endpoints[node][kind] = uri
    log INodeRegistry.EndpointChanged(node=node, kind=kind, uri=uri)


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
    stream_seconds: uint256,
):
    assert min_self_stake_per_kind > 0, "registry: zero minimum"
    assert heartbeat_seconds > 0, "registry: zero heartbeat"
    assert commission_max_bps <= BPS, "registry: commission above 100%"
    # Periods are added to block times that are stored in 40 bits.
    assert stream_seconds > 0, "registry: zero stream period"
    assert max(max(unbonding_seconds, stream_seconds), max(heartbeat_seconds, commission_delay_seconds)) <= MASK32, (
        "registry: period too long"
    )
    self.min_self_stake_per_kind = min_self_stake_per_kind
    self.saturation_multiple = saturation_multiple
    self.unbonding_seconds = unbonding_seconds
    self.heartbeat_seconds = heartbeat_seconds
    self.commission_max_bps = commission_max_bps
    self.commission_max_change_bps = commission_max_change_bps
    self.commission_delay_seconds = commission_delay_seconds
    self.finalize_tip = finalize_tip
    stream: uint256 = self.stream_word
    self.stream_word = (stream & ~(MASK32 << STREAM_PERIOD_SHIFT)) | (stream_seconds << STREAM_PERIOD_SHIFT)
    log INodeRegistry.ParametersChanged(
        min_self_stake_per_kind=min_self_stake_per_kind,
        saturation_multiple=saturation_multiple,
        unbonding_seconds=unbonding_seconds,
        heartbeat_seconds=heartbeat_seconds,
        commission_max_bps=commission_max_bps,
        commission_max_change_bps=commission_max_change_bps,
        commission_delay_seconds=commission_delay_seconds,
        finalize_tip=finalize_tip,
        stream_seconds=stream_seconds,
    )


@internal
def _set_kind_reward_bps(bps: uint256[3]):
    """
    @dev Stores the split (14 bits per kind in the stream word). Each share may
         be 0 (that kind's nodes earn nothing; see `set_kind_reward_bps`).
    """
    # Each share is then <= 10,000 (an overflowing sum reverts too).
    assert bps[0] + bps[1] + bps[2] == BPS, "registry: kind bps sum not 10000"
    # The active kinds are taken from the weights now, with the new shares.
    self.stream_word = self._split(
        (self.stream_word & ~((2**42 - 1) << STREAM_BPS_SHIFT)) | ((bps[0] | (bps[1] << 14) | (bps[2] << 28)) << STREAM_BPS_SHIFT),
        self.stake_word,
    )[0]
    log INodeRegistry.KindRewardSplitChanged(relay_bps=bps[0], turn_bps=bps[1], notify_bps=bps[2])


# INTERNAL: SAMPLING SEED #

@internal
@view
def _sampling_tag() -> uint256:
    """
    @dev The sum-tree tag of the current epoch (writes roll words over to it).
    """
    return sumtree._tag(self._epochs_ended_by(block.timestamp))


@internal
@view
def _epoch_seed(epoch: uint256) -> bytes32:
    """
    @dev The seed of `epoch`: a hash of the seed word and the epoch. When the
         word was recorded in `epoch` it holds randomness nobody knew when the
         epoch's weights were frozen; otherwise this is the public fallback.
    """
    return keccak256(abi_encode(self.seed_word, epoch))


@internal
def _record_seed() -> bool:
    """
    @dev Records the current epoch's seed if it is not recorded yet. Runs in
         the epoch, i.e. after the epoch's weights were frozen (at its start).
    """
    epoch: uint256 = self._epochs_ended_by(block.timestamp)
    word: uint256 = self.seed_word
    if (word & SEED_EPOCH_MASK) == epoch + 1:
        return False
    previous: bytes32 = empty(bytes32)
    if block.number > 0:
        previous = blockhash(block.number - 1)
    fresh: uint256 = convert(keccak256(abi_encode(word, block.prevrandao, previous, epoch)), uint256)
    # epoch + 1 < 2**40: epochs are counted from 40-bit times.
    word = ((fresh >> SEED_EPOCH_BITS) << SEED_EPOCH_BITS) | self._time(epoch + 1)
    self.seed_word = word
    log INodeRegistry.EpochSeedRecorded(epoch=epoch, caller=msg.sender, seed=keccak256(abi_encode(word, epoch)))
    return True
