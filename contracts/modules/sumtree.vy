# pragma version 0.4.3
"""
@title Bounded-depth 4-ary sum trees of node weights, one tree per node kind,
       each word double-buffered so that sampling sees the weights frozen at
       the start of the current epoch
@custom:contract-name sumtree
@license GNU Affero General Public License v3.0 only
@notice Each node kind (a single flag bit such as RELAY = 1) owns a sum tree
        over at most `CAPACITY` = 2**16 leaves. A leaf ("slot") is handed to a
        node when it registers with the kind and keeps its index until the
        node deregisters; its value is the node's weight in whole CLUB (0 while
        the node is not eligible).

        Free slots. A deregistering node's slots (leaf 0 by then) go to a
        first-in first-out queue per kind and are handed out again before
        new slots, but never in the epoch in which they were freed: the
        frozen view of that epoch may still hold the old node's weight in the
        leaf (the sampler would draw the new owner with it). From the next
        epoch on the frozen view of the leaf is 0 (a word's frozen lanes are
        its live lanes at the epoch's start), so the slot is clean.

        Layout. Every tree word packs the sums of 4 children twice, in 30-bit
        lanes: the live sums (bits 0-119, lane c at 30 c), the sums frozen at
        the start of the epoch in which the word was last written (bits
        120-239) and that epoch's tag (bits 240-255, see `_tag` below).
        Word (level l, index i) holds in lane c the sum of the leaves
        [(4i + c) * 4**l, (4i + c + 1) * 4**l). Level 0 words hold the leaves
        themselves. A point update reads and writes one word per level, and a
        weighted search reads one word per level: with `height` = the smallest
        h with 4**h >= the slots handed out so far, both cost `height` storage
        words, i.e. log4(n) (7 words at n = 10,000, at most MAX_HEIGHT = 8).

        Frozen view (why the trees are double-buffered). The weights a draw
        uses must not change during an epoch, or an operator could re-roll
        every draw by moving 1 CLUB. The registry passes
        the tag of the current epoch to every write and read. The first write
        of a word in a new epoch copies its live lanes into its frozen lanes
        and sets the tag, in the same SSTORE (no extra storage, no loop at the
        boundary: the roll-over is lazy, word by word). A reader in epoch E
        takes the frozen lanes of a word whose tag is E's, and the live lanes
        of any other word (it was not written in E, so its live lanes are what
        they were when E started). Every frozen-view lane is therefore the sum
        of the leaves as they were at the start of E.

        Tags. A tag is (epoch mod 65,535) + 1 in 16 bits (0 = never written),
        so a word untouched for a multiple of exactly 65,535 epochs would be
        misread: 179 years with the deployed one-day epoch.

        Growth. When a new slot crosses the capacity 4**height of the current
        tree, a new root word (level height, index 0) is written whose lane 0
        is the old root's total (every slot above the old capacity is empty),
        live and frozen, and the height grows by one.

        Units. Lanes are 30 bits: a weight is a node's bonded stake in whole
        CLUB (rounded down), and any lane is a sum of weights of one kind, i.e.
        at most the CLUB supply (capped at 10**9 < 2**30). `_update` reverts
        with a clear reason instead of letting a lane overflow.
@custom:security The module does not check who calls it; the registry is the
                 only caller and keeps each leaf equal to its own record of the
                 node's weight.
"""


# @dev Bits per lane, the lane mask, and the offset of the frozen lanes and of the tag.
LANE_BITS: constant(uint256) = 30
LANE_MASK: constant(uint256) = 2**30 - 1
LIVE_MASK: constant(uint256) = 2**120 - 1
FROZEN_SHIFT: constant(uint256) = 120
TAG_SHIFT: constant(uint256) = 240
# @dev Masks of a slot index (16 bits) and of a queue position (32 bits).
SLOT_MASK: constant(uint256) = 2**16 - 1
MASK32: constant(uint256) = 2**32 - 1
# @dev Fields of a `shape` word above the slots handed out (bits 0-31): the free-slot
#      queue's head and tail, and the height on top (read without a mask by every update).
QUEUE_HEAD_SHIFT: constant(uint256) = 32
QUEUE_TAIL_SHIFT: constant(uint256) = 64
HEIGHT_SHIFT: constant(uint256) = 96
QUEUE_FIELDS: constant(uint256) = (2**64 - 1) << QUEUE_HEAD_SHIFT
# @dev Tags cycle through 1 .. TAG_PERIOD (0 = never written).
TAG_PERIOD: constant(uint256) = 65535
# @dev Children per word (4 = 2**2) and the largest height (4**8 = CAPACITY).
FANOUT: constant(uint256) = 4
MAX_HEIGHT: constant(uint256) = 8
# @dev Slots per kind; slot indices are 0-based: 0 .. CAPACITY - 1.
CAPACITY: constant(uint256) = 65536
# @dev Longest exclusion list `_find` accepts (sampling draws at most this many).
MAX_EXCLUDED: constant(uint256) = 32


# @dev tree key (kind, level, index) => tag << 240 | 4 frozen lanes << 120 | 4 live lanes (30 bits each).
tree: HashMap[uint256, uint256]
# @dev kind bit => slots handed out (bits 0-31) | free-slot queue head (32-63) and tail
#      (64-95), entries head .. tail - 1 | height (96-). One word: a registration reads the
#      queue and the slot count in one slot.
shape: HashMap[uint256, uint256]
# @dev owner key (kind, slot) => the node that owns the slot (or owned it last, while it is free).
owner: HashMap[uint256, address]
# @dev owner key (kind, queue position) => freed slot (low 16 bits) | tag of the epoch it was freed in.
free_slots: HashMap[uint256, uint256]


@internal
@pure
def _tag(epoch: uint256) -> uint256:
    """
    @dev The 16-bit tag of `epoch` (never 0).
    """
    return epoch % TAG_PERIOD + 1


@internal
@pure
def _key(kind: uint256, level: uint256, index: uint256) -> uint256:
    # kind < 2**8, level < 2**8, index < 2**16: the fields never overlap.
    return (kind << 64) | (level << 32) | index


@internal
@pure
def _lanes(word: uint256, tag: uint256, frozen: bool) -> uint256:
    """
    @dev The 4 lanes (120 bits) a reader in the epoch of `tag` sees: the
         frozen lanes when `frozen` and the word was written in that epoch,
         the live lanes otherwise.
    """
    if frozen and word >> TAG_SHIFT == tag:
        return (word >> FROZEN_SHIFT) & LIVE_MASK
    return word & LIVE_MASK


@internal
@pure
def _rolled(word: uint256, tag: uint256) -> uint256:
    """
    @dev `word` ready for a write in the epoch of `tag`: on the first write of
         that epoch its live lanes are copied into its frozen lanes.
    """
    if word >> TAG_SHIFT == tag:
        return word
    live: uint256 = word & LIVE_MASK
    return (tag << TAG_SHIFT) | (live << FROZEN_SHIFT) | live


@internal
@view
def _owner(kind: uint256, slot: uint256) -> address:
    """
    @dev The node that owns `slot` of `kind`.
    """
    return self.owner[(kind << 32) | slot]


@internal
def _new_slot(kind: uint256, node: address, tag: uint256) -> uint256:
    """
    @dev Hands a slot of `kind` to `node` (leaf value 0): the oldest freed
         slot if it was freed before the epoch of `tag`, else the next new one.
    @return uint256 The 0-based slot index.
    """
    shape: uint256 = self.shape[kind]
    head: uint256 = (shape >> QUEUE_HEAD_SHIFT) & MASK32
    if head < (shape >> QUEUE_TAIL_SHIFT) & MASK32:
        entry: uint256 = self.free_slots[(kind << 32) | head]
        # FIFO: when the oldest was freed in this epoch, so were the others.
        if entry >> 16 != tag:
            reused: uint256 = entry & SLOT_MASK
            self.shape[kind] = shape + (1 << QUEUE_HEAD_SHIFT)
            self.owner[(kind << 32) | reused] = node
            return reused
    slot: uint256 = shape & MASK32
    height: uint256 = shape >> HEIGHT_SHIFT
    assert slot < CAPACITY, "registry: kind is full"
    if height == 0:
        height = 1
    elif slot == FANOUT**height:
        # The old tree is full: its totals (live and frozen view) become lane 0 of a new root.
        old_root: uint256 = self.tree[self._key(kind, height - 1, 0)]
        live: uint256 = self._sum_lanes(old_root & LIVE_MASK)
        frozen: uint256 = self._sum_lanes(self._lanes(old_root, tag, True))
        self.tree[self._key(kind, height, 0)] = (tag << TAG_SHIFT) | (frozen << FROZEN_SHIFT) | live
        height += 1
    # The queue fields stay; the slot count and the height are rewritten.
    self.shape[kind] = (height << HEIGHT_SHIFT) | (shape & QUEUE_FIELDS) | (slot + 1)
    self.owner[(kind << 32) | slot] = node
    return slot


@internal
def _free_slot(kind: uint256, slot: uint256, tag: uint256):
    """
    @dev Queues `slot` of `kind` (its leaf must be 0) for reuse from the
         epoch after the one of `tag`. The owner entry stays until reuse: a
         draw of the slot from this epoch's frozen view finds the old node,
         which is no longer registered, and skips it.
    """
    shape: uint256 = self.shape[kind]
    tail: uint256 = (shape >> QUEUE_TAIL_SHIFT) & MASK32
    # At most one entry per deregistration, far below 2**32 in any chain's life; checked,
    # because the tail sits below the height in the `shape` word.
    assert tail < MASK32, "registry: slot queue full"
    self.free_slots[(kind << 32) | tail] = slot | (tag << 16)
    self.shape[kind] = shape + (1 << QUEUE_TAIL_SHIFT)


@internal
def _update(kind: uint256, slot: uint256, old_value: uint256, new_value: uint256, tag: uint256):
    """
    @dev Moves the live leaf at `slot` from `old_value` (its current value) to
         `new_value`, and every word above it by the same difference, during
         the epoch of `tag` (the frozen view of that epoch does not change).
    """
    height: uint256 = self.shape[kind] >> HEIGHT_SHIFT
    index: uint256 = slot
    # Bound: one word per level, height <= MAX_HEIGHT.
    for level: uint256 in range(MAX_HEIGHT):
        if level >= height:
            break
        offset: uint256 = (index % FANOUT) * LANE_BITS
        index //= FANOUT
        key: uint256 = self._key(kind, level, index)
        word: uint256 = self._rolled(self.tree[key], tag)
        lane: uint256 = (word >> offset) & LANE_MASK
        # Checked arithmetic: a lane never goes below 0 (the caller passes the
        # leaf's true value) and never above 2**30 - 1.
        new_lane: uint256 = lane + new_value - old_value
        assert new_lane <= LANE_MASK, "registry: weight overflow"
        self.tree[key] = word ^ ((lane ^ new_lane) << offset)


@internal
@pure
def _sum_lanes(lanes: uint256) -> uint256:
    total: uint256 = 0
    # Bound: 4 lanes.
    for c: uint256 in range(FANOUT):
        total += (lanes >> (c * LANE_BITS)) & LANE_MASK
    return total


@internal
@view
def _total(kind: uint256) -> uint256:
    """
    @dev Sum of all live leaves of `kind`.
    """
    height: uint256 = self.shape[kind] >> HEIGHT_SHIFT
    if height == 0:
        return 0
    return self._sum_lanes(self.tree[self._key(kind, height - 1, 0)] & LIVE_MASK)


@internal
@view
def _frozen_total(kind: uint256, tag: uint256) -> uint256:
    """
    @dev Sum of the leaves of `kind` as they were at the start of the epoch of `tag`.
    """
    height: uint256 = self.shape[kind] >> HEIGHT_SHIFT
    if height == 0:
        return 0
    return self._sum_lanes(self._lanes(self.tree[self._key(kind, height - 1, 0)], tag, True))


@internal
@view
def _find(
    kind: uint256,
    target: uint256,
    excluded: DynArray[uint256, MAX_EXCLUDED],
    tag: uint256,
    frozen: bool,
) -> (uint256, uint256):
    """
    @dev The slot whose leaf holds position `target` of the leaves laid end to
         end in slot order, with the excluded slots' leaves taken out (each
         `excluded` entry is leaf value << 16 | slot); the
         leaves are those of the frozen view of the epoch of `tag` when
         `frozen`, the live ones otherwise. The caller guarantees target <
         total - sum(excluded weights) and that each excluded weight is exactly
         that slot's leaf in the same view, so the answer is a slot with a
         non-zero remaining leaf and a draw is proportional to the remaining
         weight.
    @return (uint256, uint256) The 0-based slot and its leaf value.
    """
    height: uint256 = self.shape[kind] >> HEIGHT_SHIFT
    index: uint256 = 0
    rest: uint256 = target
    lane: uint256 = 0
    # Unchecked arithmetic below is safe by the bounds noted at each use (it is the hot path
    # of every draw).
    # Bound: one word per level, height <= MAX_HEIGHT.
    for step: uint256 in range(MAX_HEIGHT):
        if step >= height:
            break
        # step < height.
        level: uint256 = unsafe_sub(unsafe_sub(height, 1), step)
        lanes: uint256 = self._lanes(self.tree[self._key(kind, level, index)], tag, frozen)
        span_bits: uint256 = unsafe_add(level, level)
        above: uint256 = unsafe_add(span_bits, 2)
        # The excluded leaves below this word leave their lanes in place: a lane holds at
        # least the excluded leaves below it, so no lane borrows from the next (and the
        # subtraction cannot underflow).
        # Bound: the exclusion list has at most MAX_EXCLUDED entries.
        for e: uint256 in excluded:
            s: uint256 = e & SLOT_MASK
            if s >> above == index:
                lanes = unsafe_sub(lanes, (e >> 16) << unsafe_mul((s >> span_bits) & 3, LANE_BITS))
        child: uint256 = FANOUT
        # Bound: 4 lanes.
        for c: uint256 in range(FANOUT):
            lane = (lanes >> unsafe_mul(c, LANE_BITS)) & LANE_MASK
            if rest < lane:
                child = c
                break
            # rest >= lane here.
            rest = unsafe_sub(rest, lane)
        assert child < FANOUT, "registry: sum tree out of sync"
        # index < 4**7 and child < 4: no overflow.
        index = unsafe_add(index << 2, child)
    return index, lane
