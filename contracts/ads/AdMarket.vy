# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Ad market: campaign escrow, user-signed cumulative receipts, the
       settlement split, and paid message requests
@custom:contract-name AdMarket
@license GNU Affero General Public License v3.0 only
@notice Campaigns. An advertiser escrows a CLUB `budget` with a `price` per
        confirmed notification, a creative (content hash + URI, the URI only in
        the event), a bounded list of target communities (empty = every
        opted-in user), a window [start, end], a per-user cap on paid views
        and optional gates (a minimum Premium tier, a minimum registry stake).
        The advertiser may pause and resume (a signal to NOTIFY nodes to stop
        and restart delivery; settlement is not affected, so a pause cannot be
        used to withhold pay for views already delivered) and cancel.
        Whatever is not spent comes back with `refund` once `end + grace` has
        passed, `grace` being the settlement grace in force when the campaign
        was created. `spent` can never exceed `budget`: a receipt whose views
        do not fit in what is left is skipped, not paid in part.

        Cancel. `cancel` moves the campaign's `end` to the cancel time. The
        settlement window is [start, end + grace] for every campaign, so a
        cancelled campaign's receipts settle during the grace period after
        the cancel exactly like a finished campaign's after its end, and the
        refund follows. Receipts carry no time (the EIP-712 type is the fixed
        `Receipt(uint256 campaign,address user,address node,uint256 count)`),
        so "settle only up to the cancel time" means: nodes stop delivering
        when they see `CampaignCancelled` (or `end`), and a receipt the user
        signs for views after that is indistinguishable on chain from a
        receipt for views that never happened; both are bounded by the
        per-user cap and the remaining budget, like any fraud by a user and a
        node together.

        Receipts. A user signs cumulative, monotonic receipts `(campaign, user,
        node, count)`: the number of the campaign's notifications the user has
        seen through `node`, like a payment-channel balance. Settlement pays
        `count - settled(campaign, user, node)` views at `price`, so one
        storage update per (campaign, user) settles any number of views and
        costs the same for 1 or 1,000,000 views. A receipt that is not above
        what was settled (replayed or lowered) is skipped; the cap applies to
        the user's total over all nodes. Signatures are EIP-712 (snekmate's
        domain separator, so a receipt is bound to this chain and contract)
        and EIP-1271 for contract wallets (snekmate's signature_checker).

        Settlement. `settle` takes up to 100 receipts delivered by one NOTIFY
        node and is sent by the node's operator or its hot key. A bad receipt
        is skipped with `ReceiptSkipped(reason)` and the batch goes on; the
        batch ends with one `BatchSettled` (a settled receipt has no event of
        its own: it would cost about 2,000 gas per receipt, and what it would
        say is the batch minus its skipped receipts, in state as
        `settled(campaign, user, node)`). A batch reads and unpacks a
        campaign's three words once per run of consecutive receipts of that
        campaign and stores its `spent` once when the run ends, and adds a
        community's share up over a run of receipts it qualified (nodes
        that sort a batch by campaign and community pay least). Each
        receipt's amount is split: `user_bps` to the user, `node_bps` to the
        node's operator (the registry's node address), `community_bps` to
        the community that qualified the user (named by the batch, checked
        with `Communities.is_qualified_member` at settlement; paid to the
        address that community's owner set, held unclaimed until one is
        set) and the rest
        (`burn_bps` plus rounding dust) burned. An untargeted campaign has
        no qualifying community: its community share is burned too.
        Earnings accrue to internal balances; `withdraw` pays one transfer.
        Burns accumulate in `burn_pending` and anyone calls `burn`.

        Sybil gates, in layers: a targeted campaign pays only members of one
        of its communities, checked at settlement with
        `Communities.is_qualified_member`: a member now and, in a TOKEN_GATE
        community, still meeting the community's gate (CLUB balance, stake
        delegated to a node, Premium tier) now, not only when it joined. A
        member below the gate is skipped ("ads: community gate not met"; a
        non-member "ads: not a member"). What this stops: an honest NOTIFY
        node settles its users' receipts together, at a time the farmer
        neither chooses nor knows, so one gate balance passed from account
        to account is paid only for the account holding it then: k fake
        accounts need k gates held at once over the settlement horizon.
        What it does not stop: a farmer whose own (colluding) node settles
        can settle one account per batch and move the balance on between
        batches, paying a batch of one per receipt (about 116k gas for a
        gated receipt settled before, against about 25k each in a batch of
        100; bench/results/ads_gas.md) and no capital; nor a farmer who sees
        a pending batch holding one of its accounts only and moves the
        balance to it first. The per-user cap bounds
        what one account earns; a campaign may require a Premium tier and/or
        a minimum registry stake (`assets_of(stake_node, user)`, the batch
        names the node the user stakes with; stake is locked for the
        unbonding period, so one stake cannot qualify many accounts quickly);
        the node must be a registered NOTIFY node, whose stake is what a
        dispute about forged receipts can slash (`ReceiptSkipped` events are
        the evidence). None of this stops a farmer who pays the gates.

        Paid message requests. A user sets `request_price` for first messages
        from strangers (deciding who is a stranger is the relay's job). A
        stranger escrows that price with `send_request` (one pending request
        per sender and recipient); the recipient accepts (earns it minus
        `request_burn_bps`, burned) or declines (refunded at once) before the
        request expires, after which only the sender can reclaim it.

        Parameters (split, settlement grace, request burn and timeout) are set
        by PARAMETER_ROLE, held by the Timelock.
@custom:security Reentrancy: contract-wide lock (`pragma nonreentrancy on`);
        every token transfer happens after the state change it pays for.
        The settlement caller chooses which of a user's qualifying target
        communities is credited and which node's stake counts for the stake
        gate; both are verified, only the choice among valid ones is free.
        EIP-1271 answers can change over time: a contract wallet decides
        validity at settlement. The ECDSA path is checked here without
        snekmate's `ecdsa` (whose asserts would revert the whole batch on one
        malformed signature) with the same rules: v in {27, 28},
        s in the lower half of the curve order, non-zero signer. ECDSA is
        tried before EIP-1271 (OpenZeppelin's order), so an account with
        code that also has a key (EIP-7702) is accepted with its key.
        Community ids are non-zero (0 marks "untargeted" internally).
        The (campaign, user) word is keyed by `campaign << 160 | user`:
        campaign ids are counted from 1 and stay far below 2**96, and the
        views answer 0 for an id never created (a larger id would alias).
        Amounts are packed in 96-bit fields: the CLUB cap (1e27 wei) is
        below 2**96.
"""

from interfaces import IClubToken
from interfaces import IAdMarket

implements: IAdMarket

from ethereum.ercs import IERC165

implements: IERC165

from snekmate.auth.interfaces import IAccessControl

implements: IAccessControl

from snekmate.auth import access_control

initializes: access_control

from snekmate.utils import eip712_domain_separator as eip712

initializes: eip712

from snekmate.utils import message_hash_utils
from snekmate.utils import signature_checker

initializes: signature_checker

# @dev Role management and ERC-165 (`grantRole`, `revokeRole`, `renounceRole`,
# `hasRole`, `getRoleAdmin`, `set_role_admin`, `DEFAULT_ADMIN_ROLE`,
# `supportsInterface`), and EIP-5267 `eip712Domain`.
exports: (access_control.__interface__, eip712.eip712Domain)


# INTERFACES #
# What AdMarket calls on the Communities, Premium and NodeRegistry contracts.


interface Communities:
    def is_member(community_id: uint256, account: address) -> bool: view
    def is_qualified_member(community_id: uint256, account: address) -> bool: view
    def owner_of(community_id: uint256) -> address: view


interface Premium:
    def tier_of(account: address) -> uint256: view


interface Registry:
    # The node's packed words: meta (kinds in bits 0-2), key word (node key in bits 0-159), ...
    def node_words(node: address, account: address) -> (uint256, uint256, uint256, uint256, uint256, uint256, uint256): view
    def assets_of(node: address, account: address) -> uint256: view


# CONSTANTS #

# @dev Role allowed to change the market parameters (handed to the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")

# @dev EIP-712 type of a user's receipt.
RECEIPT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Receipt(uint256 campaign,address user,address node,uint256 count)"
)

# @dev Basis points: the four split shares sum to exactly this.
BPS: constant(uint256) = 10_000
# @dev NodeRegistry kind flag of a notification node.
NOTIFY: constant(uint256) = 4
# @dev Most target communities per campaign (bounds the storage written at creation).
MAX_TARGETS: public(constant(uint256)) = 16
# @dev Most receipts per `settle` call (bounds its loop).
MAX_BATCH: public(constant(uint256)) = 100
# @dev Largest per-user cap: paid views are counted in 48-bit fields.
MAX_PER_USER_CAP: constant(uint256) = 2**48 - 1
# @dev Largest amount in a 96-bit field (the CLUB cap, 1e27 wei, is below it).
MAX_AMOUNT: constant(uint256) = 2**96 - 1
# @dev Longest campaign: one year.
MAX_DURATION: constant(uint256) = 365 * 86_400
# @dev Bounds of the settlement grace and the request timeout: [1 hour, 90 days].
MIN_WINDOW: constant(uint256) = 3_600
MAX_WINDOW: constant(uint256) = 90 * 86_400
# @dev Highest burn of an accepted paid request.
MAX_REQUEST_BURN_BPS: constant(uint256) = 5_000
# @dev secp256k1n / 2: a larger `s` is the malleable twin (EIP-2).
MALLEABILITY_THRESHOLD: constant(uint256) = (
    57896044618658097711785492504343953926418782139537452191302581570759080747168
)

# @dev Why a receipt was skipped (codes; `_reason` gives the event's text).
SKIP_WRONG_NODE: constant(uint256) = 1
SKIP_UNKNOWN_CAMPAIGN: constant(uint256) = 2
SKIP_NOT_STARTED: constant(uint256) = 3
SKIP_CLOSED: constant(uint256) = 4
SKIP_OVER_CAP: constant(uint256) = 5
SKIP_REPLAYED: constant(uint256) = 6
SKIP_BUDGET: constant(uint256) = 7
SKIP_SIGNATURE: constant(uint256) = 8
SKIP_TARGET: constant(uint256) = 9
SKIP_NOT_MEMBER: constant(uint256) = 10
SKIP_TIER: constant(uint256) = 11
SKIP_STAKE: constant(uint256) = 12
SKIP_GATE: constant(uint256) = 13

# @dev Campaign flags (bits 240-247 of word 0).
PAUSED: constant(uint256) = 1
CANCELLED: constant(uint256) = 2
REFUNDED: constant(uint256) = 4

MASK40: constant(uint256) = 2**40 - 1
MASK48: constant(uint256) = 2**48 - 1
MASK64: constant(uint256) = 2**64 - 1
MASK96: constant(uint256) = 2**96 - 1
MASK160: constant(uint256) = 2**160 - 1


# IMMUTABLES #

# @dev The CLUB token escrowed, paid and burned.
TOKEN: public(immutable(address))
# @dev NodeRegistry: NOTIFY kind, hot keys, stake for the stake gate.
REGISTRY: public(immutable(address))
# @dev Communities: membership at settlement, owners set payout addresses.
COMMUNITIES: public(immutable(address))
# @dev Premium: tier gate.
PREMIUM: public(immutable(address))


# STRUCTS #

# @dev One receipt in a settlement batch: the signed fields, the signature as v, r, s
# (an EIP-1271 wallet receives them as the 65 bytes r || s || v), the index of the
# target community that qualified the user (ignored for untargeted campaigns) and the
# registry node the user stakes with (ignored without a stake gate). All fields are
# static, so a batch decodes without per-receipt offsets.
struct Settlement:
    campaign: uint256
    user: address
    node: address
    count: uint256
    v: uint8
    r: bytes32
    s: bytes32
    target: uint256
    stake_node: address


# STORAGE #

# @dev Id the next campaign gets (campaign ids are 1, 2, ...); starts at 1 in the
# constructor so that the first campaign updates a non-zero word (2,900 gas, not 20,000).
_next_id: uint256
# @dev Campaign word 0: advertiser (bits 0-159) | start (160-199) | end (200-239, moved
# to the cancel time by `cancel`) | flags (240-247) | number of targets (248-255).
_w0: HashMap[uint256, uint256]
# @dev Campaign word 1: budget wei (0-95) | spent wei (96-191) | per-user cap, views (192-255).
_w1: HashMap[uint256, uint256]
# @dev Campaign word 2: price wei per view (0-95) | min stake wei (96-191) | min Premium
# tier (192-207) | settlement grace seconds, fixed at creation (208-247).
_w2: HashMap[uint256, uint256]
# @dev Target community ids of a campaign, by index.
_targets: HashMap[uint256, HashMap[uint256, uint256]]
# @dev Per (campaign, user), keyed by `campaign << 160 | user` (one hash per access, not
# two as in a nested map; campaign ids stay far below 2**96, and the views answer 0 for an
# id that was never created): first settling node (0-159) | views settled through it
# (160-207) | views settled through all nodes (208-255).
_settled: HashMap[uint256, uint256]
# @dev Per (campaign, user, node) views settled through a node other than the first one.
_settled_other: HashMap[uint256, HashMap[address, HashMap[address, uint256]]]

# @dev Withdrawable earnings (users, node operators, community payout addresses), wei.
balances: public(HashMap[address, uint256])
# @dev Address a community's owner set to receive its share (0 = not set yet).
community_payout: public(HashMap[uint256, address])
# @dev A community's share earned before it set a payout address, wei.
community_unclaimed: public(HashMap[uint256, uint256])
# @dev Wei owed to the burn, burned by `burn`.
burn_pending: public(uint256)

# @dev A user's price (wei) for a first message request from a stranger; 0 = not taking any.
request_price: public(HashMap[address, uint256])
# @dev Pending request sender -> recipient: amount wei (0-95) | expiry time (96-135).
_requests: HashMap[address, HashMap[address, uint256]]

# @dev Settlement split in bps (sum 10,000): user, node operator, community, burn.
user_bps: public(uint256)
node_bps: public(uint256)
community_bps: public(uint256)
burn_bps: public(uint256)
# @dev Seconds after a campaign's end during which receipts still settle (new campaigns).
settlement_grace_seconds: public(uint256)
# @dev Share of an accepted paid request that is burned, bps.
request_burn_bps: public(uint256)
# @dev Seconds a paid request stays open for the recipient before the sender may reclaim it.
request_timeout_seconds: public(uint256)


# EVENTS #
# Declared once, in interfaces/IAdMarket.vyi, and logged as `log IAdMarket.<Event>(...)`.


@deploy
def __init__(
    token_: address,
    registry_: address,
    communities_: address,
    premium_: address,
    eip712_name: String[50],
    eip712_version: String[20],
    split_bps: uint256[4],
    settlement_grace_seconds_: uint256,
    request_burn_bps_: uint256,
    request_timeout_seconds_: uint256,
):
    """
    @param token_ The CLUB token.
    @param registry_ NodeRegistry.
    @param communities_ Communities.
    @param premium_ Premium.
    @param eip712_name EIP-712 domain name of receipts ("AdMarket").
    @param eip712_version EIP-712 domain version ("1").
    @param split_bps user, node, community, burn shares in bps (sum 10,000).
    @param settlement_grace_seconds_ Grace after a campaign's end, [1 hour, 90 days].
    @param request_burn_bps_ Burn of an accepted paid request, at most 5,000 bps.
    @param request_timeout_seconds_ Paid request lifetime, [1 hour, 90 days].
    """
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    eip712.__init__(eip712_name, eip712_version)
    signature_checker.__init__()
    assert token_ != empty(address), "ads: zero token"
    assert registry_ != empty(address), "ads: zero registry"
    assert communities_ != empty(address), "ads: zero communities"
    assert premium_ != empty(address), "ads: zero premium"
    TOKEN = token_
    REGISTRY = registry_
    COMMUNITIES = communities_
    PREMIUM = premium_
    self._set_parameters(split_bps, settlement_grace_seconds_, request_burn_bps_, request_timeout_seconds_)
    self._next_id = 1


# CAMPAIGNS #


@external
def create_campaign(
    budget: uint256,
    price: uint256,
    per_user_cap: uint256,
    start: uint256,
    end: uint256,
    creative_hash: bytes32,
    creative_uri: String[256],
    targets: DynArray[uint256, MAX_TARGETS],
    min_tier: uint256,
    min_stake: uint256,
) -> uint256:
    """
    @notice Escrow `budget` CLUB (approve this contract first) for a campaign.
    @param budget Wei escrowed; at least one view's price.
    @param price Wei paid per confirmed view.
    @param per_user_cap Most views paid per user (over all nodes).
    @param start Unix seconds; delivery and settlement start then.
    @param end Unix seconds, after `start` and now, at most one year after `start`.
    @param creative_hash Hash of the creative's content (clients check it).
    @param creative_uri Where the creative is fetched (only in the event).
    @param targets Target community ids, non-zero (at most 16; empty = all opted-in users).
    @param min_tier Minimum Premium tier of a paid user (0 = no gate).
    @param min_stake Minimum registry stake of a paid user, wei (0 = no gate).
    @return The new campaign id.
    """
    assert price != 0, "ads: zero price"
    assert budget >= price, "ads: budget below one view"
    assert budget <= MAX_AMOUNT and min_stake <= MAX_AMOUNT, "ads: amount too large"
    assert per_user_cap != 0 and per_user_cap <= MAX_PER_USER_CAP, "ads: bad per-user cap"
    assert end > start and end > block.timestamp, "ads: bad window"
    assert end - start <= MAX_DURATION and end <= MASK40, "ads: campaign too long"
    assert creative_hash != empty(bytes32), "ads: empty creative hash"
    assert min_tier <= 65_535, "ads: tier too large"

    cid: uint256 = self._next_id
    self._next_id = cid + 1
    n: uint256 = len(targets)
    self._w0[cid] = convert(msg.sender, uint256) | (start << 160) | (end << 200) | (n << 248)
    self._w1[cid] = budget | (per_user_cap << 192)
    self._w2[cid] = price | (min_stake << 96) | (min_tier << 192) | (self.settlement_grace_seconds << 208)
    # Bounded by MAX_TARGETS.
    for i: uint256 in range(n, bound=MAX_TARGETS):
        assert targets[i] != 0, "ads: zero community id"
        self._targets[cid][i] = targets[i]

    assert extcall IClubToken(TOKEN).transferFrom(msg.sender, self, budget), "ads: transfer failed"
    log IAdMarket.CampaignCreated(
        campaign=cid,
        advertiser=msg.sender,
        budget=budget,
        price=price,
        per_user_cap=per_user_cap,
        start=start,
        end=end,
        creative_hash=creative_hash,
        creative_uri=creative_uri,
        targets=targets,
        min_tier=min_tier,
        min_stake=min_stake,
    )
    return cid


@external
def pause(campaign: uint256):
    """
    @notice Ask NOTIFY nodes to stop delivering (settlement of earlier views goes on).
    @param campaign Campaign id; only its advertiser, while it runs and is not paused.
    """
    w0: uint256 = self._live(campaign)
    assert (w0 >> 240) & PAUSED == 0, "ads: already paused"
    self._w0[campaign] = w0 | (PAUSED << 240)
    log IAdMarket.CampaignPaused(campaign=campaign)


@external
def resume(campaign: uint256):
    """
    @notice Let NOTIFY nodes deliver again after a pause.
    @param campaign Campaign id; only its advertiser, while it runs and is paused.
    """
    w0: uint256 = self._live(campaign)
    assert (w0 >> 240) & PAUSED != 0, "ads: not paused"
    self._w0[campaign] = w0 & ~(PAUSED << 240)
    log IAdMarket.CampaignResumed(campaign=campaign)


@external
def cancel(campaign: uint256):
    """
    @notice End the campaign now: `end` becomes the cancel time, receipts settle until
            then + grace, and the rest is refundable after that.
    @param campaign Campaign id; only its advertiser, before its end.
    """
    w0: uint256 = self._live(campaign)
    cut: uint256 = w0 & ~(MASK40 << 200)
    self._w0[campaign] = cut | (block.timestamp << 200) | (CANCELLED << 240)
    log IAdMarket.CampaignCancelled(campaign=campaign, at=block.timestamp)


@external
def refund(campaign: uint256) -> uint256:
    """
    @notice Return the unspent budget to the advertiser once settlement has closed.
    @param campaign Campaign id; only its advertiser, once, after end + grace.
    @return Wei refunded.
    """
    w0: uint256 = self._w0[campaign]
    assert w0 != 0, "ads: unknown campaign"
    assert convert(w0 & MASK160, address) == msg.sender, "ads: not the advertiser"
    assert (w0 >> 240) & REFUNDED == 0, "ads: already refunded"
    grace: uint256 = (self._w2[campaign] >> 208) & MASK40
    assert block.timestamp > ((w0 >> 200) & MASK40) + grace, "ads: settlement still open"
    w1: uint256 = self._w1[campaign]
    amount: uint256 = (w1 & MASK96) - ((w1 >> 96) & MASK96)
    self._w0[campaign] = w0 | (REFUNDED << 240)
    if amount != 0:
        assert extcall IClubToken(TOKEN).transfer(msg.sender, amount), "ads: transfer failed"
    log IAdMarket.CampaignRefunded(campaign=campaign, amount=amount)
    return amount


# SETTLEMENT #


@external
def settle(node: address, batch: DynArray[Settlement, MAX_BATCH]) -> uint256:
    """
    @notice Settle up to 100 receipts delivered by `node`; bad ones are skipped with
            `ReceiptSkipped` and do not revert the batch.
    @param node The delivering NOTIFY node (its registry address, i.e. its operator).
    @param batch The receipts, their signatures and qualification hints.
    @return Wei spent from campaign budgets by this batch.
    """
    # NodeRegistry's meta word (kinds in bits 0-2) and key word (node key in bits 0-159).
    w: uint256[7] = empty(uint256[7])
    w[0], w[1], w[2], w[3], w[4], w[5], w[6] = staticcall Registry(REGISTRY).node_words(node, node)
    assert w[0] & NOTIFY != 0, "ads: not a NOTIFY node"
    assert msg.sender == node or msg.sender == convert(w[1] & (2**160 - 1), address), "ads: not the node or its key"

    split_user: uint256 = self.user_bps
    split_node: uint256 = self.node_bps
    split_community: uint256 = self.community_bps
    # snekmate's domain separator, once per batch (`receipt_digest` hashes the same way).
    domain: bytes32 = eip712._domain_separator_v4()
    to_node: uint256 = 0
    to_burn: uint256 = 0
    total: uint256 = 0
    # A batch is usually one campaign's receipts, so a campaign's words are read and
    # unpacked once per run of receipts of one campaign, and its `spent` is kept here and
    # stored once when the run ends (`charged`). Campaign ids start at 1: 0 = no run yet.
    campaign: uint256 = 0
    # What skips every receipt of the run (unknown, not started, closed); campaign 0 is unknown.
    run_skip: uint256 = SKIP_UNKNOWN_CAMPAIGN
    w1: uint256 = 0
    cap: uint256 = 0
    price: uint256 = 0
    budget: uint256 = 0
    spent: uint256 = 0
    n_targets: uint256 = 0
    min_tier: uint256 = 0
    min_stake: uint256 = 0
    charged: bool = False
    # The run's last looked-up target (index, community id); MAX_TARGETS = none yet.
    target_index: uint256 = MAX_TARGETS
    target_community: uint256 = 0
    # The community share of the last run of receipts qualified by one community, credited
    # once when the community changes and at the end (`_credit_community`).
    paid_community: uint256 = 0
    paid_community_part: uint256 = 0
    # Bounded by MAX_BATCH.
    for s: Settlement in batch:
        if s.campaign != campaign:
            if charged:
                self._w1[campaign] = (w1 & ~(MASK96 << 96)) | (spent << 96)
                charged = False
            campaign = s.campaign
            w0: uint256 = self._w0[campaign]
            w1 = self._w1[campaign]
            w2: uint256 = self._w2[campaign]
            run_skip = 0
            if w0 == 0:
                run_skip = SKIP_UNKNOWN_CAMPAIGN
            elif block.timestamp < (w0 >> 160) & MASK40:
                run_skip = SKIP_NOT_STARTED
            elif block.timestamp > ((w0 >> 200) & MASK40) + ((w2 >> 208) & MASK40):
                run_skip = SKIP_CLOSED
            cap = w1 >> 192
            budget = w1 & MASK96
            spent = (w1 >> 96) & MASK96
            price = w2 & MASK96
            min_stake = (w2 >> 96) & MASK96
            min_tier = (w2 >> 192) & 65_535
            n_targets = w0 >> 248
            target_index = MAX_TARGETS

        if s.node != node:
            self._skipped(s, SKIP_WRONG_NODE)
            continue
        if run_skip != 0:
            self._skipped(s, run_skip)
            continue
        if s.count > cap:
            self._skipped(s, SKIP_OVER_CAP)
            continue

        # Views already settled for (campaign, user, node) and for the user in total.
        # The (campaign, user) word's key: campaign ids are below 2**96 (see `_settled`).
        key: uint256 = (campaign << 160) | convert(s.user, uint256)
        ws: uint256 = self._settled[key]
        first: address = convert(ws & MASK160, address)
        is_first: bool = first == empty(address) or first == node
        before: uint256 = 0
        if is_first:
            before = (ws >> 160) & MASK48
        else:
            before = self._settled_other[campaign][s.user][node]
        if s.count <= before:
            self._skipped(s, SKIP_REPLAYED)
            continue
        # Unchecked: before < count <= cap < 2**48, so views and the user's total
        # (at most cap + views) fit, and views * price < 2**48 * 2**96.
        views: uint256 = unsafe_sub(s.count, before)
        settled_total: uint256 = unsafe_add(ws >> 208, views)
        if settled_total > cap:
            self._skipped(s, SKIP_OVER_CAP)
            continue
        amount: uint256 = unsafe_mul(views, price)
        if unsafe_add(spent, amount) > budget:
            self._skipped(s, SKIP_BUDGET)
            continue

        digest: bytes32 = message_hash_utils._to_typed_data_hash(
            domain, keccak256(abi_encode(RECEIPT_TYPEHASH, campaign, s.user, node, s.count))
        )
        # ECDSA first (snekmate's rules: non-zero signer, low s, v in {27, 28}, answering
        # instead of reverting), then EIP-1271 (`_wallet_signed`).
        if not (
            s.user != empty(address)
            and convert(s.s, uint256) <= MALLEABILITY_THRESHOLD
            and (s.v == 27 or s.v == 28)
            and ecrecover(digest, s.v, s.r, s.s) == s.user
        ) and not self._wallet_signed(s.user, digest, s.v, s.r, s.s):
            self._skipped(s, SKIP_SIGNATURE)
            continue

        community: uint256 = 0
        if n_targets != 0:
            if s.target >= n_targets:
                self._skipped(s, SKIP_TARGET)
                continue
            if s.target != target_index:
                target_index = s.target
                target_community = self._targets[campaign][s.target]
            community = target_community
            if not staticcall Communities(COMMUNITIES).is_qualified_member(community, s.user):
                # A second call on the skip path only, to say which check failed.
                if staticcall Communities(COMMUNITIES).is_member(community, s.user):
                    self._skipped(s, SKIP_GATE)
                else:
                    self._skipped(s, SKIP_NOT_MEMBER)
                continue
        if min_tier != 0 and staticcall Premium(PREMIUM).tier_of(s.user) < min_tier:
            self._skipped(s, SKIP_TIER)
            continue
        if min_stake != 0 and staticcall Registry(REGISTRY).assets_of(s.stake_node, s.user) < min_stake:
            self._skipped(s, SKIP_STAKE)
            continue

        # The receipt is good: record it and charge the campaign (stored when the run ends).
        if is_first:
            self._settled[key] = convert(node, uint256) | (s.count << 160) | (settled_total << 208)
        else:
            self._settled_other[campaign][s.user][node] = s.count
            self._settled[key] = (ws & ~(MASK48 << 208)) | (settled_total << 208)
        spent = unsafe_add(spent, amount)
        charged = True

        # Shares round down; the dust goes to the burn, so the parts sum to `amount`.
        # Unchecked: amount <= budget < 2**96 and each share is at most BPS, so nothing
        # overflows, and the three shares sum to at most `amount`.
        user_part: uint256 = unsafe_div(unsafe_mul(amount, split_user), BPS)
        node_part: uint256 = unsafe_div(unsafe_mul(amount, split_node), BPS)
        community_part: uint256 = unsafe_div(unsafe_mul(amount, split_community), BPS)
        self.balances[s.user] += user_part
        to_node = unsafe_add(to_node, node_part)
        burn_part: uint256 = unsafe_sub(unsafe_sub(unsafe_sub(amount, user_part), node_part), community_part)
        if community == 0:
            burn_part = unsafe_add(burn_part, community_part)
        else:
            if community != paid_community:
                self._credit_community(paid_community, paid_community_part)
                paid_community = community
                paid_community_part = 0
            paid_community_part = unsafe_add(paid_community_part, community_part)
        # Unchecked: a batch charges at most 100 amounts below 2**96 each.
        to_burn = unsafe_add(to_burn, burn_part)
        total = unsafe_add(total, amount)

    if charged:
        self._w1[campaign] = (w1 & ~(MASK96 << 96)) | (spent << 96)
    self._credit_community(paid_community, paid_community_part)
    if to_node != 0:
        self.balances[node] += to_node
    if to_burn != 0:
        self.burn_pending += to_burn
    log IAdMarket.BatchSettled(node=node, sender=msg.sender, receipts=len(batch), amount=total)
    return total


@internal
def _skipped(s: Settlement, skip: uint256):
    """
    @dev Logs why a receipt of the batch was not settled.
    """
    log IAdMarket.ReceiptSkipped(campaign=s.campaign, user=s.user, node=s.node, count=s.count, reason=self._reason(skip))


@internal
def _credit_community(community: uint256, amount: uint256):
    """
    @dev Credits a community's share: to the payout address its owner set, or held
         unclaimed until one is set. Community 0 (none) and 0 wei write nothing.
    """
    if community == 0 or amount == 0:
        return
    payout: address = self.community_payout[community]
    if payout == empty(address):
        self.community_unclaimed[community] += amount
    else:
        self.balances[payout] += amount


@internal
@pure
def _reason(skip: uint256) -> String[40]:
    """
    @dev The `ReceiptSkipped` reason of a skip code (only on the skip path).
    """
    if skip == SKIP_WRONG_NODE:
        return "ads: wrong node"
    if skip == SKIP_UNKNOWN_CAMPAIGN:
        return "ads: unknown campaign"
    if skip == SKIP_NOT_STARTED:
        return "ads: campaign not started"
    if skip == SKIP_CLOSED:
        return "ads: settlement closed"
    if skip == SKIP_OVER_CAP:
        return "ads: over the per-user cap"
    if skip == SKIP_REPLAYED:
        return "ads: replayed or lowered"
    if skip == SKIP_BUDGET:
        return "ads: budget exhausted"
    if skip == SKIP_SIGNATURE:
        return "ads: bad signature"
    if skip == SKIP_TARGET:
        return "ads: bad target"
    if skip == SKIP_NOT_MEMBER:
        return "ads: not a member"
    if skip == SKIP_TIER:
        return "ads: premium tier too low"
    if skip == SKIP_GATE:
        return "ads: community gate not met"
    return "ads: stake too low"


@internal
@view
def _wallet_signed(signer: address, digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> bool:
    """
    @dev A receipt whose ECDSA check failed: valid only if `signer` is a contract wallet whose
         EIP-1271 `isValidSignature` accepts it (snekmate's checker, which never reverts), the
         signature as r || s || v. ECDSA is tried first (OpenZeppelin's SignatureChecker
         order): an EOA's receipt never pays the cold EXTCODESIZE of `signer.is_contract`, and
         nobody holds a key for a contract's address.
    """
    if signer.is_contract:
        return signature_checker._is_valid_ERC1271_signature_now(signer, digest, concat(r, s, convert(v, bytes1)))
    return False


# BALANCES #


@external
def withdraw() -> uint256:
    """
    @notice Pay the caller's whole earned balance in one transfer.
    @return Wei paid.
    """
    amount: uint256 = self.balances[msg.sender]
    assert amount != 0, "ads: nothing to withdraw"
    self.balances[msg.sender] = 0
    assert extcall IClubToken(TOKEN).transfer(msg.sender, amount), "ads: transfer failed"
    log IAdMarket.Withdrawn(account=msg.sender, amount=amount)
    return amount


@external
def burn() -> uint256:
    """
    @notice Burn the CLUB owed to the burn (anyone may call).
    @return Wei burned.
    """
    amount: uint256 = self.burn_pending
    assert amount != 0, "ads: nothing to burn"
    self.burn_pending = 0
    extcall IClubToken(TOKEN).burn(amount)
    log IAdMarket.Burned(caller=msg.sender, amount=amount)
    return amount


@external
def set_community_payout(community_id: uint256, payout: address):
    """
    @notice Set where a community's share goes; moves what it earned so far there.
    @param community_id The community; only its owner (Communities.owner_of).
    @param payout Non-zero receiving address.
    """
    assert staticcall Communities(COMMUNITIES).owner_of(community_id) == msg.sender, "ads: not the community owner"
    assert payout != empty(address), "ads: zero payout"
    self.community_payout[community_id] = payout
    unclaimed: uint256 = self.community_unclaimed[community_id]
    if unclaimed != 0:
        self.community_unclaimed[community_id] = 0
        self.balances[payout] += unclaimed
    log IAdMarket.CommunityPayoutSet(community_id=community_id, payout=payout, moved=unclaimed)


# PAID MESSAGE REQUESTS #


@external
def set_request_price(price: uint256):
    """
    @notice Set the caller's price for a first message from a stranger (0 = none taken).
    @param price Wei.
    """
    assert price <= MAX_AMOUNT, "ads: amount too large"
    self.request_price[msg.sender] = price
    log IAdMarket.RequestPriceSet(account=msg.sender, price=price)


@external
def send_request(recipient: address, max_price: uint256) -> uint256:
    """
    @notice Escrow `recipient`'s request price so its relay delivers a first message.
    @param recipient Who is asked.
    @param max_price Most the caller pays (a price raised in the meantime reverts).
    @return Wei escrowed.
    """
    price: uint256 = self.request_price[recipient]
    assert price != 0, "ads: recipient takes no paid requests"
    assert price <= max_price, "ads: price above max_price"
    assert recipient != msg.sender, "ads: request to self"
    assert self._requests[msg.sender][recipient] == 0, "ads: request already pending"
    expires: uint256 = block.timestamp + self.request_timeout_seconds
    self._requests[msg.sender][recipient] = price | (expires << 96)
    assert extcall IClubToken(TOKEN).transferFrom(msg.sender, self, price), "ads: transfer failed"
    log IAdMarket.RequestSent(sender=msg.sender, recipient=recipient, amount=price, expires=expires)
    return price


@external
def accept_request(sender: address) -> uint256:
    """
    @notice Accept `sender`'s pending request before it expires: earn it minus the burn.
    @param sender Who sent it.
    @return Wei credited to the caller's balance.
    """
    word: uint256 = self._requests[sender][msg.sender]
    assert word != 0, "ads: no pending request"
    assert block.timestamp < word >> 96, "ads: request expired"
    amount: uint256 = word & MASK96
    # Rounds down: the burn never takes more than its share.
    burned: uint256 = amount * self.request_burn_bps // BPS
    self._requests[sender][msg.sender] = 0
    self.balances[msg.sender] += amount - burned
    self.burn_pending += burned
    log IAdMarket.RequestAccepted(sender=sender, recipient=msg.sender, amount=amount, burned=burned)
    return amount - burned


@external
def decline_request(sender: address) -> uint256:
    """
    @notice Decline `sender`'s pending request: it gets its escrow back now.
    @param sender Who sent it.
    @return Wei returned.
    """
    word: uint256 = self._requests[sender][msg.sender]
    assert word != 0, "ads: no pending request"
    amount: uint256 = word & MASK96
    self._requests[sender][msg.sender] = 0
    assert extcall IClubToken(TOKEN).transfer(sender, amount), "ads: transfer failed"
    log IAdMarket.RequestRefunded(sender=sender, recipient=msg.sender, amount=amount)
    return amount


@external
def reclaim_request(recipient: address) -> uint256:
    """
    @notice Take back an expired request the recipient ignored.
    @param recipient Who was asked.
    @return Wei returned.
    """
    word: uint256 = self._requests[msg.sender][recipient]
    assert word != 0, "ads: no pending request"
    assert block.timestamp >= word >> 96, "ads: request not expired"
    amount: uint256 = word & MASK96
    self._requests[msg.sender][recipient] = 0
    assert extcall IClubToken(TOKEN).transfer(msg.sender, amount), "ads: transfer failed"
    log IAdMarket.RequestRefunded(sender=msg.sender, recipient=recipient, amount=amount)
    return amount


# PARAMETERS #


@external
def set_parameters(
    split_bps: uint256[4],
    settlement_grace_seconds_: uint256,
    request_burn_bps_: uint256,
    request_timeout_seconds_: uint256,
):
    """
    @notice Change the split (applies to every later settlement), the grace of new
            campaigns, the request burn and the timeout of new requests.
            Only PARAMETER_ROLE (the Timelock).
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._set_parameters(split_bps, settlement_grace_seconds_, request_burn_bps_, request_timeout_seconds_)


@internal
def _set_parameters(
    split_bps: uint256[4],
    settlement_grace_seconds_: uint256,
    request_burn_bps_: uint256,
    request_timeout_seconds_: uint256,
):
    assert split_bps[0] + split_bps[1] + split_bps[2] + split_bps[3] == BPS, "ads: split must sum to 10000"
    assert settlement_grace_seconds_ >= MIN_WINDOW and settlement_grace_seconds_ <= MAX_WINDOW, "ads: bad grace"
    assert request_burn_bps_ <= MAX_REQUEST_BURN_BPS, "ads: request burn too high"
    assert request_timeout_seconds_ >= MIN_WINDOW and request_timeout_seconds_ <= MAX_WINDOW, "ads: bad timeout"
    self.user_bps = split_bps[0]
    self.node_bps = split_bps[1]
    self.community_bps = split_bps[2]
    self.burn_bps = split_bps[3]
    self.settlement_grace_seconds = settlement_grace_seconds_
    self.request_burn_bps = request_burn_bps_
    self.request_timeout_seconds = request_timeout_seconds_
    log IAdMarket.ParametersChanged(
        user_bps=split_bps[0],
        node_bps=split_bps[1],
        community_bps=split_bps[2],
        burn_bps=split_bps[3],
        settlement_grace_seconds=settlement_grace_seconds_,
        request_burn_bps=request_burn_bps_,
        request_timeout_seconds=request_timeout_seconds_,
    )


# VIEWS #


@external
@view
def campaign_count() -> uint256:
    """
    @notice Number of campaigns created; campaign ids are 1..campaign_count().
    """
    return self._next_id - 1


@external
@view
def campaign(campaign_id: uint256) -> IAdMarket.Campaign:
    """
    @notice A campaign, unpacked (zeros when it does not exist).
    """
    w0: uint256 = self._w0[campaign_id]
    w1: uint256 = self._w1[campaign_id]
    w2: uint256 = self._w2[campaign_id]
    flags: uint256 = (w0 >> 240) & 255
    return IAdMarket.Campaign(
        advertiser=convert(w0 & MASK160, address),
        budget=w1 & MASK96,
        spent=(w1 >> 96) & MASK96,
        price=w2 & MASK96,
        per_user_cap=w1 >> 192,
        start=(w0 >> 160) & MASK40,
        end=(w0 >> 200) & MASK40,
        grace=(w2 >> 208) & MASK40,
        min_tier=(w2 >> 192) & 65_535,
        min_stake=(w2 >> 96) & MASK96,
        paused=flags & PAUSED != 0,
        cancelled=flags & CANCELLED != 0,
        refunded=flags & REFUNDED != 0,
    )


@external
@view
def targets(campaign_id: uint256) -> DynArray[uint256, MAX_TARGETS]:
    """
    @notice A campaign's target community ids (empty: all opted-in users).
    """
    out: DynArray[uint256, MAX_TARGETS] = []
    # Bounded by MAX_TARGETS.
    for i: uint256 in range(self._w0[campaign_id] >> 248, bound=MAX_TARGETS):
        out.append(self._targets[campaign_id][i])
    return out


@external
@view
def settled(campaign_id: uint256, user: address, node: address) -> uint256:
    """
    @notice Views of `user` settled for the campaign through `node` (a receipt must exceed it).
    """
    if campaign_id >= self._next_id:
        return 0
    ws: uint256 = self._settled[(campaign_id << 160) | convert(user, uint256)]
    first: address = convert(ws & MASK160, address)
    if first == node and first != empty(address):
        return (ws >> 160) & MASK48
    return self._settled_other[campaign_id][user][node]


@external
@view
def settled_total(campaign_id: uint256, user: address) -> uint256:
    """
    @notice Views of `user` settled for the campaign through all nodes (at most the cap).
    """
    if campaign_id >= self._next_id:
        return 0
    return self._settled[(campaign_id << 160) | convert(user, uint256)] >> 208


@external
@view
def receipt_digest(campaign_id: uint256, user: address, node: address, count: uint256) -> bytes32:
    """
    @notice The EIP-712 digest a user signs for a receipt.
    """
    return eip712._hash_typed_data_v4(keccak256(abi_encode(RECEIPT_TYPEHASH, campaign_id, user, node, count)))


@external
@view
def request(sender: address, recipient: address) -> (uint256, uint256):
    """
    @notice The pending request from `sender` to `recipient`: (amount wei, expiry time), zeros if none.
    """
    word: uint256 = self._requests[sender][recipient]
    return word & MASK96, word >> 96


# INTERNAL #


@internal
@view
def _live(campaign: uint256) -> uint256:
    """
    @dev Word 0 of a campaign the caller advertises and that has not ended or been cancelled.
    """
    w0: uint256 = self._w0[campaign]
    assert w0 != 0, "ads: unknown campaign"
    assert convert(w0 & MASK160, address) == msg.sender, "ads: not the advertiser"
    assert (w0 >> 240) & CANCELLED == 0, "ads: cancelled"
    assert block.timestamp < (w0 >> 200) & MASK40, "ads: campaign ended"
    return w0
