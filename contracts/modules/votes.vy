# pragma version 0.4.3
"""
@title Packed ERC-5805 vote checkpoints with an ERC-6372 timestamp clock
@custom:contract-name votes
@license GNU Affero General Public License v3.0 only
@notice Reusable module for a token that tells it how voting power moves.
        It keeps, per delegatee and for the total supply, a history of
        (timepoint, value) checkpoints and answers `getVotes`, `getPastVotes`
        and `getPastTotalSupply` in O(log n) storage reads.

        Storage layout (what makes votes cheap, see bench/results/token_gas.md):
        - one *state* slot per key holds the latest checkpoint and the length
          of the older history: value (bits 0..95), timepoint (bits 96..143),
          history length (bits 144..175). A change at the same timepoint
          rewrites only this slot; reading current votes costs one read.
        - superseded checkpoints move to a *history* packed two per slot:
          entry 2i in the low 128 bits of slot i, entry 2i+1 in the high 128
          bits; each entry is value (bits 0..89) | timepoint (bits 90..127).
          Every second push therefore writes into a slot that already exists.

        The owning token must keep every vote value and the total supply below
        2**90 (ClubToken's cap of 1e27 wei is below 2**90 ~ 1.24e27).
        The total supply history uses the key `empty(address)`; delegating to
        the zero address means "no delegate", so that key never holds votes.
@custom:security Timepoints are block timestamps stored in 38 bits in the
                 history (valid until the year 10,680) and in 48 bits in the
                 state slot (the ERC-6372 `uint48`).
"""


# @dev Bit masks and shifts of the packed layout described above.
_MASK_STATE_VALUE: constant(uint256) = (1 << 96) - 1
_MASK_48: constant(uint256) = (1 << 48) - 1
_STATE_TIME_SHIFT: constant(uint256) = 96
_STATE_LEN_SHIFT: constant(uint256) = 144
_MASK_ENTRY_VALUE: constant(uint256) = (1 << 90) - 1
_MASK_ENTRY_TIME: constant(uint256) = (1 << 38) - 1
_ENTRY_TIME_SHIFT: constant(uint256) = 90
_MASK_128: constant(uint256) = (1 << 128) - 1
# @dev Upper bound of binary-search iterations: the history length is a
# 32-bit number, so 33 halvings always finish the search.
_MAX_SEARCH_STEPS: constant(uint256) = 33


# @dev OpenZeppelin's `Checkpoints.Checkpoint208` as returned by `checkpoints`.
struct Checkpoint:
    fromBlock: uint48
    votes: uint208


# @dev Packed latest checkpoint + history length per key (see layout above).
# Key `empty(address)` is the total supply.
_state: HashMap[address, uint256]

# @dev Superseded checkpoints, two per slot, per key: key -> slot index -> packed pair.
_history: HashMap[address, HashMap[uint256, uint256]]


# @dev Emitted when a delegatee's voting power changes (OpenZeppelin's exact
# signature, so governance indexers read it unchanged). Units: token wei.
event DelegateVotesChanged:
    delegate: indexed(address)
    previousVotes: uint256
    newVotes: uint256


@deploy
@payable
def __init__():
    """
    @dev Nothing to initialise; declared so tokens can `initializes:` it.
    """
    pass


@external
@view
def clock() -> uint48:
    """
    @notice ERC-6372: the current timepoint, the block timestamp.
    """
    return convert(block.timestamp, uint48)


@external
@view
def CLOCK_MODE() -> String[14]:
    """
    @notice ERC-6372: votes are checkpointed by timestamp.
    """
    return "mode=timestamp"


@external
@view
def getVotes(account: address) -> uint256:
    """
    @notice Current voting power of `account` (tokens delegated to it).
    """
    if account == empty(address):
        return 0
    return self._state[account] & _MASK_STATE_VALUE


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Voting power of `account` at the end of `timepoint` (a past timestamp).
    @dev Reverts for the current or a future timepoint, as ERC-5805 requires.
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    if account == empty(address):
        return 0
    return self._lookup(account, timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @notice Total supply at the end of `timepoint` (a past timestamp).
    @dev Reverts for the current or a future timepoint.
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    return self._lookup(empty(address), timepoint)


@external
@view
def numCheckpoints(account: address) -> uint32:
    """
    @notice Number of checkpoints of `account` (OpenZeppelin ERC20Votes view).
    """
    if account == empty(address):
        return 0
    return convert(self._length(self._state[account]), uint32)


@external
@view
def checkpoints(account: address, pos: uint32) -> Checkpoint:
    """
    @notice The `pos`-th checkpoint of `account`, oldest first (OpenZeppelin view).
    """
    state: uint256 = self._state[account]
    n: uint256 = self._length(state)
    assert account != empty(address) and convert(pos, uint256) < n, "votes: checkpoint out of range"
    if convert(pos, uint256) == n - 1:
        return Checkpoint(
            fromBlock=convert((state >> _STATE_TIME_SHIFT) & _MASK_48, uint48),
            votes=convert(state & _MASK_STATE_VALUE, uint208),
        )
    entry: uint256 = self._entry(account, convert(pos, uint256))
    return Checkpoint(
        fromBlock=convert(entry >> _ENTRY_TIME_SHIFT, uint48),
        votes=convert(entry & _MASK_ENTRY_VALUE, uint208),
    )


@internal
@view
def _length(state: uint256) -> uint256:
    """
    @dev Number of checkpoints: the history plus the latest one (if any).
    """
    if state == 0:
        return 0
    return (state >> _STATE_LEN_SHIFT) + 1


@internal
@view
def _entry(key: address, i: uint256) -> uint256:
    """
    @dev History entry `i` of `key` (value | timepoint << 90).
    """
    pair: uint256 = self._history[key][i >> 1]
    if i & 1 == 1:
        return pair >> 128
    return pair & _MASK_128


@internal
@view
def _lookup(key: address, timepoint: uint256) -> uint256:
    """
    @dev Value of `key` at the end of `timepoint`: the latest checkpoint if it
         is not newer, else a binary search over the history for the last
         entry with entry time <= timepoint (0 when there is none).
    """
    state: uint256 = self._state[key]
    if (state >> _STATE_TIME_SHIFT) & _MASK_48 <= timepoint:
        return state & _MASK_STATE_VALUE
    low: uint256 = 0
    high: uint256 = state >> _STATE_LEN_SHIFT
    # Invariant: entries [0, low) have time <= timepoint, [high, n) have time > timepoint.
    for _: uint256 in range(_MAX_SEARCH_STEPS):
        if low >= high:
            break
        mid: uint256 = unsafe_div(unsafe_add(low, high), 2)
        if (self._entry(key, mid) >> _ENTRY_TIME_SHIFT) > timepoint:
            high = mid
        else:
            low = unsafe_add(mid, 1)
    if low == 0:
        return 0
    return self._entry(key, unsafe_sub(low, 1)) & _MASK_ENTRY_VALUE


@internal
def _write(key: address, delta: uint256, add: bool) -> (uint256, uint256):
    """
    @dev Adds or subtracts `delta` to the latest value of `key`, checkpointing
         the previous value when the timepoint moved on. Returns (old, new).
         Reverts on underflow (a token bug: votes never exceed balances).
    """
    state: uint256 = self._state[key]
    old: uint256 = state & _MASK_STATE_VALUE
    new: uint256 = 0
    if add:
        new = old + delta
    else:
        new = old - delta
    last_time: uint256 = (state >> _STATE_TIME_SHIFT) & _MASK_48
    n: uint256 = state >> _STATE_LEN_SHIFT
    if last_time != block.timestamp and state != 0:
        # The latest checkpoint becomes history entry `n`.
        entry: uint256 = old | (last_time << _ENTRY_TIME_SHIFT)
        if n & 1 == 0:
            # Fresh slot: it is known to be empty, no read needed.
            self._history[key][n >> 1] = entry
        else:
            self._history[key][n >> 1] = self._history[key][n >> 1] | (entry << 128)
        n = unsafe_add(n, 1)
    self._state[key] = new | (block.timestamp << _STATE_TIME_SHIFT) | (n << _STATE_LEN_SHIFT)
    return old, new


@internal
def _move_voting_power(src: address, dst: address, amount: uint256):
    """
    @dev Moves `amount` votes from delegatee `src` to delegatee `dst`
         (either may be the zero address, meaning "not counted").
    """
    if src == dst or amount == 0:
        return
    if src != empty(address):
        old: uint256 = 0
        new: uint256 = 0
        old, new = self._write(src, amount, False)
        log DelegateVotesChanged(delegate=src, previousVotes=old, newVotes=new)
    if dst != empty(address):
        old: uint256 = 0
        new: uint256 = 0
        old, new = self._write(dst, amount, True)
        log DelegateVotesChanged(delegate=dst, previousVotes=old, newVotes=new)


@internal
def _add_supply(amount: uint256) -> uint256:
    """
    @dev Checkpoints a mint; returns the new total supply.
    """
    old: uint256 = 0
    new: uint256 = 0
    old, new = self._write(empty(address), amount, True)
    return new


@internal
def _sub_supply(amount: uint256) -> uint256:
    """
    @dev Checkpoints a burn; returns the new total supply.
    """
    old: uint256 = 0
    new: uint256 = 0
    old, new = self._write(empty(address), amount, False)
    return new


@internal
@view
def _total_supply() -> uint256:
    """
    @dev Current total supply (the latest supply checkpoint).
    """
    return self._state[empty(address)] & _MASK_STATE_VALUE
