# pragma version 0.4.3
"""
@title Packed balances, delegation and ERC-5805 vote checkpoints (ERC-6372 timestamp clock)
@custom:contract-name votes
@license GNU Affero General Public License v3.0 only
@notice Reusable ledger module for a voting token: it owns the balances, the
        delegates and the vote checkpoints, so that it can pack them together,
        and answers `getVotes`, `getPastVotes` and `getPastTotalSupply` in
        O(log n) storage reads. The token keeps the ERC-20 rules (checks,
        allowances, events) and calls `_move_balance`, `_mint_balance`,
        `_burn_balance` and `_set_delegate`; those emit the ERC-20 `Transfer`
        before any `DelegateVotesChanged`, in OpenZeppelin's order.

        Why the layout (numbers in bench/results/token_gas.md):
        - *account slot*, one per address: balance (bits 0..89) and a SELF
          flag (bit 90). A holder that delegates to someone else stores the
          delegate in bits 96..255. A holder that delegates to itself needs no
          delegate field, so its own *vote state* lives there instead
          (bits 91..250). A transfer between self-delegated holders therefore
          reads and writes two slots plus the history, and a transfer between
          holders who do not delegate touches two slots, like a plain ERC-20.
        - *vote state* (160 bits): latest value (bits 0..89), its timepoint
          (bits 90..127), number of older checkpoints in the history
          (bits 128..159). It sits in the account slot (SELF holders) or in
          `_state` (delegatees that do not delegate to themselves, and the
          total supply under the key `empty(address)`). A change at the same
          timepoint rewrites only the vote state.
        - *history*: superseded checkpoints, two per slot (entry 2i in the
          low 128 bits of slot i, entry 2i+1 in the high 128 bits), each entry
          = value | timepoint << 90, i.e. the low 128 bits of a vote state.
          Every second push writes into a slot that already exists.
        The owning token must keep the total supply below 2**90 (ClubToken's
        cap of 1e27 wei is below 2**90 ~ 1.24e27), which bounds every balance
        and every vote value.
@custom:security Timepoints are block timestamps stored in 38 bits (valid until
                 the year 10,680). Delegating to the zero address means "not
                 counted", so the total-supply key never holds votes.
"""


from interfaces import IClubToken


# @dev Account slot layout (see above).
_BALANCE_BITS: constant(uint256) = 90
_BALANCE_MASK: constant(uint256) = (1 << _BALANCE_BITS) - 1
_SELF_BIT: constant(uint256) = 1 << 90
_KEEP_BALANCE_AND_SELF: constant(uint256) = (1 << 91) - 1
_ACCOUNT_STATE_SHIFT: constant(uint256) = 91
_DELEGATE_SHIFT: constant(uint256) = 96
# @dev Vote state layout (see above).
_STATE_MASK: constant(uint256) = (1 << 160) - 1
_VALUE_MASK: constant(uint256) = (1 << 90) - 1
_TIME_SHIFT: constant(uint256) = 90
_TIME_MASK: constant(uint256) = (1 << 38) - 1
_LEN_SHIFT: constant(uint256) = 128
_ENTRY_MASK: constant(uint256) = (1 << 128) - 1
# @dev Upper bound of binary-search iterations: the history length is a
# 32-bit number, so 33 halvings always finish the search.
_MAX_SEARCH_STEPS: constant(uint256) = 33


# @dev OpenZeppelin's `Checkpoints.Checkpoint208` as returned by `checkpoints`.
struct Checkpoint:
    fromBlock: uint48
    votes: uint208


# @dev Packed account slot per address: balance (wei) | SELF flag | own vote
# state (SELF holders) or delegate address (others).
_accounts: HashMap[address, uint256]

# @dev Vote state of delegatees that are not SELF holders; key `empty(address)`
# holds the total supply.
_state: HashMap[address, uint256]

# @dev Superseded checkpoints, two per slot: key -> slot index -> packed pair.
_history: HashMap[address, HashMap[uint256, uint256]]


# @dev Events: `Transfer` and `DelegateVotesChanged` are declared once, in
# interfaces/IClubToken.vyi (the token's ABI), and logged as `IClubToken.<Event>`.


@deploy
@payable
def __init__():
    """
    @dev Nothing to initialise; declared so tokens can `initializes:` it.
    """
    pass


# ERC-6372 / ERC-5805 VIEWS ##################################################


@external
@view
def clock() -> uint48:
    """
    @notice ERC-6372: the current timepoint, the block timestamp.
    @return uint48 The timepoint.
    """
    return convert(block.timestamp, uint48)


@external
@view
def CLOCK_MODE() -> String[14]:
    """
    @notice ERC-6372: votes are checkpointed by timestamp.
    @return String "mode=timestamp".
    """
    return "mode=timestamp"


@external
@view
def getVotes(account: address) -> uint256:
    """
    @notice Current voting power of `account` (tokens delegated to it), in wei.
    @param account The delegate.
    @return uint256 Its votes (wei).
    """
    if account == empty(address):
        return 0
    return self._vote_state(account) & _VALUE_MASK


@external
@view
def getPastVotes(account: address, timepoint: uint256) -> uint256:
    """
    @notice Voting power of `account` at the end of `timepoint` (a past timestamp).
    @dev Reverts for the current or a future timepoint, as ERC-5805 requires.
    @param account The delegate.
    @param timepoint A past timestamp.
    @return uint256 Its votes then (wei).
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    if account == empty(address):
        return 0
    return self._lookup(account, self._vote_state(account), timepoint)


@external
@view
def getPastTotalSupply(timepoint: uint256) -> uint256:
    """
    @notice Total supply at the end of `timepoint` (a past timestamp), in wei.
    @dev Reverts for the current or a future timepoint.
    @param timepoint A past timestamp.
    @return uint256 The supply then (wei).
    """
    assert timepoint < block.timestamp, "votes: future lookup"
    return self._lookup(empty(address), self._state[empty(address)], timepoint)


@external
@view
def numCheckpoints(account: address) -> uint32:
    """
    @notice Number of vote checkpoints of `account` (OpenZeppelin ERC20Votes view).
    @param account The delegate.
    @return uint32 Its checkpoint count.
    """
    if account == empty(address):
        return 0
    return convert(self._length(self._vote_state(account)), uint32)


@external
@view
def checkpoints(account: address, pos: uint32) -> Checkpoint:
    """
    @notice The `pos`-th vote checkpoint of `account`, oldest first (OpenZeppelin view).
    @param account The delegate.
    @param pos Index, 0 = oldest (below `numCheckpoints`).
    @return Checkpoint Its timepoint and votes (wei).
    """
    state: uint256 = 0
    if account != empty(address):
        state = self._vote_state(account)
    n: uint256 = self._length(state)
    assert convert(pos, uint256) < n, "votes: checkpoint out of range"
    entry: uint256 = state & _ENTRY_MASK
    if convert(pos, uint256) != n - 1:
        entry = self._entry(account, convert(pos, uint256))
    return Checkpoint(
        fromBlock=convert(entry >> _TIME_SHIFT, uint48),
        votes=convert(entry & _VALUE_MASK, uint208),
    )


# LEDGER (called by the token) ##############################################


@internal
@view
def _balance_of(account: address) -> uint256:
    """
    @dev Balance of `account` in wei.
    """
    return self._accounts[account] & _BALANCE_MASK


@internal
@view
def _delegate_of(account: address) -> address:
    """
    @dev Delegate of `account` (zero: its votes are not counted).
    """
    return self._delegate_in(account, self._accounts[account])


@internal
@view
def _total_supply() -> uint256:
    """
    @dev Current total supply (the latest supply checkpoint), in wei.
    """
    return self._state[empty(address)] & _VALUE_MASK


@internal
def _move_balance(owner: address, to: address, amount: uint256) -> bool:
    """
    @dev Moves `amount` wei from `owner` to `to` and the votes with it, emits
         `Transfer`; returns
         False, changing nothing, when `owner` holds less than `amount` (the
         token turns that into its revert reason). The token has checked that
         neither address is zero.
    """
    src: uint256 = self._accounts[owner]
    if src & _BALANCE_MASK < amount:
        return False
    # amount <= balance: the subtraction stays inside the balance bits.
    self._accounts[owner] = unsafe_sub(src, amount)
    # Read after the write so that a self-transfer sees the reduced balance.
    dst: uint256 = self._accounts[to]
    # balance(to) + amount <= supply < 2**90: no carry out of the balance bits.
    self._accounts[to] = unsafe_add(dst, amount)
    log IClubToken.Transfer(sender=owner, receiver=to, value=amount)
    if (src | dst) >> _BALANCE_BITS == 0:
        # Neither side delegates (nothing above the balance bits): no votes move.
        return True
    self._move_voting_power(self._delegate_in(owner, src), self._delegate_in(to, dst), amount)
    return True


@internal
def _mint_balance(owner: address, amount: uint256):
    """
    @dev Credits `amount` new wei to `owner`, emits `Transfer`, checkpoints the
         supply and the votes. The token has checked the cap, which keeps the supply < 2**90.
    """
    self._write(empty(address), amount, True)
    account: uint256 = self._accounts[owner]
    self._accounts[owner] = unsafe_add(account, amount)
    log IClubToken.Transfer(sender=empty(address), receiver=owner, value=amount)
    self._move_voting_power(empty(address), self._delegate_in(owner, account), amount)


@internal
def _burn_balance(owner: address, amount: uint256) -> bool:
    """
    @dev Destroys `amount` wei of `owner`, emits `Transfer`, checkpoints the
         supply and the votes; returns False, changing nothing, when `owner` holds less.
    """
    account: uint256 = self._accounts[owner]
    if account & _BALANCE_MASK < amount:
        return False
    self._accounts[owner] = unsafe_sub(account, amount)
    self._write(empty(address), amount, False)
    log IClubToken.Transfer(sender=owner, receiver=empty(address), value=amount)
    self._move_voting_power(self._delegate_in(owner, account), empty(address), amount)
    return True


@internal
def _set_delegate(account: address, delegatee: address) -> address:
    """
    @dev Makes `account`'s balance count for `delegatee`; returns the old delegate.
         When `account` starts or stops delegating to itself, its own vote
         state moves between `_state` and its account slot.
    """
    packed: uint256 = self._accounts[account]
    balance: uint256 = packed & _BALANCE_MASK
    was_self: bool = packed & _SELF_BIT != 0
    old: address = self._delegate_in(account, packed)
    new_packed: uint256 = packed
    if delegatee == account:
        if not was_self:
            own_state: uint256 = self._state[account]
            if own_state != 0:
                self._state[account] = 0
            new_packed = balance | _SELF_BIT | (own_state << _ACCOUNT_STATE_SHIFT)
    else:
        if was_self:
            self._state[account] = (packed >> _ACCOUNT_STATE_SHIFT) & _STATE_MASK
        new_packed = balance | (convert(delegatee, uint256) << _DELEGATE_SHIFT)
    self._accounts[account] = new_packed
    self._move_voting_power(old, delegatee, balance)
    return old


# INTERNAL ###################################################################


@internal
@pure
def _delegate_in(account: address, packed: uint256) -> address:
    """
    @dev Delegate of `account` given its account slot `packed`.
    """
    if packed & _SELF_BIT != 0:
        return account
    return convert(packed >> _DELEGATE_SHIFT, address)


@internal
@view
def _vote_state(key: address) -> uint256:
    """
    @dev Vote state of a delegatee `key` (not the supply key), wherever it lives.
    """
    packed: uint256 = self._accounts[key]
    if packed & _SELF_BIT != 0:
        return (packed >> _ACCOUNT_STATE_SHIFT) & _STATE_MASK
    return self._state[key]


@internal
@pure
def _length(state: uint256) -> uint256:
    """
    @dev Number of checkpoints: the history plus the latest one (if any).
    """
    if state == 0:
        return 0
    return (state >> _LEN_SHIFT) + 1


@internal
@view
def _entry(key: address, i: uint256) -> uint256:
    """
    @dev History entry `i` of `key` (value | timepoint << 90).
    """
    pair: uint256 = self._history[key][i >> 1]
    if i & 1 == 1:
        return pair >> 128
    return pair & _ENTRY_MASK


@internal
@view
def _lookup(key: address, state: uint256, timepoint: uint256) -> uint256:
    """
    @dev Value of `key` (whose vote state is `state`) at the end of `timepoint`:
         the latest checkpoint if it is not newer, else a binary search over
         the history for the last entry with time <= timepoint (0 if none).
    """
    if (state >> _TIME_SHIFT) & _TIME_MASK <= timepoint:
        return state & _VALUE_MASK
    low: uint256 = 0
    high: uint256 = state >> _LEN_SHIFT
    # Invariant: entries [0, low) have time <= timepoint, [high, n) have time > timepoint.
    for _: uint256 in range(_MAX_SEARCH_STEPS):
        if low >= high:
            break
        mid: uint256 = unsafe_div(unsafe_add(low, high), 2)
        if (self._entry(key, mid) >> _TIME_SHIFT) > timepoint:
            high = mid
        else:
            low = unsafe_add(mid, 1)
    if low == 0:
        return 0
    return self._entry(key, unsafe_sub(low, 1)) & _VALUE_MASK


@internal
def _write(key: address, delta: uint256, add: bool) -> (uint256, uint256):
    """
    @dev Adds or subtracts `delta` to the latest value of `key` (a delegatee,
         or `empty(address)` for the supply), checkpointing the previous value
         when the timepoint moved on. Returns (old, new). Reverts on underflow
         (a ledger bug: votes never exceed the balances delegated).
    """
    packed: uint256 = 0
    in_account: bool = False
    state: uint256 = 0
    if key != empty(address):
        packed = self._accounts[key]
        in_account = packed & _SELF_BIT != 0
    if in_account:
        state = (packed >> _ACCOUNT_STATE_SHIFT) & _STATE_MASK
    else:
        state = self._state[key]
    old: uint256 = state & _VALUE_MASK
    new: uint256 = 0
    if add:
        new = old + delta
    else:
        new = old - delta
    n: uint256 = state >> _LEN_SHIFT
    if state != 0 and (state >> _TIME_SHIFT) & _TIME_MASK != block.timestamp:
        # The latest checkpoint becomes history entry `n`.
        entry: uint256 = state & _ENTRY_MASK
        if n & 1 == 0:
            # Fresh slot: it is known to be empty, no read needed.
            self._history[key][n >> 1] = entry
        else:
            self._history[key][n >> 1] = self._history[key][n >> 1] | (entry << 128)
        n = unsafe_add(n, 1)
    new_state: uint256 = new | (block.timestamp << _TIME_SHIFT) | (n << _LEN_SHIFT)
    if in_account:
        self._accounts[key] = (packed & _KEEP_BALANCE_AND_SELF) | (new_state << _ACCOUNT_STATE_SHIFT)
    else:
        self._state[key] = new_state
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
        log IClubToken.DelegateVotesChanged(delegate=src, previousVotes=old, newVotes=new)
    if dst != empty(address):
        old: uint256 = 0
        new: uint256 = 0
        old, new = self._write(dst, amount, True)
        log IClubToken.DelegateVotesChanged(delegate=dst, previousVotes=old, newVotes=new)
