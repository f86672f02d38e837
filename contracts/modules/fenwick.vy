# pragma version 0.4.3
"""
@title Bounded-depth Fenwick trees of stake weights, one tree per node kind
@custom:contract-name fenwick
@license GNU Affero General Public License v3.0 only
@notice Each node kind (a single flag bit such as RELAY = 1) owns a Fenwick
        (binary indexed) tree over at most `CAPACITY` = 2**14 slots. A slot is
        handed to a node once, when it first declares the kind, and keeps its
        index for ever; its leaf value is the node's current weight (0 while
        the node is not eligible). The module offers O(log n) point updates and
        an O(log n) weighted search that can skip a short list of already
        picked slots, which is what sampling without replacement needs.

        The tree only spans the smallest power of two `span` that covers the
        slots handed out so far (entry `span` holds the total), so update and
        search costs grow with log2(n) of the registered nodes of that kind
        and never exceed `DEPTH + 1` storage reads or writes. When a new slot
        crosses the current span, the new top entry `2 * span` is seeded with
        the old total (all slots above the old span are still empty), which
        keeps every Fenwick entry inside the span exact.
@custom:security The module does not check who calls it; the registry is the
                 only caller and keeps leaf values equal to its own record of
                 each node's weight (`weight` in NodeRegistry). Weights are
                 plain token amounts (CLUB wei), so sums cannot overflow
                 uint256 for any token with a sane supply cap.
"""


# @dev log2 of the slot capacity of one tree: bounds every loop below.
DEPTH: constant(uint256) = 14
# @dev Slots per kind; slot indices are 1-based: 1 .. CAPACITY.
CAPACITY: constant(uint256) = 16384
# @dev Longest exclusion list `_find` accepts (sampling draws at most this many).
MAX_EXCLUDED: constant(uint256) = 32


# @dev kind bit => Fenwick index (1-based) => sum of the leaves in (index - lowbit(index), index].
tree: HashMap[uint256, HashMap[uint256, uint256]]
# @dev kind bit => number of slots handed out so far.
size: HashMap[uint256, uint256]
# @dev kind bit => smallest power of two >= size (0 while empty); tree[kind][span] is the total.
span: HashMap[uint256, uint256]
# @dev kind bit => slot => the node that owns it.
owner: HashMap[uint256, HashMap[uint256, address]]


@internal
def _new_slot(kind: uint256, node: address) -> uint256:
    """
    @dev Hands the next free slot of `kind` to `node` (leaf value 0).
    @return uint256 The 1-based slot index.
    """
    slot: uint256 = self.size[kind] + 1
    assert slot <= CAPACITY, "registry: kind is full"
    self.size[kind] = slot
    self.owner[kind][slot] = node
    old_span: uint256 = self.span[kind]
    if slot > old_span:
        # Slots are handed out one at a time, so the span at most doubles here.
        new_span: uint256 = max(old_span * 2, 1)
        self.span[kind] = new_span
        if old_span != 0:
            # (old_span, new_span] is empty: the new root holds the old total.
            self.tree[kind][new_span] = self.tree[kind][old_span]
    return slot


@internal
def _add(kind: uint256, slot: uint256, amount: uint256):
    """
    @dev Adds `amount` to the leaf at `slot` (and every entry covering it).
    """
    top: uint256 = self.span[kind]
    i: uint256 = slot
    # Bound: each step at least doubles the lowest set bit of i, and i <= span <= 2**DEPTH.
    for _: uint256 in range(DEPTH + 1):
        if i > top:
            break
        self.tree[kind][i] += amount
        i += i & (~i + 1)


@internal
def _sub(kind: uint256, slot: uint256, amount: uint256):
    """
    @dev Subtracts `amount` from the leaf at `slot` (and every entry covering it).
    """
    top: uint256 = self.span[kind]
    i: uint256 = slot
    # Bound: as in `_add`.
    for _: uint256 in range(DEPTH + 1):
        if i > top:
            break
        self.tree[kind][i] -= amount
        i += i & (~i + 1)


@internal
@view
def _total(kind: uint256) -> uint256:
    """
    @dev Sum of all leaves of `kind`.
    """
    top: uint256 = self.span[kind]
    if top == 0:
        return 0
    return self.tree[kind][top]


@internal
@view
def _find(
    kind: uint256,
    target: uint256,
    excluded_slots: DynArray[uint256, MAX_EXCLUDED],
    excluded_weights: DynArray[uint256, MAX_EXCLUDED],
) -> uint256:
    """
    @dev Smallest slot whose prefix sum (with the excluded slots' leaves taken
         out) exceeds `target`. The caller guarantees
         target < total - sum(excluded_weights), and that each excluded weight
         is exactly that slot's leaf, so the answer is a slot with a non-zero
         remaining leaf and the draw is proportional to remaining weight.
    @return uint256 The 1-based slot index.
    """
    top: uint256 = self.span[kind]
    pos: uint256 = 0
    rest: uint256 = target
    step: uint256 = top
    # Bound: step halves from span (<= 2**DEPTH) to 1, i.e. at most DEPTH + 1 reads.
    for _: uint256 in range(DEPTH + 1):
        if step == 0:
            break
        nxt: uint256 = pos + step
        if nxt <= top:
            value: uint256 = self.tree[kind][nxt]
            # Take the excluded leaves inside (pos, nxt] out of this entry;
            # bound: the exclusion list has at most MAX_EXCLUDED entries.
            for j: uint256 in range(MAX_EXCLUDED):
                if j >= len(excluded_slots):
                    break
                s: uint256 = excluded_slots[j]
                if s > pos and s <= nxt:
                    value -= excluded_weights[j]
            if value <= rest:
                rest -= value
                pos = nxt
        step //= 2
    return pos + 1
