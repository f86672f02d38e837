# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
# pragma optimize codesize
"""
@title Node directory: paginated listing of the registry's nodes for explorers
@custom:contract-name NodeDirectory
@license GNU Affero General Public License v3.0 only
@notice A stateless read-only lens over NodeRegistry (its address is an
        immutable): `list_nodes` pages through the registered nodes with
        the registry's `node_count` and `node_at(index)` (node, kinds,
        eligible now). It lives apart from the registry only to keep the
        registry's runtime code under the EIP-170 limit of 24,576 bytes.
        Discovery itself is `NodeRegistry.sample`; this is for explorers,
        dashboards and keepers that want every node.
@custom:security View functions only: no storage, no state-changing call.
"""


from interfaces import INodeRegistry


# CONSTANTS #

# @dev Largest page of `list_nodes`, and how many registered nodes one call scans at most.
MAX_PAGE: constant(uint256) = 100
MAX_SCAN: constant(uint256) = 1000


# IMMUTABLES #

# @dev The registry listed.
REGISTRY: public(immutable(INodeRegistry))


@deploy
def __init__(registry: INodeRegistry):
    """
    @param registry The NodeRegistry.
    """
    assert registry.address.is_contract, "directory: registry not a contract"
    REGISTRY = registry


# EXTERNAL #

@external
@view
def list_nodes(
    kind_mask: uint256, eligible_only: bool, start: uint256, limit: uint256
) -> (DynArray[address, MAX_PAGE], uint256):
    """
    @notice Paginated listing: registered nodes from index `start` that serve
            any kind of `kind_mask` (0 = any) and, if asked, are eligible now.
    @return (nodes, next) Matches (at most min(limit, 100)) and the index to pass
            as `start` next; next == node_count() when the list is exhausted.
    """
    found: DynArray[address, MAX_PAGE] = []
    count: uint256 = staticcall REGISTRY.node_count()
    cap: uint256 = min(limit, MAX_PAGE)
    i: uint256 = start
    # Bound: scans at most MAX_SCAN registered nodes per call.
    for _: uint256 in range(MAX_SCAN):
        if i >= count or len(found) >= cap:
            break
        node: address = empty(address)
        kinds: uint256 = 0
        eligible: bool = False
        node, kinds, eligible = staticcall REGISTRY.node_at(i)
        i += 1
        if kind_mask != 0 and kinds & kind_mask == 0:
            continue
        if eligible_only and not eligible:
            continue
        found.append(node)
    return found, min(i, count)
