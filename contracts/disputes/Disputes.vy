# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Disputes: trustless equivocation slashing and flag-and-vote for nodes
@custom:contract-name Disputes
@license GNU Affero General Public License v3.0 only
@notice Two ways a node loses stake without a governance vote.

        1. Equivocation (objective, nobody's permission). A relay signs every
        place of its per-(node, room) hash chain as EIP-712 typed data
        `LogEntry(address node,bytes32 room,uint64 seq,bytes32 prev,bytes32
        body,uint64 time)` in the domain {name "Club Chat Relay Log", version
        "1", chainId, verifyingContract = this contract}. Two valid
        signatures by the node's key over entries with the same (node, room,
        seq) and different struct hashes prove a fork. Anyone proves it in two
        steps: `commit_evidence(keccak256(abi_encode(evidence_id, reporter,
        salt)))` with `evidence_id = keccak256(abi_encode(node, room, seq))`,
        then, in a later block and within `reveal_window_seconds`,
        `prove_equivocation(a, sig_a, b, sig_b, salt)`. The commitment binds
        the reporter, so a copy of the reveal sent by someone else (from the
        mempool) finds no commitment of its sender and earns nothing; a copier
        who commits only after seeing the reveal is a block late. The node's
        pool (bonded and unbonding, `NodeRegistry.slash`) loses
        `equivocation_fraction`, the reporter gets `reporter_share` of the cut
        and the rest burns; the node is jailed (graduated, below). Each
        (node, room, seq) is slashed at most once.

        Keys. The signer must be a key the registry ever bound to `node`
        (`NodeRegistry.key_record`): its current key, or a key rotated away
        at most `unbonding_seconds` ago (the registry never releases a key, so
        rotating does not escape and no other operator can inherit a key).
        Each entry's `time` must be within `evidence_window_seconds` (shorter
        than the unbonding period) of now, so stake that left long ago is not
        slashed for faults after it left. A relay could backdate `time` to
        make its fork look stale: clients refuse entries whose time is off
        their clock by more than their tolerance, so such an entry is itself
        noticed (and is evidence for a flag).

        Why EOA node keys and not EIP-1271. A fork proof must stay valid for
        ever: an EIP-1271 contract signer answers `isValidSignature` from its
        current state, so a node could make its own signatures invalid (or
        valid again) after the fact, and the proof would depend on an
        external call it controls (gas griefing, reverts). An ECDSA signature
        by a plain key, recovered with `ecrecover`, is a fact nobody can
        change. Signatures are 65 bytes `r || s || v` with low `s` only
        (snekmate `ecdsa`), so a signature has one encoding.

        2. Flag-and-vote (subjective faults: offline while heartbeating,
        refusing service, dropping messages, TURN not relaying, mailbox losing
        mail, withholding history). A flagger posts `flag_bond` CLUB against a
        node with a reason code and an evidence URI; the node's pool is frozen
        (`NodeRegistry.freeze`: its unbonding entries cannot be withdrawn)
        until the dispute ends, so unbonding before or during a flag escapes
        nothing. The panel's randomness is fixed only after the flag: the
        hash of the next block (`draw_block`) mixed with the dispute id,
        through `NodeRegistry.sample` (which mixes in the epoch seed, recorded
        in the same transaction). Anyone calls `draw_panel` once that block
        is mined. Up to `panel_size` (k) reviewers are drawn stake-weighted
        without replacement from eligible RELAY nodes (every node software
        runs the reviewer probes), excluding the flagged node, the flagger
        (an operator's node is its address) and every reviewer still busy
        with a panel or in its cool-down (`reviewer_cooldown_seconds` after
        that panel's reveal deadline), so simultaneous flags get disjoint
        panels and nobody reviews the same node twice within a cool-down.
        `sample` is asked for k candidates, and for k + 2 (the same first k
        and two more) only when exclusions took seats; when exclusions take
        more, the panel is smaller, and with no reviewer at all the dispute
        is dismissed (bond back, stake unfrozen). Node software calls
        `enlist` once: it pre-pays the node's word, so a panel seat or an
        offence rewrites it instead of paying a fresh storage word.

        Votes: commit (`keccak256(abi_encode(dispute_id, reviewer, kick,
        salt))`) before `commit_deadline`, reveal after it and before
        `reveal_deadline`, sent by the reviewer's operator or its current
        node key. A vote weighs the reviewer's own stake (what its operator
        risks, not its delegators'), capped at `reviewer_cap`, in whole CLUB,
        fixed at the draw. After the reveal deadline anyone finalises: a kick
        needs revealed weight >= `quorum_bps` of the panel's weight and kick
        weight > `majority_bps` of the revealed weight. Kick: the node's pool
        loses `kick_fraction` (the flagger gets `flagger_reward_share` of the
        cut, the rest burns), it is jailed, the flagger gets its bond back.
        No kick: the bond is split equally among the reviewers who revealed,
        each collecting its share with `claim_share` (back to the flagger
        when nobody revealed). Either way every drawn
        reviewer that did not reveal loses `non_voter_fraction` of its pool:
        not voting is never free. The panel is not stored (one word per
        reviewer instead of seven more words per dispute): `finalize` takes
        it as calldata, checked against the high 128 bits of its hash, kept
        in the dispute's tally word (it is in the `PanelDrawn` event). A
        draw writes one fresh word per dispute: the tally word also holds
        the reveal phase (at most 2**24 - 1 seconds) and weights in 24 bits
        (`reviewer_cap` at most (2**24 - 1) // 14 whole CLUB), and the
        commit deadline goes into the head word. Every loop is bounded by
        the panel (at most 14).

        Graduated jail: a node's n-th offence (fork or kick) jails it for
        `jail_base_seconds * 2**(n - 1)`, at most `jail_max_seconds`; it
        unjails itself in the registry once that is over.

        Every parameter is set by PARAMETER_ROLE (the Timelock) only; the
        Timelock also keeps its own SLASHER_ROLE on the registry as a
        backstop.
@custom:security Residual bias of the panel draw, per chain. The seed is the
                 hash of a block mined after the flag, mixed with the dispute
                 id and the registry's epoch seed. L1: the proposer of
                 `draw_block` can compute the panel before publishing and
                 withhold its block (losing its reward) to re-roll once per
                 slot it owns; whoever calls `draw_panel` cannot choose (the
                 block is fixed). If nobody draws within 256 blocks the hash
                 is gone and the draw is re-armed on a later block: an attacker
                 who dislikes the panel it can already compute can re-roll
                 only by keeping every other caller (every node software
                 draws at once) out for 256 blocks. Arbitrum: `prevrandao` is
                 a constant and the sequencer orders transactions and produces
                 the block hashes, so the sequencer can choose among the seeds
                 of the blocks it could place the flag before, and it can
                 censor `draw_panel` for 256 blocks (about a minute) to re-arm:
                 panels there are as fair as the sequencer. What bounds it:
                 a captured panel still needs stake-weighted quorum and
                 majority among reviewers drawn without replacement with a
                 per-reviewer cap, the victim's stake is frozen, not lost,
                 until the vote, and a kick costs `kick_fraction`, not the
                 whole pool. Self-reporting: a node (or a friend) that proves
                 its own fork gets the reporter share back, so its net loss
                 is equivocation_fraction * (1 - reporter_share) of its pool
                 (5 % with the defaults), never nothing. Flag griefing: each
                 flag freezes the node's withdrawals until the dispute ends
                 (a few hours) and costs the flagger its bond when rejected;
                 overlapping flags are allowed (a friendly sham flag cannot
                 block a real one). Reentrancy: contract-wide lock; the contracts
                 called are CLUB and the registry. Slashes and jails in
                 `finalize` are calls that may fail (a reviewer or node no
                 longer registered) without blocking the finalisation.
"""


from interfaces import IClubToken
from interfaces import INodeRegistry

from interfaces import IDisputes
implements: IDisputes

from ethereum.ercs import IERC165
implements: IERC165

from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.utils.interfaces import IERC5267
implements: IERC5267

from snekmate.auth import access_control
initializes: access_control

from snekmate.utils import eip712_domain_separator as eip712
initializes: eip712

from snekmate.utils import ecdsa


# @dev Role management, ERC-165 and ERC-5267 (the EIP-712 domain).
exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.DEFAULT_ADMIN_ROLE,
    eip712.eip712Domain,
    # `set_role_admin` is left out on purpose: DEFAULT_ADMIN_ROLE administers
    # PARAMETER_ROLE and the hierarchy needs no knob.
)


# The registry calls the hooks added for this contract (freeze, key history)
# through a local interface: INodeRegistry covers the rest.
interface IRegistryHooks:
    def freeze(node: address): nonpayable
    def unfreeze(node: address): nonpayable
    def key_record(key: address) -> (address, uint256): view
    def frozen(node: address) -> uint256: view


# CONSTANTS #

# @dev Role that may set the parameters (the Timelock).
PARAMETER_ROLE: public(constant(bytes32)) = keccak256("PARAMETER_ROLE")
# @dev keccak256 of the LogEntry EIP-712 type.
LOG_ENTRY_TYPEHASH: public(constant(bytes32)) = keccak256(
    "LogEntry(address node,bytes32 room,uint64 seq,bytes32 prev,bytes32 body,uint64 time)"
)
# @dev 1e18 = 100 % (fractions and shares); 10,000 = 100 % (bps).
WAD: constant(uint256) = 10**18
BPS: constant(uint256) = 10_000
# @dev Vote weights are whole CLUB.
UNIT: constant(uint256) = 10**18
# @dev Reviewers are drawn from the RELAY tree (every node runs the reviewer software).
REVIEW_KIND: constant(uint256) = 1
# @dev Largest panel; `sample` returns at most 16 and we ask for k + SPARE candidates.
MAX_PANEL: constant(uint256) = 14
SPARE: constant(uint256) = 2
MAX_SAMPLE: constant(uint256) = 16
# @dev Largest `reviewer_cap` in whole CLUB: a panel's weight (at most 14 capped seats) fits 24 bits.
MAX_CAP_UNITS: constant(uint256) = (2**24 - 1) // MAX_PANEL
# @dev Reason codes 1..MAX_REASON: 1 offline while heartbeating, 2 refusing service,
#      3 dropping messages, 4 TURN not relaying, 5 mailbox losing mail, 6 withholding history,
#      7 settling forged ad receipts (AdMarket skipped them as not signed by their user).
MAX_REASON: constant(uint256) = 7
# @dev Dispute status.
FLAGGED: constant(uint256) = 1
DRAWN: constant(uint256) = 2
KICKED: constant(uint256) = 3
REJECTED: constant(uint256) = 4
DISMISSED: constant(uint256) = 5
# @dev Packed-field masks.
MASK160: constant(uint256) = 2**160 - 1
MASK64: constant(uint256) = 2**64 - 1
MASK128: constant(uint256) = 2**128 - 1
MASK48: constant(uint256) = 2**48 - 1
MASK40: constant(uint256) = 2**40 - 1
MASK24: constant(uint256) = 2**24 - 1
MASK32: constant(uint256) = 2**32 - 1
MASK14: constant(uint256) = 2**14 - 1
MASK4: constant(uint256) = 2**4 - 1
MASK8: constant(uint256) = 2**8 - 1
# @dev The per-node word: offences field and the enlisted bit.
OFFENCE_SHIFT: constant(uint256) = 160
ENLISTED: constant(uint256) = 1 << 255


# IMMUTABLES #

# @dev The CLUB token (bonds).
TOKEN: public(immutable(IClubToken))
# @dev The node registry (keys, sampling, freeze, slash, jail).
REGISTRY: public(immutable(INodeRegistry))


# STORAGE #

# @dev The governance-set values (see IDisputes.Parameters).
_params: IDisputes.Parameters
# @dev commitment => block number (bits 0-63) | unix seconds (bits 64-103) it was committed in.
commits: HashMap[bytes32, uint256]
# @dev evidence_id => that (node, room, seq) was slashed.
proven: public(HashMap[bytes32, bool])
# @dev Number of disputes ever opened (ids are 1 .. dispute_count).
dispute_count: public(uint256)
# @dev id => node (bits 0-159) | status (160-167) | reason (168-175) | draw block (176-215) |
#      commit deadline (216-255, unix seconds; 0 until the draw). Block numbers stay below
#      2**40 for thousands of years at any chain's block rate.
heads: HashMap[uint256, uint256]
# @dev id => flagger (bits 0-159) | bond in CLUB wei (160-255, below the CLUB cap < 2**96).
parties: HashMap[uint256, uint256]
# @dev id => panel weight (bits 0-23, whole CLUB) | revealed weight (24-47) | kick weight (48-71) |
#      revealed seats mask (72-85) | panel size (86-89) | seats whose bond share was paid
#      (90-103, after a rejection) | reveal phase length (104-127, seconds after the commit
#      deadline) | panel hash (128-255: the high 128 bits of keccak256(abi_encode(panel)); the
#      panel is in `PanelDrawn`). One word written by the draw instead of two: weights fit 24
#      bits because `reviewer_cap` is at most MAX_CAP_UNITS whole CLUB (14 seats of it < 2**24),
#      and the reveal phase at most 2**24 - 1 seconds (194 days).
tallies: HashMap[uint256, uint256]
# @dev What `draw_panel` reads of the parameters, packed by `_set_parameters` (one storage
#      read instead of five): panel size (bits 0-7) | commit phase (8-39) | reveal phase
#      (40-63) | cool-down (64-95) | reviewer cap in whole CLUB (96-127).
draw_word: uint256
# @dev node => one word per node, as reviewer and as offender: its last panel's dispute id
#      (bits 0-63) | seat (64-71) | weight (72-119, whole CLUB) | available again at (120-159, unix
#      seconds: reveal deadline + cool-down) | offences so far, forks and kicks (160-191: sets the jail
#      length) | enlisted (bit 255). One word so that a node's first panel or first offence does
#      not pay a fresh storage word (20,000 gas) when the node software enlisted it (`enlist`).
reviewers: HashMap[address, uint256]
# @dev reviewer => its vote commitment in its current panel (cleared on reveal).
vote_commitments: HashMap[address, bytes32]


@deploy
def __init__(token: IClubToken, registry: INodeRegistry, p: IDisputes.Parameters):
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE and PARAMETER_ROLE; the deploy
         plan hands both to the Timelock. The registry must grant this
         contract SLASHER_ROLE and DISPUTES_ROLE.
    @param token The CLUB token.
    @param registry The NodeRegistry.
    @param p The initial parameters.
    """
    assert token.address != empty(address), "disputes: zero token"
    assert registry.address.is_contract, "disputes: registry not a contract"
    access_control.__init__()
    access_control._grant_role(PARAMETER_ROLE, msg.sender)
    eip712.__init__("Club Chat Relay Log", "1")
    TOKEN = token
    REGISTRY = registry
    self._set_parameters(p)


# EQUIVOCATION #

@external
def commit_evidence(commitment: bytes32):
    """
    @notice Step 1 of a fork proof: commits to keccak256(abi_encode(evidence_id,
            reporter, salt)) so nobody can take the reward by copying the reveal.
    @param commitment Non-zero, not committed before.
    """
    assert commitment != empty(bytes32), "disputes: zero commitment"
    assert self.commits[commitment] == 0, "disputes: already committed"
    self.commits[commitment] = block.number | (block.timestamp << 64)
    log IDisputes.EvidenceCommitted(reporter=msg.sender, commitment=commitment)


@external
def prove_equivocation(
    a: IDisputes.LogEntry, sig_a: Bytes[65], b: IDisputes.LogEntry, sig_b: Bytes[65], salt: bytes32
) -> uint256:
    """
    @notice Step 2: two signed entries of one (node, room, seq) with different
            struct hashes slash the node and pay the caller (who committed to
            them in an earlier block, within the reveal window).
    @param a One entry.
    @param sig_a Its 65-byte r || s || v signature (low s) by a key of `a.node`.
    @param b A different entry of the same (node, room, seq).
    @param sig_b Its signature.
    @param salt The salt of the caller's commitment.
    @return uint256 CLUB wei cut from the node's pool.
    """
    assert a.node == b.node and a.room == b.room and a.seq == b.seq, "disputes: not the same place"
    hash_a: bytes32 = self._struct_hash(a)
    hash_b: bytes32 = self._struct_hash(b)
    assert hash_a != hash_b, "disputes: same entry"
    evidence: bytes32 = keccak256(abi_encode(a.node, a.room, a.seq))
    assert not self.proven[evidence], "disputes: already proven"
    commitment: bytes32 = keccak256(abi_encode(evidence, msg.sender, salt))
    word: uint256 = self.commits[commitment]
    assert word != 0, "disputes: no commitment"
    assert block.number > word & MASK64, "disputes: reveal in the commit block"
    assert block.timestamp <= (word >> 64) + self._params.reveal_window_seconds, "disputes: commitment expired"
    window: uint256 = self._params.evidence_window_seconds
    assert convert(min(a.time, b.time), uint256) + window >= block.timestamp, "disputes: stale entry"
    self._check_signer(a.node, eip712._hash_typed_data_v4(hash_a), sig_a)
    self._check_signer(a.node, eip712._hash_typed_data_v4(hash_b), sig_b)

    self.proven[evidence] = True
    # Used up (and the gas refund of clearing it lowers the proof's cost).
    self.commits[commitment] = 0
    # Jail first: it takes the node's weight out of the sum trees, so the slash
    # that follows changes no tree word (one tree update instead of two).
    until: uint256 = self._jail_until(a.node)
    extcall REGISTRY.jail(a.node, until)
    cut: uint256 = extcall REGISTRY.slash(
        a.node, self._params.equivocation_fraction, msg.sender, self._params.reporter_share
    )
    log IDisputes.EquivocationProven(
        node=a.node, reporter=msg.sender, evidence_id=evidence, room=a.room, seq=a.seq, cut=cut, jailed_until=until
    )
    return cut


# FLAG AND VOTE #

@external
def enlist():
    """
    @notice A node (its operator or its node key) pre-pays its per-node word
            once (the node software does it at start): its panels and its
            offences then rewrite a non-zero word (5,000 gas) instead of
            writing a fresh one (22,100) in someone else's `draw_panel` or
            fork proof. It changes nothing else: an enlisted node is drawn
            exactly as one that is not.
    """
    node: address = msg.sender
    if staticcall REGISTRY.node_key(node) == empty(address):
        retired_at: uint256 = 0
        node, retired_at = staticcall IRegistryHooks(REGISTRY.address).key_record(msg.sender)
        # Only the current key of a registered node speaks for it.
        assert node != empty(address) and staticcall REGISTRY.node_key(node) == msg.sender, "disputes: not a node"
    word: uint256 = self.reviewers[node]
    assert word & ENLISTED == 0, "disputes: already enlisted"
    self.reviewers[node] = word | ENLISTED
    log IDisputes.Enlisted(node=node)


@external
def flag(node: address, reason: uint256, evidence_uri: String[256]) -> uint256:
    """
    @notice Opens a dispute against `node`: pulls `flag_bond` CLUB from the
            caller (approval needed) and freezes the node's pool.
    @param node A registered node other than the caller.
    @param reason 1 offline while heartbeating, 2 refusing service, 3 dropping
           messages, 4 TURN not relaying, 5 mailbox losing mail, 6 withholding history,
           7 settling forged ad receipts.
    @param evidence_uri Where the flagger's evidence is (probe logs, missing entries).
    @return uint256 The dispute id.
    """
    assert reason != 0 and reason <= MAX_REASON, "disputes: unknown reason"
    assert node != msg.sender, "disputes: cannot flag yourself"
    assert staticcall REGISTRY.node_key(node) != empty(address), "disputes: not a node"
    bond: uint256 = self._params.flag_bond
    dispute_id: uint256 = self.dispute_count + 1
    self.dispute_count = dispute_id
    # The seed block is the next one: its hash is unknown when the flag is sent.
    draw_block: uint256 = block.number + 1
    self.heads[dispute_id] = self._head(node, FLAGGED, reason, draw_block)
    self.parties[dispute_id] = convert(msg.sender, uint256) | (bond << 160)
    log IDisputes.Flagged(
        dispute_id=dispute_id,
        node=node,
        flagger=msg.sender,
        reason=reason,
        bond=bond,
        evidence_uri=evidence_uri,
        draw_block=draw_block,
    )
    extcall IRegistryHooks(REGISTRY.address).freeze(node)
    assert extcall TOKEN.transferFrom(msg.sender, self, bond), "disputes: transfer failed"
    return dispute_id


@external
def draw_panel(dispute_id: uint256) -> uint256:
    """
    @notice Permissionless: draws the panel once the seed block is mined.
            Re-arms the seed block when its hash is no longer available
            (more than 256 blocks later), and dismisses the dispute when no
            reviewer can be drawn.
    @return uint256 The panel size (0: re-armed or dismissed).
    """
    head: uint256 = self.heads[dispute_id]
    assert (head >> 160) & MASK8 == FLAGGED, "disputes: not awaiting a draw"
    draw_block: uint256 = (head >> 176) & MASK40
    assert block.number > draw_block, "disputes: seed block not mined"
    node: address = convert(head & MASK160, address)
    if block.number - draw_block > 256:
        draw_block = block.number + 1
        self.heads[dispute_id] = self._head(node, FLAGGED, (head >> 168) & MASK8, draw_block)
        log IDisputes.DrawRearmed(dispute_id=dispute_id, draw_block=draw_block)
        return 0

    # `sample` mixes in the epoch seed: record it now so a draw never uses the
    # public fallback (NodeRegistry.sample's NatSpec).
    extcall REGISTRY.record_epoch_seed()
    dw: uint256 = self.draw_word
    k: uint256 = dw & MASK8
    cap: uint256 = (dw >> 96) & MASK32
    seed: bytes32 = keccak256(abi_encode(blockhash(draw_block), dispute_id))
    # k candidates first; the SPARE ones only when exclusions took seats (a
    # larger k returns the same first k nodes, so the panel is the one a
    # single draw of k + SPARE would seat, without paying two draws of the
    # sum tree in the common case).
    candidates: DynArray[address, MAX_SAMPLE] = staticcall REGISTRY.sample(REVIEW_KIND, seed, k)
    flagger: address = convert(self.parties[dispute_id] & MASK160, address)
    reveal_seconds: uint256 = (dw >> 40) & MASK24
    commit_deadline: uint256 = block.timestamp + ((dw >> 8) & MASK32)
    reveal_deadline: uint256 = commit_deadline + reveal_seconds
    available_at: uint256 = reveal_deadline + ((dw >> 64) & MASK32)
    panel: DynArray[address, MAX_PANEL] = []
    weights: DynArray[uint256, MAX_PANEL] = []
    total: uint256 = 0
    # Bound: `sample` returns at most k <= MAX_PANEL nodes.
    for reviewer: address in candidates:
        weight: uint256 = self._take_seat(reviewer, node, flagger, dispute_id, len(panel), available_at, cap)
        if weight != 0:
            panel.append(reviewer)
            weights.append(weight)
            total += weight
    if len(panel) < k and len(candidates) == k:
        more: DynArray[address, MAX_SAMPLE] = staticcall REGISTRY.sample(
            REVIEW_KIND, seed, min(k + SPARE, MAX_SAMPLE)
        )
        # Bound: at most SPARE new candidates (the first k are the ones above).
        for j: uint256 in range(SPARE):
            if k + j >= len(more) or len(panel) == k:
                break
            extra: address = more[k + j]
            weight: uint256 = self._take_seat(extra, node, flagger, dispute_id, len(panel), available_at, cap)
            if weight != 0:
                panel.append(extra)
                weights.append(weight)
                total += weight

    if len(panel) == 0:
        self._close(dispute_id, head, DISMISSED)
        flagger_bond: uint256 = self.parties[dispute_id] >> 160
        self._pay(dispute_id, flagger, flagger_bond)
        log IDisputes.DisputeResolved(dispute_id=dispute_id, node=node, status=DISMISSED, cut=0, jailed_until=0)
        return 0

    self.heads[dispute_id] = self._head(node, DRAWN, (head >> 168) & MASK8, draw_block) | (commit_deadline << 216)
    self.tallies[dispute_id] = total | (len(panel) << 86) | (reveal_seconds << 104) | self._panel_hash(panel)
    log IDisputes.PanelDrawn(
        dispute_id=dispute_id,
        panel=panel,
        weights=weights,
        commit_deadline=commit_deadline,
        reveal_deadline=reveal_deadline,
    )
    return len(panel)


@external
def commit_vote(dispute_id: uint256, reviewer: address, commitment: bytes32):
    """
    @notice A drawn reviewer (its operator or its current node key) commits
            keccak256(abi_encode(dispute_id, reviewer, kick, salt)) before the
            commit deadline. A later commit replaces an earlier one.
    """
    self._seat(dispute_id, reviewer)
    assert block.timestamp <= self.heads[dispute_id] >> 216, "disputes: commit phase over"
    assert commitment != empty(bytes32), "disputes: zero commitment"
    self.vote_commitments[reviewer] = commitment
    log IDisputes.VoteCommitted(dispute_id=dispute_id, reviewer=reviewer)


@external
def reveal_vote(dispute_id: uint256, reviewer: address, kick: bool, salt: bytes32):
    """
    @notice Reveals a committed vote after the commit deadline and before the
            reveal deadline; it counts the reviewer's weight fixed at the draw.
    """
    word: uint256 = self._seat(dispute_id, reviewer)
    tally: uint256 = self.tallies[dispute_id]
    commit_deadline: uint256 = self.heads[dispute_id] >> 216
    assert block.timestamp > commit_deadline, "disputes: commit phase not over"
    assert block.timestamp <= commit_deadline + ((tally >> 104) & MASK24), "disputes: reveal phase over"
    committed: bytes32 = self.vote_commitments[reviewer]
    assert committed != empty(bytes32), "disputes: no vote committed"
    assert committed == keccak256(abi_encode(dispute_id, reviewer, kick, salt)), "disputes: vote does not match"
    self.vote_commitments[reviewer] = empty(bytes32)
    weight: uint256 = (word >> 72) & MASK48
    seat: uint256 = (word >> 64) & MASK8
    # Weights are whole CLUB, at most MAX_CAP_UNITS each: the sums stay below 2**24.
    tally += (weight << 24) | (1 << (72 + seat))
    if kick:
        tally += weight << 48
    self.tallies[dispute_id] = tally
    log IDisputes.VoteRevealed(dispute_id=dispute_id, reviewer=reviewer, kick=kick, weight=weight)


@external
def finalize(dispute_id: uint256, panel: DynArray[address, MAX_PANEL]) -> uint256:
    """
    @notice Permissionless, after the reveal deadline: decides the dispute,
            slashes reviewers that did not vote, pays the bond and unfreezes
            the node.
    @param panel The panel as `PanelDrawn` logged it.
    @return uint256 CLUB wei cut from the flagged node (0 without a kick).
    """
    head: uint256 = self.heads[dispute_id]
    assert (head >> 160) & MASK8 == DRAWN, "disputes: not awaiting a decision"
    tally: uint256 = self.tallies[dispute_id]
    assert block.timestamp > (head >> 216) + ((tally >> 104) & MASK24), "disputes: voting not over"
    assert self._panel_hash(panel) == tally & ~MASK128, "disputes: wrong panel"
    node: address = convert(head & MASK160, address)
    party: uint256 = self.parties[dispute_id]
    flagger: address = convert(party & MASK160, address)
    bond: uint256 = party >> 160
    panel_weight: uint256 = tally & MASK24
    revealed: uint256 = (tally >> 24) & MASK24
    kick_weight: uint256 = (tally >> 48) & MASK24
    mask: uint256 = (tally >> 72) & MASK14

    # Bound: the panel (at most MAX_PANEL seats).
    voters: uint256 = 0
    for i: uint256 in range(len(panel), bound=MAX_PANEL):
        if mask & (1 << i) != 0:
            voters += 1
        else:
            cut: uint256 = self._try_slash(panel[i], self._params.non_voter_fraction, empty(address), 0)
            log IDisputes.NonVoterSlashed(dispute_id=dispute_id, reviewer=panel[i], cut=cut)

    kicked: bool = (
        revealed * BPS >= self._params.quorum_bps * panel_weight
        and kick_weight * BPS > self._params.majority_bps * revealed
    )
    cut: uint256 = 0
    until: uint256 = 0
    if kicked:
        self._close(dispute_id, head, KICKED)
        # Jail first (the slash then changes no tree word, as in prove_equivocation).
        until = self._jail_until(node)
        jailed: bool = raw_call(
            REGISTRY.address,
            abi_encode(node, until, method_id=method_id("jail(address,uint256)")),
            revert_on_failure=False,
        )
        if not jailed:
            until = 0
        cut = self._try_slash(node, self._params.kick_fraction, flagger, self._params.flagger_reward_share)
        self._pay(dispute_id, flagger, bond)
    else:
        self._close(dispute_id, head, REJECTED)
        if voters == 0:
            self._pay(dispute_id, flagger, bond)
        # Otherwise each voter (or anyone for it) collects its share with
        # `claim_share`: seven transfers here would cost each payee's first
        # balance word (22,100 gas) to whoever finalises.
    status: uint256 = REJECTED
    if kicked:
        status = KICKED
    log IDisputes.DisputeResolved(dispute_id=dispute_id, node=node, status=status, cut=cut, jailed_until=until)
    return cut


@external
def claim_share(dispute_id: uint256, panel: DynArray[address, MAX_PANEL], seat: uint256) -> uint256:
    """
    @notice Pays the reviewer in `seat` its share of a rejected flag's bond
            (anyone may call; the reviewer is paid). The bond is split equally
            among the seats that revealed (rounded down); the lowest revealed
            seat also gets the remainder. Once per seat.
    @param panel The panel as `PanelDrawn` logged it.
    @return uint256 CLUB wei paid.
    """
    head: uint256 = self.heads[dispute_id]
    assert (head >> 160) & MASK8 == REJECTED, "disputes: not a rejected flag"
    tally: uint256 = self.tallies[dispute_id]
    assert self._panel_hash(panel) == tally & ~MASK128, "disputes: wrong panel"
    mask: uint256 = (tally >> 72) & MASK14
    assert seat < len(panel) and mask & (1 << seat) != 0, "disputes: seat did not vote"
    assert (tally >> 90) & (1 << seat) == 0, "disputes: share already paid"
    self.tallies[dispute_id] = tally | (1 << (90 + seat))
    bond: uint256 = self.parties[dispute_id] >> 160
    voters: uint256 = 0
    lowest: uint256 = MAX_PANEL
    # Bound: the panel (at most MAX_PANEL seats).
    for i: uint256 in range(MAX_PANEL):
        if mask & (1 << i) != 0:
            voters += 1
            lowest = min(lowest, i)
    # Rounds down; the lowest revealed seat takes the remainder (< voters wei).
    amount: uint256 = bond // voters
    if seat == lowest:
        amount += bond - amount * voters
    self._pay(dispute_id, panel[seat], amount)
    return amount


# PARAMETERS #

@external
def set_parameters(p: IDisputes.Parameters):
    """
    @notice Sets every parameter at once (read `parameters()`, change what you
            need). Only PARAMETER_ROLE. Open disputes keep the deadlines and
            weights fixed at their draw and the bond they hold; the quorum,
            majority and slash fractions in force when they are finalised
            apply (the Timelock's delay makes a change visible first).
    """
    access_control._check_role(PARAMETER_ROLE, msg.sender)
    self._set_parameters(p)


# VIEWS #

@external
@view
def parameters() -> IDisputes.Parameters:
    """
    @notice Every governance-set value.
    """
    return self._params


@external
@view
def disputes(dispute_id: uint256) -> IDisputes.Dispute:
    """
    @notice Dispute `dispute_id`, unpacked (zeros when it does not exist).
    """
    head: uint256 = self.heads[dispute_id]
    party: uint256 = self.parties[dispute_id]
    tally: uint256 = self.tallies[dispute_id]
    commit_deadline: uint256 = head >> 216
    reveal_deadline: uint256 = 0
    if commit_deadline != 0:
        reveal_deadline = commit_deadline + ((tally >> 104) & MASK24)
    return IDisputes.Dispute(
        node=convert(head & MASK160, address),
        flagger=convert(party & MASK160, address),
        status=(head >> 160) & MASK8,
        reason=(head >> 168) & MASK8,
        bond=party >> 160,
        draw_block=(head >> 176) & MASK40,
        panel_size=(tally >> 86) & MASK4,
        panel_weight=tally & MASK24,
        revealed_weight=(tally >> 24) & MASK24,
        kick_weight=(tally >> 48) & MASK24,
        revealed_mask=(tally >> 72) & MASK14,
        commit_deadline=commit_deadline,
        reveal_deadline=reveal_deadline,
    )


@external
@view
def reviewer_of(reviewer: address) -> (uint256, uint256, uint256, uint256):
    """
    @notice `reviewer`'s last panel: dispute id (0: never drawn), seat, vote
            weight (whole CLUB) and when it can be drawn again (unix seconds).
    """
    word: uint256 = self.reviewers[reviewer]
    return word & MASK64, (word >> 64) & MASK8, (word >> 72) & MASK48, (word >> 120) & MASK40


@external
@view
def offences(node: address) -> uint256:
    """
    @notice Offences of `node` so far (proven forks and kicks): its next jail is longer.
    """
    return (self.reviewers[node] >> OFFENCE_SHIFT) & MASK32


@external
@view
def enlisted(node: address) -> bool:
    """
    @notice Whether `node` pre-paid its per-node word (`enlist`).
    """
    return self.reviewers[node] & ENLISTED != 0


@external
@view
def commitment_of(commitment: bytes32) -> (uint256, uint256):
    """
    @notice The block and unix time `commitment` was committed in (zeros: never).
    """
    word: uint256 = self.commits[commitment]
    return word & MASK64, word >> 64


@external
@pure
def evidence_id(node: address, room: bytes32, seq: uint64) -> bytes32:
    """
    @notice keccak256(abi_encode(node, room, seq)): what a fork proof commits to.
    """
    return keccak256(abi_encode(node, room, seq))


@external
@view
def entry_digest(entry: IDisputes.LogEntry) -> bytes32:
    """
    @notice The EIP-712 digest a relay signs for `entry` in this contract's domain.
    """
    return eip712._hash_typed_data_v4(self._struct_hash(entry))


@external
@view
def domain_separator() -> bytes32:
    """
    @notice The EIP-712 domain separator of the relay log (this chain, this contract).
    """
    return eip712._domain_separator_v4()


# INTERNAL #

@internal
@pure
def _struct_hash(e: IDisputes.LogEntry) -> bytes32:
    return keccak256(abi_encode(LOG_ENTRY_TYPEHASH, e.node, e.room, e.seq, e.prev, e.body, e.time))


@internal
@view
def _check_signer(node: address, digest: bytes32, sig: Bytes[65]):
    """
    @dev The signer of `digest` is a key of `node`: its current one, or one
         rotated away at most an unbonding period ago.
    """
    # 65 bytes only: snekmate also takes 64-byte EIP-2098 signatures (a second encoding).
    assert len(sig) == 65, "disputes: signature not 65 bytes"
    # Reverts "ecdsa: invalid signature `s` value" on a high s.
    signer: address = ecdsa._recover_sig(digest, sig)
    assert signer != empty(address), "disputes: invalid signature"
    operator: address = empty(address)
    retired_at: uint256 = 0
    operator, retired_at = staticcall IRegistryHooks(REGISTRY.address).key_record(signer)
    assert operator == node, "disputes: not the node's key"
    if retired_at != 0:
        unbonding: uint256 = staticcall REGISTRY.unbonding_seconds()
        assert retired_at + unbonding >= block.timestamp, "disputes: key retired too long ago"


@internal
def _jail_until(node: address) -> uint256:
    """
    @dev Counts an offence of `node` (in its per-node word) and returns the
         end of its jail: jail_base_seconds * 2**(offences - 1), at most
         jail_max_seconds.
    """
    word: uint256 = self.reviewers[node]
    n: uint256 = ((word >> OFFENCE_SHIFT) & MASK32) + 1
    # Bound: 2**32 - 1 offences would need as many jails; the count saturates there.
    n = min(n, MASK32)
    self.reviewers[node] = (word & ~(MASK32 << OFFENCE_SHIFT)) | (n << OFFENCE_SHIFT)
    # The shift is bounded so the product cannot overflow (base < 2**32).
    length: uint256 = min(self._params.jail_base_seconds << min(n - 1, 32), self._params.jail_max_seconds)
    return block.timestamp + length


@internal
def _try_slash(node: address, fraction: uint256, reporter: address, share: uint256) -> uint256:
    """
    @dev NodeRegistry.slash that may fail (e.g. a node no longer registered)
         without blocking the caller; returns the cut (0 on failure).
    """
    ok: bool = False
    out: Bytes[32] = b""
    ok, out = raw_call(
        REGISTRY.address,
        abi_encode(node, fraction, reporter, share, method_id=method_id("slash(address,uint256,address,uint256)")),
        max_outsize=32,
        revert_on_failure=False,
    )
    if not ok or len(out) != 32:
        return 0
    return convert(out, uint256)


@internal
def _take_seat(
    reviewer: address,
    node: address,
    flagger: address,
    dispute_id: uint256,
    seat: uint256,
    available_at: uint256,
    cap: uint256,
) -> uint256:
    """
    @dev Seats `reviewer` in `seat` of `dispute_id` unless it is the flagged
         node, the flagger, busy with another panel or in its cool-down, or
         without whole CLUB of own stake; returns its vote weight (0: not seated).
    """
    if reviewer == node or reviewer == flagger:
        return 0
    word: uint256 = self.reviewers[reviewer]
    if (word >> 120) & MASK40 > block.timestamp:
        # Busy with another panel or in its cool-down.
        return 0
    # Rounds down: whole CLUB of the reviewer's own stake, capped (`cap` is in whole CLUB).
    weight: uint256 = min(staticcall REGISTRY.assets_of(reviewer, reviewer) // UNIT, cap)
    if weight == 0:
        return 0
    # The offences and enlisted bits (160-255) stay.
    self.reviewers[reviewer] = (
        (word & ~MASK160) | dispute_id | (seat << 64) | (weight << 72) | (available_at << 120)
    )
    return weight


@internal
def _close(dispute_id: uint256, head: uint256, status: uint256):
    """
    @dev Ends the dispute with `status` and unfreezes its node.
    """
    self.heads[dispute_id] = (head & ~(MASK8 << 160)) | (status << 160)
    extcall IRegistryHooks(REGISTRY.address).unfreeze(convert(head & MASK160, address))


@internal
def _pay(dispute_id: uint256, to: address, amount: uint256):
    if amount > 0:
        assert extcall TOKEN.transfer(to, amount), "disputes: transfer failed"
    log IDisputes.BondPaid(dispute_id=dispute_id, to=to, amount=amount)


@internal
@pure
def _panel_hash(panel: DynArray[address, MAX_PANEL]) -> uint256:
    """
    @dev The high 128 bits of keccak256(abi_encode(panel)), in place (bits 128-255).
    """
    return convert(keccak256(abi_encode(panel)), uint256) & ~MASK128


@internal
@pure
def _head(node: address, status: uint256, reason: uint256, draw_block: uint256) -> uint256:
    return convert(node, uint256) | (status << 160) | (reason << 168) | (draw_block << 176)


@internal
def _set_parameters(p: IDisputes.Parameters):
    assert p.equivocation_fraction > 0 and p.equivocation_fraction <= WAD, "disputes: bad fraction"
    assert p.kick_fraction > 0 and p.kick_fraction <= WAD, "disputes: bad fraction"
    # A non-voter always loses something, never everything.
    assert p.non_voter_fraction > 0 and p.non_voter_fraction < WAD, "disputes: bad fraction"
    assert p.reporter_share <= WAD and p.flagger_reward_share <= WAD, "disputes: bad share"
    assert p.evidence_window_seconds > 0, "disputes: zero evidence window"
    assert p.evidence_window_seconds < staticcall REGISTRY.unbonding_seconds(), (
        "disputes: evidence window not below unbonding"
    )
    assert p.reveal_window_seconds > 0, "disputes: zero reveal window"
    assert p.flag_bond > 0 and p.flag_bond < 2**96, "disputes: bad bond"
    assert p.panel_size > 0 and p.panel_size <= MAX_PANEL, "disputes: bad panel size"
    assert p.reviewer_cap >= UNIT and p.reviewer_cap // UNIT <= MAX_CAP_UNITS, "disputes: bad reviewer cap"
    assert p.quorum_bps > 0 and p.quorum_bps <= BPS, "disputes: bad quorum"
    assert p.majority_bps >= BPS // 2 and p.majority_bps < BPS, "disputes: bad majority"
    assert p.vote_commit_seconds > 0 and p.vote_reveal_seconds > 0, "disputes: zero vote phase"
    assert p.jail_base_seconds > 0 and p.jail_max_seconds >= p.jail_base_seconds, "disputes: bad jail"
    # Periods are added to block times stored in 40 bits.
    assert (
        max(
            max(p.vote_commit_seconds, p.vote_reveal_seconds),
            max(p.reviewer_cooldown_seconds, max(p.jail_max_seconds, p.reveal_window_seconds)),
        )
        <= MASK32
    ), "disputes: period too long"
    # The reveal phase is stored in 24 bits of the dispute's tally word.
    assert p.vote_reveal_seconds <= MASK24, "disputes: period too long"
    self._params = p
    self.draw_word = (
        p.panel_size
        | (p.vote_commit_seconds << 8)
        | (p.vote_reveal_seconds << 40)
        | (p.reviewer_cooldown_seconds << 64)
        | ((p.reviewer_cap // UNIT) << 96)
    )
    log IDisputes.ParametersChanged(parameters=p)


@internal
@view
def _seat(dispute_id: uint256, reviewer: address) -> uint256:
    """
    @dev `reviewer`'s word when it sits on the panel of `dispute_id` and the
         caller is its operator or its current node key.
    """
    assert msg.sender == reviewer or staticcall REGISTRY.node_key(reviewer) == msg.sender, (
        "disputes: not the reviewer"
    )
    word: uint256 = self.reviewers[reviewer]
    assert (self.heads[dispute_id] >> 160) & MASK8 == DRAWN, "disputes: not in voting"
    assert word & MASK64 == dispute_id, "disputes: not on the panel"
    return word
