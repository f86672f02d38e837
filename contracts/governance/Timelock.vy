# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title Club Chat Timelock
@license GNU Affero General Public License v3.0 only
@notice snekmate's `timelock_controller` plus an execution grace period: an
        operation that became ready more than `GRACE_PERIOD` seconds ago can no
        longer be executed (ClubGovernor shows its proposal as Expired). The
        Timelock holds every admin and parameter role of the protocol and the
        DAO treasury; ClubGovernor is its only proposer and canceller and the
        executor role is open (granted to the zero address), so anyone may
        execute a ready operation.

        Batch scheduling and execution are re-implemented here (same operation
        ids, events and checks as the module) with a bound of `MAX_BATCH`
        calls instead of the module's 255: Vyper reserves memory for the
        declared bound and every byte of it moves later variables up, so the
        smaller bound keeps `schedule_batch`/`execute_batch` cheap.
@custom:security Operations can call back into this contract (self-administration:
                 `grantRole`, `update_delay` are module functions and therefore not
                 guarded by this file's reentrancy lock). `execute`/`execute_batch`
                 are guarded, so an operation cannot execute another operation.
"""


from ethereum.ercs import IERC165
implements: IERC165


from snekmate.auth import access_control
initializes: access_control


from snekmate.governance import timelock_controller
initializes: timelock_controller[access_control := access_control]


# @dev Everything of the module except `execute` and `execute_batch` (wrapped
# below for the grace period) and `schedule_batch` (re-bounded below).
exports: (
    access_control.DEFAULT_ADMIN_ROLE,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.set_role_admin,
    timelock_controller.PROPOSER_ROLE,
    timelock_controller.EXECUTOR_ROLE,
    timelock_controller.CANCELLER_ROLE,
    timelock_controller.IERC721_TOKENRECEIVER_SELECTOR,
    timelock_controller.IERC1155_TOKENRECEIVER_SINGLE_SELECTOR,
    timelock_controller.IERC1155_TOKENRECEIVER_BATCH_SELECTOR,
    timelock_controller.get_timestamp,
    timelock_controller.get_minimum_delay,
    timelock_controller.supportsInterface,
    timelock_controller.is_operation,
    timelock_controller.is_operation_pending,
    timelock_controller.is_operation_ready,
    timelock_controller.is_operation_done,
    timelock_controller.get_operation_state,
    timelock_controller.hash_operation,
    timelock_controller.schedule,
    timelock_controller.cancel,
    timelock_controller.update_delay,
    timelock_controller.onERC721Received,
    timelock_controller.onERC1155Received,
    timelock_controller.onERC1155BatchReceived,
)


# @dev Most calls in one batch operation (ClubGovernor's proposal bound).
MAX_BATCH: public(constant(uint256)) = 16


# @dev Largest calldata of one call, in bytes (the module's bound).
MAX_PAYLOAD: constant(uint256) = 1_024


# @dev Seconds after an operation becomes ready during which it can be executed.
GRACE_PERIOD: public(immutable(uint256))


# @dev Emitted once at deployment with the grace period in seconds.
event GracePeriodSet:
    grace_period: uint256


@deploy
@payable
def __init__(
    minimum_delay_: uint256,
    grace_period_: uint256,
    proposers_: DynArray[address, 4],
    executors_: DynArray[address, 4],
    admin_: address,
):
    """
    @dev Deploys the timelock, self-administered. `admin_` (optional, zero to
         disable) may wire roles before the hand-over and must then renounce.
    @param minimum_delay_ Minimum delay of every operation, in seconds.
    @param grace_period_ Seconds a ready operation stays executable.
    @param proposers_ Accounts granted PROPOSER_ROLE and CANCELLER_ROLE.
    @param executors_ Accounts granted EXECUTOR_ROLE (zero address = anyone).
    @param admin_ Optional temporary admin (DEFAULT_ADMIN_ROLE).
    """
    assert grace_period_ != 0, "timelock: zero grace period"
    access_control.__init__()
    timelock_controller.__init__(minimum_delay_, proposers_, executors_, admin_)
    GRACE_PERIOD = grace_period_
    log GracePeriodSet(grace_period=grace_period_)


@external
@payable
def __default__():
    """
    @dev The treasury receives ETH.
    """
    pass


@external
@pure
def hash_operation_batch(
    targets: DynArray[address, MAX_BATCH],
    amounts: DynArray[uint256, MAX_BATCH],
    payloads: DynArray[Bytes[MAX_PAYLOAD], MAX_BATCH],
    predecessor: bytes32,
    salt: bytes32,
) -> bytes32:
    """
    @dev Identifier of a batch operation (identical to the module's and OZ's).
    @param targets Called contracts.
    @param amounts Wei sent with each call.
    @param payloads Calldata of each call.
    @param predecessor Operation that must be done first (or zero).
    @param salt Disambiguation salt.
    @return bytes32 The operation id.
    """
    return keccak256(abi_encode(targets, amounts, payloads, predecessor, salt))


@external
def schedule_batch(
    targets: DynArray[address, MAX_BATCH],
    amounts: DynArray[uint256, MAX_BATCH],
    payloads: DynArray[Bytes[MAX_PAYLOAD], MAX_BATCH],
    predecessor: bytes32,
    salt: bytes32,
    delay: uint256,
) -> bytes32:
    """
    @dev Schedules a batch operation. Caller needs PROPOSER_ROLE.
         Emits one `CallScheduled` per call and `CallSalt` for a non-zero salt.
         Returns the operation id, so a proposer (the governor) stores it without
         hashing the batch a second time.
    @param targets Called contracts.
    @param amounts Wei sent with each call.
    @param payloads Calldata of each call.
    @param predecessor Operation that must be done first (or zero).
    @param salt Disambiguation salt.
    @param delay Seconds until ready, at least the minimum delay.
    @return bytes32 The operation id (`hash_operation_batch` of the same arguments).
    """
    access_control._check_role(timelock_controller.PROPOSER_ROLE, msg.sender)
    assert len(targets) == len(amounts) and len(targets) == len(payloads), "timelock: length mismatch"
    id: bytes32 = keccak256(abi_encode(targets, amounts, payloads, predecessor, salt))
    timelock_controller._schedule(id, delay)
    # Loop bound: MAX_BATCH.
    for idx: uint256 in range(len(targets), bound=MAX_BATCH):
        log timelock_controller.CallScheduled(
            id=id,
            index=idx,
            target=targets[idx],
            amount=amounts[idx],
            payload=payloads[idx],
            predecessor=predecessor,
            delay=delay,
        )
    if salt != empty(bytes32):
        log timelock_controller.CallSalt(id=id, salt=salt)
    return id


@external
@payable
def execute(target: address, amount: uint256, payload: Bytes[MAX_PAYLOAD], predecessor: bytes32, salt: bytes32):
    """
    @dev Executes a ready, unexpired single-call operation. Needs EXECUTOR_ROLE
         (open when the zero address holds it).
    @param target Called contract.
    @param amount Wei sent with the call.
    @param payload Calldata.
    @param predecessor Operation that must be done first (or zero).
    @param salt Disambiguation salt.
    """
    timelock_controller._only_role_or_open_role(timelock_controller.EXECUTOR_ROLE)
    id: bytes32 = keccak256(abi_encode(target, amount, payload, predecessor, salt))
    self._check_not_expired(id)
    timelock_controller._before_call(id, predecessor)
    timelock_controller._execute(target, amount, payload)
    log timelock_controller.CallExecuted(id=id, index=0, target=target, amount=amount, payload=payload)
    timelock_controller._after_call(id)


@external
@payable
def execute_batch(
    targets: DynArray[address, MAX_BATCH],
    amounts: DynArray[uint256, MAX_BATCH],
    payloads: DynArray[Bytes[MAX_PAYLOAD], MAX_BATCH],
    predecessor: bytes32,
    salt: bytes32,
):
    """
    @dev Executes a ready, unexpired batch operation. Needs EXECUTOR_ROLE
         (open when the zero address holds it).
    @param targets Called contracts.
    @param amounts Wei sent with each call.
    @param payloads Calldata of each call.
    @param predecessor Operation that must be done first (or zero).
    @param salt Disambiguation salt.
    """
    timelock_controller._only_role_or_open_role(timelock_controller.EXECUTOR_ROLE)
    assert len(targets) == len(amounts) and len(targets) == len(payloads), "timelock: length mismatch"
    id: bytes32 = keccak256(abi_encode(targets, amounts, payloads, predecessor, salt))
    self._check_not_expired(id)
    timelock_controller._before_call(id, predecessor)
    # Loop bound: MAX_BATCH.
    for idx: uint256 in range(len(targets), bound=MAX_BATCH):
        timelock_controller._execute(targets[idx], amounts[idx], payloads[idx])
        log timelock_controller.CallExecuted(
            id=id, index=idx, target=targets[idx], amount=amounts[idx], payload=payloads[idx]
        )
    timelock_controller._after_call(id)


@external
@view
def is_operation_expired(id: bytes32) -> bool:
    """
    @dev Whether a pending operation's grace period has passed (it can only be cancelled).
    @param id The operation id.
    @return bool True once `block.timestamp > ready time + GRACE_PERIOD`.
    """
    ready_at: uint256 = timelock_controller.get_timestamp[id]
    # 1 marks a done operation (the module's _DONE_TIMESTAMP); 0 an unset one.
    return ready_at > 1 and block.timestamp > ready_at + GRACE_PERIOD


@internal
@view
def _check_not_expired(id: bytes32):
    ready_at: uint256 = timelock_controller.get_timestamp[id]
    # Unset (0) and done (1) operations are rejected by `_before_call` with the module's reason.
    assert ready_at <= 1 or block.timestamp <= ready_at + GRACE_PERIOD, "timelock: operation expired"
