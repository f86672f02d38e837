# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title ClubGovernor
@custom:contract-name ClubGovernor
@license GNU Affero General Public License v3.0 only
@notice CLUB token voting with an ABI and events compatible with OpenZeppelin's
        Governor 5 (Governor + GovernorSettings + GovernorCountingSimple +
        GovernorVotes + GovernorVotesQuorumFraction + GovernorTimelockControl +
        GovernorPreventLateQuorum), so Tally and other indexers work unchanged.
        Proposal ids are OZ's `hashProposal`; the timelock salt is OZ's
        `bytes20(governor) ^ descriptionHash`.

        What it adds beyond OZ:
          - the proposal threshold is a fraction (bps) of the total supply one
            second ago, not an absolute amount;
          - one live (Pending, Active, Succeeded or Queued) proposal per proposer;
          - a Succeeded proposal must be queued within `GRACE_PERIOD` seconds
            of its deadline, else it is Expired (not live, never queueable), so
            an unqueued success cannot block its proposer forever;
          - queued proposals expire `GRACE_PERIOD` seconds after their eta (the
            Timelock refuses to execute them too);
          - late-quorum protection: any vote cast in the last
            `lateQuorumVoteExtension` seconds that turns the outcome (passing =
            quorum reached AND For > Against), in either direction, moves the
            deadline to now + extension, so the other side always has the
            extension to answer. OZ extends only once, when quorum is first
            reached; an earlier version of this contract extended only for the
            first vote that made the proposal pass, which an early passing vote
            used up, so a last-second flip after the opposition took the lead
            won unanswered. Each flip needs voters who have not voted yet, so
            the number of extensions is bounded by the number of voters;
          - a guardian veto: governance may appoint a guardian (e.g. an elected
            multisig) for a term of at most `MAX_GUARDIAN_TERM`; during its term
            it may `veto` a Succeeded or Queued proposal (never one still being
            voted on), which also cancels the Timelock operation. None at
            deployment, so by default nobody can stop a queued proposal.

        Packed words (`_core`, `_tally`, `_settings`, `_quorum_history`,
        `_guardian`) are read and written only through the named accessors of
        the PACKED WORDS section at the end.

        Storage (gas): a proposal is three packed slots, `_core` (proposer,
        snapshot, deadline), `_tally` (For, Against, eta, flags) and `_abstain`.
        `propose` creates `_core` and the proposer's `latestProposalId` entry
        (the one-live-proposal rule costs that second fresh slot, which OZ does
        not have); the first For/Against vote creates `_tally`. Every vote reads
        the settings slot (for the extension); only votes inside the last
        extension window also read the quorum. The eta lives in
        `_tally`, so `queue` writes no new governor slot except the timelock
        operation id that `state` needs to see operations executed directly on
        the Timelock. The settings slot also caches the latest quorum numerator
        and its timepoint, so the quorum of any proposal created after the last
        change costs one storage read plus the token's total-supply look-up.
        Calldata arrays are never stored: `queue`/`execute` re-hash what they
        are given, like OZ. The clock is the block timestamp (the token's
        ERC-6372 mode, checked at deployment), read without an external call.
@custom:security Votes are read at the snapshot (`getPastVotes`), so tokens bought,
                 borrowed or delegated after it carry no weight.
                 Tallies are 96-bit: the token's cap is checked to fit at deployment.
                 Governance setters are `@reentrant` because the Timelock calls
                 them from inside `execute`; they only accept the Timelock.
                 `castVoteBySig` accepts signatures of at most 65 bytes (ECDSA or
                 EIP-1271 wallets whose signatures fit), snekmate's bound, and
                 refuses voter 0 (an empty signature recovers the zero address).
                 A description ending in `#proposer=0x<address>` can only be
                 proposed by that address; the tooling appends it by default so
                 that a copied proposal cannot be front-run and cancelled.
                 Late flips: a holder who spread its votes over many delegates
                 before the snapshot can prolong a knife-edge vote by one extension
                 per flip it causes (each flip spends one of those delegates' votes
                 on the side it flips to); OZ would extend once.
                 A guardian can veto a proposal that removes it; that is why its
                 power ends with its term, which governance sets when appointing it.
"""


from ethereum.ercs import IERC165
implements: IERC165

from interfaces import IClubGovernor
implements: IClubGovernor

from interfaces import IClubToken
from interfaces import ITimelock


from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from snekmate.utils import signature_checker


exports: eip712_domain_separator.eip712Domain


# CONSTANTS #

# @dev Most calls in one proposal (the Timelock's batch bound).
MAX_ACTIONS: public(constant(uint256)) = 16

# @dev Largest calldata of one call, in bytes (the Timelock's bound).
MAX_CALLDATA: constant(uint256) = 1_024

# @dev Longest proposal description, in bytes.
MAX_DESCRIPTION: constant(uint256) = 4_096

# @dev Longest vote reason, in bytes.
MAX_REASON: constant(uint256) = 1_024

# @dev Longest vote params blob, in bytes (ignored by simple counting, only logged).
MAX_PARAMS: constant(uint256) = 256

# @dev OZ's counting-module description: For/Against/Abstain, quorum counts For and Abstain.
COUNTING_MODE: public(constant(String[32])) = "support=bravo&quorum=for,abstain"

# @dev EIP-712 typehash of a signed vote (OZ 5).
BALLOT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"
)

# @dev EIP-712 typehash of a signed vote with reason and params (OZ 5).
EXTENDED_BALLOT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,string reason,bytes params)"
)

# @dev Vote types (GovernorCountingSimple).
VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2

# @dev Proposal states, numbered as OZ's `IGovernor.ProposalState` enum.
PENDING: constant(uint8) = 0
ACTIVE: constant(uint8) = 1
CANCELED: constant(uint8) = 2
DEFEATED: constant(uint8) = 3
SUCCEEDED: constant(uint8) = 4
QUEUED: constant(uint8) = 5
EXPIRED: constant(uint8) = 6
EXECUTED: constant(uint8) = 7

# @dev Bit layout of `_core[id]`: proposer | snapshot << 160 | deadline << 208.
SNAPSHOT_SHIFT: constant(uint256) = 160
DEADLINE_SHIFT: constant(uint256) = 208

# @dev Bit layout of `_tally[id]`: For | Against << 96 | eta << 192 | flags << 240.
AGAINST_SHIFT: constant(uint256) = 96
ETA_SHIFT: constant(uint256) = 192
FLAGS_SHIFT: constant(uint256) = 240
MASK_96: constant(uint256) = 2**96 - 1
MASK_48: constant(uint256) = 2**48 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_16: constant(uint256) = 2**16 - 1

# @dev Flags in `_tally[id]` (8 was the late-quorum "extended once" flag, unused since any late
# flip extends).
FLAG_CANCELED: constant(uint256) = 2
FLAG_EXECUTED: constant(uint256) = 4
# @dev The same flags at their place in `_tally[id]`: tested with `&`, set with `|`, so reading
# or setting a flag costs no accessor call (legacy codegen does not inline internal functions).
CANCELED_BIT: constant(uint256) = FLAG_CANCELED << FLAGS_SHIFT
EXECUTED_BIT: constant(uint256) = FLAG_EXECUTED << FLAGS_SHIFT

# @dev Bit layout of `_settings`: delay | period << 48 | extension << 80 | threshold bps << 128
# | number of quorum checkpoints << 144 | latest quorum numerator << 160 | its timepoint << 208.
DELAY_SHIFT: constant(uint256) = 0
PERIOD_SHIFT: constant(uint256) = 48
EXTENSION_SHIFT: constant(uint256) = 80
THRESHOLD_SHIFT: constant(uint256) = 128
QCOUNT_SHIFT: constant(uint256) = 144
QNUM_SHIFT: constant(uint256) = 160
QTIME_SHIFT: constant(uint256) = 208

# @dev Bit layout of `_quorum_history[i]`: timepoint (48 bits) | numerator << 48.
CHECKPOINT_NUMERATOR_SHIFT: constant(uint256) = 48

# @dev Bit layout of `_guardian`: guardian address | end of its term (seconds) << 160.
GUARDIAN_TERM_SHIFT: constant(uint256) = 160

# @dev Longest guardian term governance can grant in one call, in seconds (365 days).
MAX_GUARDIAN_TERM: public(constant(uint256)) = 365 * 86_400

# @dev 100 % in basis points.
BPS: constant(uint256) = 10_000

# @dev ERC-165 ids: ERC-165 itself and OZ 5.1's `type(IGovernor).interfaceId`.
_SUPPORTED_INTERFACES: constant(bytes4[2]) = [0x01FFC9A7, 0x65455A86]


# IMMUTABLES #

# @dev The CLUB token whose checkpointed votes count.
token: public(immutable(IClubToken))

# @dev The Timelock that executes proposals and holds the protocol's roles.
timelock: public(immutable(address))

# @dev The governor's name (EIP-712 domain name).
name: public(immutable(String[50]))

# @dev Denominator of the quorum fraction (OZ default: 100).
quorumDenominator: public(immutable(uint256))

# @dev Seconds a queued proposal stays executable after its eta (the Timelock's value).
GRACE_PERIOD: public(immutable(uint256))


# STORAGE #

# @dev proposal id => packed proposer (160 bits), snapshot (48) and deadline (48), timestamps in seconds.
_core: HashMap[uint256, uint256]

# @dev proposal id => packed For votes (96), Against votes (96), eta (48, seconds) and flags (16).
_tally: HashMap[uint256, uint256]

# @dev proposal id => Abstain votes (wei of CLUB votes).
_abstain: HashMap[uint256, uint256]

# @dev proposal id => id of its Timelock operation (set by `queue`).
_timelock_ids: HashMap[uint256, bytes32]

# @dev proposal id => voter => whether the voter has voted.
hasVoted: public(HashMap[uint256, HashMap[address, bool]])

# @dev proposer => id of their most recent proposal (enforces one live proposal each).
latestProposalId: public(HashMap[address, uint256])

# @dev voter => next nonce for signed ballots.
nonces: public(HashMap[address, uint256])

# @dev Packed governance settings, see the bit layout above (seconds and bps).
_settings: uint256

# @dev Packed guardian (160 bits) and the end of its term (48 bits, a timestamp); zero: no guardian.
_guardian: uint256

# @dev index => packed quorum-numerator checkpoint: timepoint (48 bits) | numerator << 48.
_quorum_history: HashMap[uint256, uint256]


# EVENTS #
# Declared once, in interfaces/IClubGovernor.vyi (the ABI this contract emits), and logged
# as `log IClubGovernor.<Event>(...)`.


@deploy
def __init__(
    token_: IClubToken,
    timelock_: address,
    name_: String[50],
    voting_delay_: uint256,
    voting_period_: uint256,
    proposal_threshold_bps_: uint256,
    quorum_numerator_: uint256,
    quorum_denominator_: uint256,
    late_quorum_extension_: uint256,
):
    """
    @dev Deploys the governor. The Timelock must then grant it PROPOSER_ROLE and CANCELLER_ROLE.
    @param token_ The CLUB token (ERC-5805 votes on a timestamp clock).
    @param timelock_ The Timelock (executes proposals, holds roles and treasury).
    @param name_ Governor name, also the EIP-712 domain name.
    @param voting_delay_ Seconds between proposing and the snapshot.
    @param voting_period_ Seconds of voting after the snapshot.
    @param proposal_threshold_bps_ Votes needed to propose, in bps of the total supply.
    @param quorum_numerator_ Quorum = total supply at snapshot * numerator / denominator.
    @param quorum_denominator_ See above.
    @param late_quorum_extension_ Seconds voting stays open after a late vote that turns the outcome.
    """
    assert staticcall token_.CLOCK_MODE() == "mode=timestamp", "governor: token clock must be timestamp"
    # Tallies are 96-bit: the whole supply must fit.
    assert staticcall token_.cap() <= MASK_96, "governor: token cap exceeds 96 bits"
    # The numerator (at most the denominator) is cached in 48 bits of `_settings`.
    assert quorum_denominator_ != 0 and quorum_denominator_ <= MASK_48, "governor: bad quorum denominator"
    eip712_domain_separator.__init__(name_, "1")
    token = token_
    timelock = timelock_
    name = name_
    quorumDenominator = quorum_denominator_
    GRACE_PERIOD = staticcall ITimelock(timelock_).GRACE_PERIOD()
    self._set_voting_delay(voting_delay_)
    self._set_voting_period(voting_period_)
    self._set_proposal_threshold_bps(proposal_threshold_bps_)
    self._update_quorum_numerator(quorum_numerator_)
    self._set_late_quorum_vote_extension(late_quorum_extension_)


# INFORMATION #


@external
@pure
def version() -> String[1]:
    """
    @notice Version of the governor (EIP-712 domain version).
    @return String "1".
    """
    return "1"


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165: ERC-165 and OZ 5.1's IGovernor.
    @param interface_id The 4-byte interface id.
    @return bool Whether it is supported.
    """
    return interface_id in _SUPPORTED_INTERFACES


@external
@view
def clock() -> uint48:
    """
    @notice ERC-6372 clock: the block timestamp, like the token's.
    @return uint48 The current timepoint.
    """
    return convert(block.timestamp, uint48)


@external
@pure
def CLOCK_MODE() -> String[14]:
    """
    @notice ERC-6372 clock mode.
    @return String "mode=timestamp".
    """
    return "mode=timestamp"


@external
@pure
def hashProposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice The proposal id: keccak256(abi.encode(targets, values, calldatas, descriptionHash)), as OZ.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Calldata of each call.
    @param descriptionHash keccak256 of the description.
    @return uint256 The proposal id.
    """
    return self._hash_proposal(targets, values, calldatas, descriptionHash)


@external
@view
def state(proposalId: uint256) -> uint8:
    """
    @notice Proposal state, numbered as OZ: Pending 0, Active 1, Canceled 2, Defeated 3,
            Succeeded 4, Queued 5, Expired 6, Executed 7.
    @param proposalId The proposal id.
    @return uint8 The state.
    """
    return self._state(proposalId)


@external
@view
def proposalSnapshot(proposalId: uint256) -> uint256:
    """
    @notice Timepoint at which votes are counted (votes must be held at its end).
    @param proposalId The proposal id (0 for unknown proposals).
    @return uint256 Snapshot timestamp.
    """
    return self._snapshot(self._core[proposalId])


@external
@view
def proposalDeadline(proposalId: uint256) -> uint256:
    """
    @notice Last second of voting, including any late-quorum extension.
    @param proposalId The proposal id (0 for unknown proposals).
    @return uint256 Deadline timestamp.
    """
    return self._deadline(self._core[proposalId])


@external
@view
def proposalProposer(proposalId: uint256) -> address:
    """
    @notice Who created the proposal.
    @param proposalId The proposal id.
    @return address The proposer (zero for unknown proposals).
    """
    return self._proposer(self._core[proposalId])


@external
@view
def proposalEta(proposalId: uint256) -> uint256:
    """
    @notice When a queued proposal becomes executable (0 until queued).
    @param proposalId The proposal id.
    @return uint256 Eta timestamp.
    """
    return self._eta(self._tally[proposalId])


@external
@pure
def proposalNeedsQueuing(proposalId: uint256) -> bool:
    """
    @notice Every proposal goes through the Timelock.
    @param proposalId The proposal id.
    @return bool True.
    """
    return True


@external
@view
def proposalVotes(proposalId: uint256) -> (uint256, uint256, uint256):
    """
    @notice Tallies (GovernorCountingSimple order).
    @param proposalId The proposal id.
    @return uint256 Against votes.
    @return uint256 For votes.
    @return uint256 Abstain votes.
    """
    tally: uint256 = self._tally[proposalId]
    return self._against_votes(tally), self._for_votes(tally), self._abstain[proposalId]


@external
@view
def votingDelay() -> uint256:
    """
    @notice Seconds between proposing and the snapshot.
    @return uint256 Voting delay.
    """
    return self._voting_delay(self._settings)


@external
@view
def votingPeriod() -> uint256:
    """
    @notice Seconds of voting after the snapshot.
    @return uint256 Voting period.
    """
    return self._voting_period(self._settings)


@external
@view
def lateQuorumVoteExtension() -> uint48:
    """
    @notice Seconds voting stays open after a vote that turns the outcome inside this last window.
    @return uint48 The extension.
    """
    return convert(self._extension(self._settings), uint48)


@external
@view
def proposalThresholdBps() -> uint256:
    """
    @notice Votes needed to propose, in bps of the total supply.
    @return uint256 Threshold in bps.
    """
    return self._threshold_bps(self._settings)


@external
@view
def proposalThreshold() -> uint256:
    """
    @notice Votes needed to propose now (bps of the total supply one second ago).
    @return uint256 Threshold in wei of votes.
    """
    return self._proposal_threshold()


@external
@view
def quorum(timepoint: uint256) -> uint256:
    """
    @notice Quorum at a past timepoint: total supply * numerator / denominator (rounded down, as OZ).
    @param timepoint A past timestamp.
    @return uint256 Votes (For + Abstain) needed.
    """
    return self._quorum(timepoint)


@external
@view
def quorumNumerator() -> uint256:
    """
    @notice Current quorum numerator.
    @return uint256 Numerator over `quorumDenominator`.
    """
    return self._latest_numerator(self._settings)


@external
@view
def quorumNumeratorAt(timepoint: uint256) -> uint256:
    """
    @notice Quorum numerator in force at `timepoint` (OZ's `quorumNumerator(uint256)`).
    @param timepoint A timestamp.
    @return uint256 Numerator over `quorumDenominator`.
    """
    return self._quorum_numerator_at(timepoint)


@external
@view
def getVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Votes of `account` at a past timepoint.
    @param account The account.
    @param timepoint A past timestamp.
    @return uint256 Votes.
    """
    return staticcall token.getPastVotes(account, timepoint)


@external
@view
def getVotesWithParams(account: address, timepoint: uint256, params: Bytes[MAX_PARAMS]) -> uint256:
    """
    @notice Same as `getVotes`; params are ignored by simple counting.
    @param account The account.
    @param timepoint A past timestamp.
    @param params Ignored.
    @return uint256 Votes.
    """
    return staticcall token.getPastVotes(account, timepoint)


@external
@view
def proposalTimelockId(proposalId: uint256) -> bytes32:
    """
    @notice The Timelock operation id of a queued proposal (zero before `queue`).
    @param proposalId The proposal id.
    @return bytes32 Operation id.
    """
    return self._timelock_ids[proposalId]


# PROPOSAL LIFECYCLE #


@external
def propose(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    description: String[MAX_DESCRIPTION],
) -> uint256:
    """
    @notice Create a proposal. Voting starts after `votingDelay` and lasts `votingPeriod`.
            The caller needs `proposalThreshold` votes one second ago, must have no other
            live proposal, and must match a `#proposer=0x...` suffix of the description.
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Calldata of each call.
    @param description Human-readable description (hashed into the id).
    @return uint256 The proposal id.
    """
    proposer: address = msg.sender
    # OZ logs one empty signature string per action. Built first, so that the variable holds a
    # valid value on every revert path (debuggers decode all locals of a reverted frame).
    signatures: DynArray[String[1], MAX_ACTIONS] = []
    # Loop bound: MAX_ACTIONS.
    for _: uint256 in range(len(targets), bound=MAX_ACTIONS):
        signatures.append("")
    length: uint256 = len(description)
    if length >= 52:
        # Only the 52-byte tail can hold a `#proposer=0x...` suffix; passing just the tail
        # avoids copying the whole description into the helper's frame.
        assert self._is_valid_suffix_for_proposer(
            proposer, convert(slice(description, length - 52, 52), Bytes[52])
        ), "governor: restricted proposer"
    settings: uint256 = self._settings

    # propose decodes `_settings` and packs `_core` in place, with the layout's named constants:
    # the four accessor calls would cost it 265 gas (legacy codegen does not inline them).
    threshold_bps: uint256 = (settings >> THRESHOLD_SHIFT) & MASK_16
    if threshold_bps != 0:
        # `block.timestamp - 1`: the latest timepoint the token can answer for.
        votes: uint256 = staticcall token.getPastVotes(proposer, block.timestamp - 1)
        supply: uint256 = staticcall token.getPastTotalSupply(block.timestamp - 1)
        # Rounded down: the threshold never exceeds the exact fraction.
        assert votes >= supply * threshold_bps // BPS, "governor: proposer votes below threshold"

    assert len(targets) != 0, "governor: empty proposal"
    assert len(targets) == len(values) and len(targets) == len(calldatas), "governor: invalid proposal length"
    # Hashed inline: an internal call would copy the calldata arrays into a second buffer.
    proposal_id: uint256 = convert(keccak256(abi_encode(targets, values, calldatas, keccak256(description))), uint256)
    assert self._core[proposal_id] == 0, "governor: proposal already exists"

    latest: uint256 = self.latestProposalId[proposer]
    if latest != 0:
        latest_state: uint8 = self._state(latest)
        assert (
            latest_state != PENDING
            and latest_state != ACTIVE
            and latest_state != SUCCEEDED
            and latest_state != QUEUED
        ), "governor: proposer has a live proposal"

    # The delay is the low field (DELAY_SHIFT is 0). Unchecked additions: a block time
    # (< 2**64) plus a 48-bit delay plus a 32-bit period cannot overflow 256 bits.
    snapshot: uint256 = unsafe_add(block.timestamp, settings & MASK_48)
    deadline: uint256 = unsafe_add(snapshot, (settings >> PERIOD_SHIFT) & MASK_32)
    self._core[proposal_id] = (
        convert(convert(proposer, uint160), uint256) | (snapshot << SNAPSHOT_SHIFT) | (deadline << DEADLINE_SHIFT)
    )
    self.latestProposalId[proposer] = proposal_id

    log IClubGovernor.ProposalCreated(
        proposalId=proposal_id,
        proposer=proposer,
        targets=targets,
        values=values,
        signatures=signatures,
        calldatas=calldatas,
        voteStart=snapshot,
        voteEnd=deadline,
        description=description,
    )
    return proposal_id


@external
def queue(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice Schedule a succeeded proposal in the Timelock (anyone may call).
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Calldata of each call.
    @param descriptionHash keccak256 of the description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = convert(keccak256(abi_encode(targets, values, calldatas, descriptionHash)), uint256)
    assert self._state(proposal_id) == SUCCEEDED, "governor: proposal not successful"
    delay: uint256 = staticcall ITimelock(timelock).get_minimum_delay()
    salt: bytes32 = self._timelock_salt(descriptionHash)
    # The Timelock returns the operation id it hashed, so the batch is not hashed here again.
    self._timelock_ids[proposal_id] = extcall ITimelock(timelock).schedule_batch(
        targets, values, calldatas, empty(bytes32), salt, delay
    )
    eta: uint256 = block.timestamp + delay
    self._tally[proposal_id] = self._with_eta(self._tally[proposal_id], eta)
    log IClubGovernor.ProposalQueued(proposalId=proposal_id, etaSeconds=eta)
    return proposal_id


@external
@payable
def execute(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice Execute a queued proposal whose eta has come (anyone may call; ETH is forwarded).
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Calldata of each call.
    @param descriptionHash keccak256 of the description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = convert(keccak256(abi_encode(targets, values, calldatas, descriptionHash)), uint256)
    tally: uint256 = self._tally[proposal_id]
    # In place, like propose: an accessor call would make execute dearer than before the accessors.
    eta: uint256 = (tally >> ETA_SHIFT) & MASK_48
    # A non-zero eta means `queue` saw the proposal succeed; the Timelock re-checks the rest
    # (operation pending, ready, not expired).
    assert eta != 0 and tally & (EXECUTED_BIT | CANCELED_BIT) == 0, "governor: proposal not queued"
    assert block.timestamp >= eta, "governor: proposal not ready"
    assert block.timestamp <= eta + GRACE_PERIOD, "governor: proposal expired"
    # Effects before the interaction: the Timelock may call back into the setters.
    self._tally[proposal_id] = tally | EXECUTED_BIT
    extcall ITimelock(timelock).execute_batch(
        targets, values, calldatas, empty(bytes32), self._timelock_salt(descriptionHash), value=msg.value
    )
    log IClubGovernor.ProposalExecuted(proposalId=proposal_id)
    return proposal_id


@external
def cancel(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    descriptionHash: bytes32,
) -> uint256:
    """
    @notice Cancel a proposal before voting starts. Only its proposer (OZ 5 rule).
    @param targets Called contracts.
    @param values Wei sent with each call.
    @param calldatas Calldata of each call.
    @param descriptionHash keccak256 of the description.
    @return uint256 The proposal id.
    """
    proposal_id: uint256 = convert(keccak256(abi_encode(targets, values, calldatas, descriptionHash)), uint256)
    core: uint256 = self._core[proposal_id]
    assert core != 0, "governor: unknown proposal"
    assert self._proposer(core) == msg.sender, "governor: only proposer"
    assert self._state(proposal_id) == PENDING, "governor: proposal not pending"
    self._tally[proposal_id] |= CANCELED_BIT
    log IClubGovernor.ProposalCanceled(proposalId=proposal_id)
    return proposal_id


@external
def veto(proposalId: uint256) -> uint256:
    """
    @notice Cancel a proposal that has won its vote but is not executed yet (Succeeded or
            Queued; a queued one is also cancelled in the Timelock). Only the guardian, during
            its term. The guardian cannot touch proposals still being voted on.
    @param proposalId The proposal id.
    @return uint256 The proposal id.
    """
    assert msg.sender == self._active_guardian(), "governor: only guardian"
    state: uint8 = self._state(proposalId)
    assert state == SUCCEEDED or state == QUEUED, "governor: proposal not vetoable"
    self._tally[proposalId] |= CANCELED_BIT
    if state == QUEUED:
        # The Timelock's executor role is open: its operation must go too.
        extcall ITimelock(timelock).cancel(self._timelock_ids[proposalId])
    log IClubGovernor.ProposalCanceled(proposalId=proposalId)
    log IClubGovernor.ProposalVetoed(proposalId=proposalId, guardian=msg.sender)
    return proposalId


# VOTING #


@external
def castVote(proposalId: uint256, support: uint8) -> uint256:
    """
    @notice Vote 0 Against, 1 For, 2 Abstain with your votes at the snapshot.
    @param proposalId The proposal id.
    @param support The vote type.
    @return uint256 The weight counted.
    """
    return self._cast_vote(proposalId, msg.sender, support, "", b"")


@external
def castVoteWithReason(proposalId: uint256, support: uint8, reason: String[MAX_REASON]) -> uint256:
    """
    @notice Vote with a reason (logged).
    @param proposalId The proposal id.
    @param support The vote type.
    @param reason Free text.
    @return uint256 The weight counted.
    """
    return self._cast_vote(proposalId, msg.sender, support, reason, b"")


@external
def castVoteWithReasonAndParams(
    proposalId: uint256, support: uint8, reason: String[MAX_REASON], params: Bytes[MAX_PARAMS]
) -> uint256:
    """
    @notice Vote with a reason and params (params are logged, not interpreted).
    @param proposalId The proposal id.
    @param support The vote type.
    @param reason Free text.
    @param params Extra data.
    @return uint256 The weight counted.
    """
    return self._cast_vote(proposalId, msg.sender, support, reason, params)


@external
def castVoteBySig(proposalId: uint256, support: uint8, voter: address, signature: Bytes[65]) -> uint256:
    """
    @notice Cast `voter`'s EIP-712 signed Ballot (ECDSA or EIP-1271); consumes `voter`'s nonce.
    @param proposalId The proposal id.
    @param support The vote type.
    @param voter The signer.
    @param signature 65-byte signature.
    @return uint256 The weight counted.
    """
    # An empty signature "recovers" the zero address: never let it vote (or burn its nonce).
    assert voter != empty(address), "governor: zero voter"
    nonce: uint256 = self._use_nonce(voter)
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(BALLOT_TYPEHASH, proposalId, support, voter, nonce))
    )
    assert signature_checker._is_valid_signature_now(voter, digest, signature), "governor: invalid signature"
    return self._cast_vote(proposalId, voter, support, "", b"")


@external
def castVoteWithReasonAndParamsBySig(
    proposalId: uint256,
    support: uint8,
    voter: address,
    reason: String[MAX_REASON],
    params: Bytes[MAX_PARAMS],
    signature: Bytes[65],
) -> uint256:
    """
    @notice Cast `voter`'s EIP-712 signed ExtendedBallot; consumes `voter`'s nonce.
    @param proposalId The proposal id.
    @param support The vote type.
    @param voter The signer.
    @param reason Free text.
    @param params Extra data.
    @param signature 65-byte signature.
    @return uint256 The weight counted.
    """
    assert voter != empty(address), "governor: zero voter"
    nonce: uint256 = self._use_nonce(voter)
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(
            abi_encode(
                EXTENDED_BALLOT_TYPEHASH, proposalId, support, voter, nonce, keccak256(reason), keccak256(params)
            )
        )
    )
    assert signature_checker._is_valid_signature_now(voter, digest, signature), "governor: invalid signature"
    return self._cast_vote(proposalId, voter, support, reason, params)


# GOVERNANCE SETTINGS (Timelock only) #


@external
@reentrant
def setVotingDelay(newVotingDelay: uint48):
    """
    @notice Change the voting delay (seconds). Timelock only.
    @param newVotingDelay New delay.
    """
    self._only_governance()
    self._set_voting_delay(convert(newVotingDelay, uint256))


@external
@reentrant
def setVotingPeriod(newVotingPeriod: uint32):
    """
    @notice Change the voting period (seconds, non-zero). Timelock only.
    @param newVotingPeriod New period.
    """
    self._only_governance()
    self._set_voting_period(convert(newVotingPeriod, uint256))


@external
@reentrant
def setProposalThresholdBps(newProposalThresholdBps: uint256):
    """
    @notice Change the proposal threshold (bps of total supply, at most 10,000). Timelock only.
    @param newProposalThresholdBps New threshold.
    """
    self._only_governance()
    self._set_proposal_threshold_bps(newProposalThresholdBps)


@external
@reentrant
def updateQuorumNumerator(newQuorumNumerator: uint256):
    """
    @notice Change the quorum numerator (at most `quorumDenominator`). Timelock only.
            Proposals whose snapshot is earlier keep the old quorum.
    @param newQuorumNumerator New numerator.
    """
    self._only_governance()
    self._update_quorum_numerator(newQuorumNumerator)


@external
@reentrant
def setLateQuorumVoteExtension(newVoteExtension: uint48):
    """
    @notice Change the late-quorum extension (seconds). Timelock only.
    @param newVoteExtension New extension.
    """
    self._only_governance()
    self._set_late_quorum_vote_extension(convert(newVoteExtension, uint256))


@external
@reentrant
def setGuardian(newGuardian: address, termEnd: uint256):
    """
    @notice Appoint (or with the zero address and term end 0, remove) the guardian that may
            veto Succeeded and Queued proposals until `termEnd`. Timelock only.
    @param newGuardian The guardian, e.g. a multisig elected by governance; zero for none.
    @param termEnd Timestamp at which its veto power ends: after now and at most
           `MAX_GUARDIAN_TERM` seconds ahead (0 when removing).
    """
    self._only_governance()
    if newGuardian == empty(address):
        assert termEnd == 0, "governor: bad guardian term"
    else:
        assert termEnd > block.timestamp and termEnd <= block.timestamp + MAX_GUARDIAN_TERM, (
            "governor: bad guardian term"
        )
    old: address = self._guardian_address(self._guardian)
    self._guardian = self._pack_guardian(newGuardian, termEnd)
    log IClubGovernor.GuardianSet(oldGuardian=old, newGuardian=newGuardian, termEnd=termEnd)


@external
@view
def guardian() -> address:
    """
    @notice The guardian that may veto Succeeded and Queued proposals now (zero: none, or its term ended).
    @return address The guardian.
    """
    return self._active_guardian()


@external
@view
def guardianTermEnd() -> uint256:
    """
    @notice When the current (or last) guardian's veto power ends.
    @return uint256 Timestamp (0: no guardian appointed).
    """
    return self._guardian_term_end(self._guardian)


# INTERNAL #


@internal
@view
def _only_governance():
    assert msg.sender == timelock, "governor: only timelock"


@internal
@pure
def _hash_proposal(
    targets: DynArray[address, MAX_ACTIONS],
    values: DynArray[uint256, MAX_ACTIONS],
    calldatas: DynArray[Bytes[MAX_CALLDATA], MAX_ACTIONS],
    description_hash: bytes32,
) -> uint256:
    return convert(keccak256(abi_encode(targets, values, calldatas, description_hash)), uint256)


@internal
@view
def _timelock_salt(description_hash: bytes32) -> bytes32:
    # OZ: bytes20(address(this)) ^ descriptionHash, the address in the high 20 bytes.
    return convert(
        (convert(convert(self, uint160), uint256) << 96) ^ convert(description_hash, uint256), bytes32
    )


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    core: uint256 = self._core[proposal_id]
    assert core != 0, "governor: unknown proposal"
    tally: uint256 = self._tally[proposal_id]
    if tally & EXECUTED_BIT != 0:
        return EXECUTED
    if tally & CANCELED_BIT != 0:
        return CANCELED

    eta: uint256 = self._eta(tally)
    if eta != 0:
        # Queued implies it succeeded; ask the Timelock whether it was executed or cancelled there.
        tl_id: bytes32 = self._timelock_ids[proposal_id]
        if staticcall ITimelock(timelock).is_operation_done(tl_id):
            return EXECUTED
        if not staticcall ITimelock(timelock).is_operation_pending(tl_id):
            return CANCELED
        if block.timestamp > eta + GRACE_PERIOD:
            return EXPIRED
        return QUEUED

    snapshot: uint256 = self._snapshot(core)
    if snapshot >= block.timestamp:
        return PENDING
    deadline: uint256 = self._deadline(core)
    if deadline >= block.timestamp:
        return ACTIVE
    for_votes: uint256 = self._for_votes(tally)
    if for_votes <= self._against_votes(tally):
        return DEFEATED
    if for_votes + self._abstain[proposal_id] < self._quorum(snapshot):
        return DEFEATED
    # Not queued within the grace period after the vote: Expired, no longer live (and never queueable).
    if block.timestamp > deadline + GRACE_PERIOD:
        return EXPIRED
    return SUCCEEDED


@internal
def _cast_vote(
    proposal_id: uint256, voter: address, support: uint8, reason: String[MAX_REASON], params: Bytes[MAX_PARAMS]
) -> uint256:
    core: uint256 = self._core[proposal_id]
    assert core != 0, "governor: unknown proposal"
    snapshot: uint256 = self._snapshot(core)
    deadline: uint256 = self._deadline(core)
    tally: uint256 = self._tally[proposal_id]
    # Active: snapshot < now <= deadline and not cancelled (a cancelled proposal was Pending,
    # and a proposal can only be queued or executed after its deadline).
    assert (
        snapshot < block.timestamp and block.timestamp <= deadline and tally & CANCELED_BIT == 0
    ), "governor: vote not currently active"
    assert not self.hasVoted[proposal_id][voter], "governor: vote already cast"
    self.hasVoted[proposal_id][voter] = True
    weight: uint256 = staticcall token.getPastVotes(voter, snapshot)

    old_tally: uint256 = tally
    if support == VOTE_AGAINST:
        # Cannot overflow 96 bits: the sum of all votes is at most the capped supply.
        tally = self._add_against(tally, weight)
    elif support == VOTE_FOR:
        tally = tally + weight
    elif support == VOTE_ABSTAIN:
        self._abstain[proposal_id] += weight
    else:
        raise "governor: invalid vote type"

    # Late-quorum protection: a vote cast inside the last `extension` seconds that turns the
    # outcome (passing = For > Against and For + Abstain >= quorum, either way round) moves the
    # deadline to now + extension, so the other side always has `extension` seconds to answer.
    # Every flip needs fresh voters (one vote each), so extensions are bounded by the voters.
    # Outside the window no vote can move the deadline, so the quorum is not even read.
    extended: uint256 = block.timestamp + self._extension(self._settings)
    if weight != 0 and extended > deadline:
        quorum: uint256 = self._quorum(snapshot)
        abstain_after: uint256 = self._abstain[proposal_id]
        abstain_before: uint256 = abstain_after
        if support == VOTE_ABSTAIN:
            abstain_before = abstain_after - weight
        if self._passes(old_tally, abstain_before, quorum) != self._passes(tally, abstain_after, quorum):
            self._core[proposal_id] = self._with_deadline(core, extended)
            log IClubGovernor.ProposalExtended(proposalId=proposal_id, extendedDeadline=convert(extended, uint64))
    self._tally[proposal_id] = tally

    if len(params) == 0:
        log IClubGovernor.VoteCast(voter=voter, proposalId=proposal_id, support=support, weight=weight, reason=reason)
    else:
        log IClubGovernor.VoteCastWithParams(
            voter=voter, proposalId=proposal_id, support=support, weight=weight, reason=reason, params=params
        )
    return weight


@internal
@view
def _active_guardian() -> address:
    word: uint256 = self._guardian
    if block.timestamp > self._guardian_term_end(word):
        return empty(address)
    return self._guardian_address(word)


@internal
@pure
def _passes(tally: uint256, abstain: uint256, quorum: uint256) -> bool:
    # The outcome if voting ended now: For beats Against and For + Abstain reach the quorum.
    for_votes: uint256 = self._for_votes(tally)
    return for_votes > self._against_votes(tally) and for_votes + abstain >= quorum


@internal
def _use_nonce(owner: address) -> uint256:
    nonce: uint256 = self.nonces[owner]
    self.nonces[owner] = nonce + 1
    return nonce


@internal
@view
def _proposal_threshold() -> uint256:
    threshold_bps: uint256 = self._threshold_bps(self._settings)
    # Rounded down, as in `propose`.
    return staticcall token.getPastTotalSupply(block.timestamp - 1) * threshold_bps // BPS


@internal
@view
def _quorum(timepoint: uint256) -> uint256:
    # Rounded down, as OZ's GovernorVotesQuorumFraction.
    return (
        staticcall token.getPastTotalSupply(timepoint) * self._quorum_numerator_at(timepoint) // quorumDenominator
    )


@internal
@view
def _quorum_numerator_at(timepoint: uint256) -> uint256:
    settings: uint256 = self._settings
    # Fast path (as OZ): the latest checkpoint, cached in `_settings`, is at or before the timepoint.
    if self._latest_numerator_time(settings) <= timepoint:
        return self._latest_numerator(settings)
    count: uint256 = self._quorum_count(settings)
    # Binary search for the last checkpoint at or before `timepoint`. Loop bound: 16
    # halvings cover the at most 2**16 checkpoints `_settings` can count.
    low: uint256 = 0
    high: uint256 = count
    for _: uint256 in range(16):
        if low >= high:
            break
        mid: uint256 = (low + high) // 2
        if self._checkpoint_time(self._quorum_history[mid]) > timepoint:
            high = mid
        else:
            low = mid + 1
    if high == 0:
        # Before the first checkpoint (deployment): use the first numerator.
        return self._checkpoint_numerator(self._quorum_history[0])
    return self._checkpoint_numerator(self._quorum_history[high - 1])


@internal
def _set_voting_delay(new_delay: uint256):
    assert new_delay <= MASK_48, "governor: voting delay too large"
    old: uint256 = self._voting_delay(self._settings)
    self._settings = self._with_field(self._settings, DELAY_SHIFT, MASK_48, new_delay)
    log IClubGovernor.VotingDelaySet(oldVotingDelay=old, newVotingDelay=new_delay)


@internal
def _set_voting_period(new_period: uint256):
    assert new_period != 0, "governor: zero voting period"
    assert new_period <= MASK_32, "governor: voting period too large"
    old: uint256 = self._voting_period(self._settings)
    self._settings = self._with_field(self._settings, PERIOD_SHIFT, MASK_32, new_period)
    log IClubGovernor.VotingPeriodSet(oldVotingPeriod=old, newVotingPeriod=new_period)


@internal
def _set_proposal_threshold_bps(new_bps: uint256):
    assert new_bps <= BPS, "governor: threshold above 100%"
    old: uint256 = self._threshold_bps(self._settings)
    self._settings = self._with_field(self._settings, THRESHOLD_SHIFT, MASK_16, new_bps)
    log IClubGovernor.ProposalThresholdBpsSet(oldProposalThresholdBps=old, newProposalThresholdBps=new_bps)


@internal
def _set_late_quorum_vote_extension(new_extension: uint256):
    assert new_extension <= MASK_48, "governor: extension too large"
    old: uint256 = self._extension(self._settings)
    self._settings = self._with_field(self._settings, EXTENSION_SHIFT, MASK_48, new_extension)
    log IClubGovernor.LateQuorumVoteExtensionSet(
        oldVoteExtension=convert(old, uint64), newVoteExtension=convert(new_extension, uint64)
    )


@internal
def _update_quorum_numerator(new_numerator: uint256):
    assert new_numerator <= quorumDenominator, "governor: quorum numerator above denominator"
    settings: uint256 = self._settings
    count: uint256 = self._quorum_count(settings)
    old: uint256 = 0
    if count != 0:
        latest: uint256 = self._quorum_history[count - 1]
        old = self._checkpoint_numerator(latest)
        if self._checkpoint_time(latest) == block.timestamp:
            # Same timepoint: overwrite, as OZ's checkpoint push does.
            self._quorum_history[count - 1] = self._pack_checkpoint(block.timestamp, new_numerator)
            self._settings = self._with_field(settings, QNUM_SHIFT, MASK_48, new_numerator)
            log IClubGovernor.QuorumNumeratorUpdated(oldQuorumNumerator=old, newQuorumNumerator=new_numerator)
            return
    assert count < MASK_16, "governor: too many quorum changes"
    self._quorum_history[count] = self._pack_checkpoint(block.timestamp, new_numerator)
    self._settings = self._with_quorum_cache(settings, count + 1, new_numerator, block.timestamp)
    log IClubGovernor.QuorumNumeratorUpdated(oldQuorumNumerator=old, newQuorumNumerator=new_numerator)


@internal
@pure
def _is_valid_suffix_for_proposer(proposer: address, tail: Bytes[52]) -> bool:
    # OZ 5: a description ending in "#proposer=0x" + 40 hex digits may only be proposed by
    # that address; anything else (no marker, a non-hex digit) is plain text. `tail` is the
    # description's last 52 bytes (shorter descriptions cannot carry the suffix).
    if slice(tail, 0, 12) != b"#proposer=0x":
        return True
    value: uint256 = 0
    # Loop bound: the 40 hex digits of an address.
    for i: uint256 in range(40):
        c: uint256 = convert(convert(slice(tail, 12 + i, 1), bytes1), uint256)
        digit: uint256 = 0
        if c >= 48 and c <= 57:
            digit = c - 48
        elif c >= 97 and c <= 102:
            digit = c - 87
        elif c >= 65 and c <= 70:
            digit = c - 55
        else:
            return True
        value = (value << 4) | digit
    return convert(convert(value, uint160), address) == proposer


# PACKED WORDS #
# Named accessors for the bit layouts declared with the constants; nothing else in this
# file shifts or masks a packed word, except `propose` and `execute`, which decode in place with
# the same named constants so that the accessors cost them no gas (flags are tested and set with
# the named *_BIT constants).


@internal
@pure
def _with_field(word: uint256, offset: uint256, mask: uint256, field: uint256) -> uint256:
    # `field` must fit in `mask` (the setters check it).
    return (word & ~(mask << offset)) | (field << offset)


@internal
@pure
def _proposer(core: uint256) -> address:
    return convert(convert(core & convert(max_value(uint160), uint256), uint160), address)


@internal
@pure
def _snapshot(core: uint256) -> uint256:
    return (core >> SNAPSHOT_SHIFT) & MASK_48


@internal
@pure
def _deadline(core: uint256) -> uint256:
    return core >> DEADLINE_SHIFT


@internal
@pure
def _with_deadline(core: uint256, deadline: uint256) -> uint256:
    return (core & ((1 << DEADLINE_SHIFT) - 1)) | (deadline << DEADLINE_SHIFT)


@internal
@pure
def _for_votes(tally: uint256) -> uint256:
    return tally & MASK_96


@internal
@pure
def _against_votes(tally: uint256) -> uint256:
    return (tally >> AGAINST_SHIFT) & MASK_96


@internal
@pure
def _add_against(tally: uint256, weight: uint256) -> uint256:
    # Cannot carry into the eta: the sum of all votes is at most the capped supply (< 2**96).
    return tally + (weight << AGAINST_SHIFT)


@internal
@pure
def _eta(tally: uint256) -> uint256:
    return (tally >> ETA_SHIFT) & MASK_48


@internal
@pure
def _with_eta(tally: uint256, eta: uint256) -> uint256:
    # Only called once, on a tally whose eta is still zero.
    return tally | (eta << ETA_SHIFT)


@internal
@pure
def _voting_delay(settings: uint256) -> uint256:
    return (settings >> DELAY_SHIFT) & MASK_48


@internal
@pure
def _voting_period(settings: uint256) -> uint256:
    return (settings >> PERIOD_SHIFT) & MASK_32


@internal
@pure
def _extension(settings: uint256) -> uint256:
    return (settings >> EXTENSION_SHIFT) & MASK_48


@internal
@pure
def _threshold_bps(settings: uint256) -> uint256:
    return (settings >> THRESHOLD_SHIFT) & MASK_16


@internal
@pure
def _quorum_count(settings: uint256) -> uint256:
    return (settings >> QCOUNT_SHIFT) & MASK_16


@internal
@pure
def _latest_numerator(settings: uint256) -> uint256:
    return (settings >> QNUM_SHIFT) & MASK_48


@internal
@pure
def _latest_numerator_time(settings: uint256) -> uint256:
    return settings >> QTIME_SHIFT


@internal
@pure
def _with_quorum_cache(settings: uint256, count: uint256, numerator: uint256, timepoint: uint256) -> uint256:
    # Keeps the low 144 bits (delay, period, extension, threshold); writes count, numerator, time.
    return (
        (settings & ((1 << QCOUNT_SHIFT) - 1))
        | (count << QCOUNT_SHIFT)
        | (numerator << QNUM_SHIFT)
        | (timepoint << QTIME_SHIFT)
    )


@internal
@pure
def _pack_checkpoint(timepoint: uint256, numerator: uint256) -> uint256:
    return timepoint | (numerator << CHECKPOINT_NUMERATOR_SHIFT)


@internal
@pure
def _checkpoint_time(checkpoint: uint256) -> uint256:
    return checkpoint & MASK_48


@internal
@pure
def _checkpoint_numerator(checkpoint: uint256) -> uint256:
    return checkpoint >> CHECKPOINT_NUMERATOR_SHIFT


@internal
@pure
def _pack_guardian(guardian: address, term_end: uint256) -> uint256:
    return convert(convert(guardian, uint160), uint256) | (term_end << GUARDIAN_TERM_SHIFT)


@internal
@pure
def _guardian_address(word: uint256) -> address:
    return convert(convert(word & convert(max_value(uint160), uint256), uint160), address)


@internal
@pure
def _guardian_term_end(word: uint256) -> uint256:
    return word >> GUARDIAN_TERM_SHIFT
