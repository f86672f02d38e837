# pragma version 0.4.3
"""
@title Bounded-depth 8-ary sum trees of node weights, one tree per node kind
@custom:contract-name sumtree
@license GNU Affero General Public License v3.0 only
@notice Each node kind (a single flag bit such as RELAY = 1) owns a sum tree
        over at most `CAPACITY` = 2**16 leaves. A leaf ("slot") is handed to a
        node once, when it registers with the kind, and keeps its index for
        ever; its value is the node's weight in whole CLUB (0 while the node is
        not eligible).

        Layout. Every tree word packs the sums of 8 children in 32-bit lanes:
        word (level l, index i) holds in lane c the sum of the leaves
        [(8i + c) * 8**l, (8i + c + 1) * 8**l). Level 0 words hold the leaves
        themselves. A point update therefore reads and writes one word per
        level, and a weighted search reads one word per level: with
        `height` = the smallest h with 8**h >= the slots handed out so far,
        both cost `height` storage words, i.e. log8(n) (5 words at n = 10,000,
        at most MAX_HEIGHT = 6). A Fenwick tree needs log2(n) words instead.

        Growth. When a new slot crosses the capacity 8**height of the current
        tree, a new root word (level height, index 0) is written whose lane 0
        is the old root's total (every slot above the old capacity is empty),
        and the height grows by one.

        Units. Lanes are 32 bits: a weight is a node's bonded stake in whole
        CLUB (rounded down), and any lane is a sum of weights of one kind, i.e.
        at most the CLUB supply. `_update` reverts with a clear reason instead
        of letting a lane overflow (the CLUB cap, 10**9, is 4x below 2**32).
@custom:security The module does not check who calls it; the registry is the
                 only caller and keeps each leaf equal to its own record of the
                 node's weight.
"""


# @dev Bits per lane and the lane mask.
LANE_BITS: constant(uint256) = 32
LANE_MASK: constant(uint256) = 2**32 - 1
# @dev Children per word (8 = 2**3) and the largest height (8**6 >= CAPACITY).
FANOUT: constant(uint256) = 8
MAX_HEIGHT: constant(uint256) = 6
# @dev Slots per kind; slot indices are 0-based: 0 .. CAPACITY - 1.
CAPACITY: constant(uint256) = 65536
# @dev Longest exclusion list `_find` accepts (sampling draws at most this many).
MAX_EXCLUDED: constant(uint256) = 32


# @dev tree key (kind, level, index) => 8 lanes of 32-bit child sums.
tree: HashMap[uint256, uint256]
# @dev kind bit => slots handed out (low 32 bits) | height << 32.
shape: HashMap[uint256, uint256]
# @dev owner key (kind, slot) => the node that owns the slot.
owner: HashMap[uint256, address]


@internal
@pure
def _key(kind: uint256, level: uint256, index: uint256) -> uint256:
    # kind < 2**8, level < 2**8, index < 2**16: the fields never overlap.
    return (kind << 64) | (level << 32) | index


@internal
@view
def _owner(kind: uint256, slot: uint256) -> address:
    """
    @dev The node that owns `slot` of `kind`.
    """
    return self.owner[(kind << 32) | slot]


@internal
def _new_slot(kind: uint256, node: address) -> uint256:
    """
    @dev Hands the next free slot of `kind` to `node` (leaf value 0).
    @return uint256 The 0-based slot index.
    """
    shape: uint256 = self.shape[kind]
    slot: uint256 = shape & LANE_MASK
    height: uint256 = shape >> LANE_BITS
    assert slot < CAPACITY, "registry: kind is full"
    if height == 0:
        height = 1
    elif slot == FANOUT**height:
        # The old tree is full: its total becomes lane 0 of a new root.
        self.tree[self._key(kind, height, 0)] = self._sum_lanes(self.tree[self._key(kind, height - 1, 0)])
        height += 1
    self.shape[kind] = (height << LANE_BITS) | (slot + 1)
    self.owner[(kind << 32) | slot] = node
    return slot


@internal
def _update(kind: uint256, slot: uint256, old_value: uint256, new_value: uint256):
    """
    @dev Moves the leaf at `slot` from `old_value` (its current value) to
         `new_value`, and every word above it by the same difference.
    """
    height: uint256 = self.shape[kind] >> LANE_BITS
    index: uint256 = slot
    # Bound: one word per level, height <= MAX_HEIGHT.
    for level: uint256 in range(MAX_HEIGHT):
        if level >= height:
            break
        offset: uint256 = (index % FANOUT) * LANE_BITS
        index //= FANOUT
        key: uint256 = self._key(kind, level, index)
        word: uint256 = self.tree[key]
        lane: uint256 = (word >> offset) & LANE_MASK
        # Checked arithmetic: a lane never goes below 0 (the caller passes the
        # leaf's true value) and never above 2**32 - 1.
        new_lane: uint256 = lane + new_value - old_value
        assert new_lane <= LANE_MASK, "registry: weight overflow"
        self.tree[key] = word ^ ((lane ^ new_lane) << offset)


@internal
@pure
def _sum_lanes(word: uint256) -> uint256:
    total: uint256 = 0
    # Bound: 8 lanes.
    for c: uint256 in range(FANOUT):
        total += (word >> (c * LANE_BITS)) & LANE_MASK
    return total


@internal
@view
def _total(kind: uint256) -> uint256:
    """
    @dev Sum of all leaves of `kind`.
    """
    height: uint256 = self.shape[kind] >> LANE_BITS
    if height == 0:
        return 0
    return self._sum_lanes(self.tree[self._key(kind, height - 1, 0)])


@internal
@view
def _find(
    kind: uint256,
    target: uint256,
    excluded_slots: DynArray[uint256, MAX_EXCLUDED],
    excluded_weights: DynArray[uint256, MAX_EXCLUDED],
) -> (uint256, uint256):
    """
    @dev The slot whose leaf holds position `target` of the leaves laid end to
         end in slot order, with the excluded slots' leaves taken out. The
         caller guarantees target < total - sum(excluded_weights) and that each
         excluded weight is exactly that slot's leaf, so the answer is a slot
         with a non-zero remaining leaf and a draw is proportional to the
         remaining weight.
    @return (uint256, uint256) The 0-based slot and its leaf value.
    """
    height: uint256 = self.shape[kind] >> LANE_BITS
    index: uint256 = 0
    rest: uint256 = target
    lane: uint256 = 0
    # Bound: one word per level, height <= MAX_HEIGHT.
    for step: uint256 in range(MAX_HEIGHT):
        if step >= height:
            break
        level: uint256 = height - 1 - step
        word: uint256 = self.tree[self._key(kind, level, index)]
        # The excluded leaves below this word, per lane.
        taken: uint256[FANOUT] = empty(uint256[FANOUT])
        span_bits: uint256 = 3 * level
        # Bound: the exclusion list has at most MAX_EXCLUDED entries.
        for j: uint256 in range(MAX_EXCLUDED):
            if j >= len(excluded_slots):
                break
            s: uint256 = excluded_slots[j]
            if s >> (span_bits + 3) == index:
                taken[(s >> span_bits) % FANOUT] += excluded_weights[j]
        child: uint256 = FANOUT
        # Bound: 8 lanes.
        for c: uint256 in range(FANOUT):
            lane = (word >> (c * LANE_BITS)) & LANE_MASK
            value: uint256 = lane - taken[c]
            if rest < value:
                child = c
                break
            rest -= value
        assert child < FANOUT, "registry: sum tree out of sync"
        index = index * FANOUT + child
    return index, lane
