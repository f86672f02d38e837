# pragma version 0.4.3
# pragma nonreentrancy on
# pragma experimental-codegen
# pragma optimize codesize
"""
@title Endpoint rules of the node registry: scheme and authority checks of
       relay, TURN, TURN credential and notify URIs, and the other stateless
       checks of registration input
@custom:contract-name EndpointRules
@license GNU Affero General Public License v3.0 only
@notice A stateless contract that NodeRegistry calls (a static call, its
        address is an immutable of the registry) for every endpoint it
        stores. It lives apart from the registry only to keep the registry's
        runtime code under the EIP-170 limit of 24,576 bytes; it holds no
        state and no roles, so it cannot be changed after deployment (a new
        rule set means a new registry).

        Rules. RELAY must be `wss://` (plain `ws://` only when the host is
        exactly 127.0.0.1 or localhost, for local development); TURN must be
        `turn:` or `turns:`; TURN_CREDENTIAL and NOTIFY must be `https://`
        (plain `http://` only on loopback). For the `//` schemes the
        authority is parsed (no userinfo, a numeric port of 1-5 digits, a
        non-empty host name or IPv4 address), not prefix-matched: browsers
        and websocket libraries connect to the host after an "@". Every URI
        is non-empty and at most 256 characters. The client-side copy of
        these rules is `clubchat.protocol.endpoints`; a test checks the two
        agree. `check_kinds` checks the shape of a registration: known
        kinds, one endpoint per kind, a credential service only with TURN;
        `check_key` a node's hot key (non-zero, not the operator, not in use
        and approved by the key itself, according to the registry); `bounded` only the length of the
        registry's metadata URI. Together: every stateless check of
        registration input.

        Reasons. It reverts with the registry's own reason strings
        ("registry: ..."); the registry's call bubbles the revert data up
        unchanged, so a caller of `register` / `set_endpoint` sees the same
        reasons as when the checks lived in the registry.
@custom:security Pure: no storage, no calls, no privileged function.
"""


from interfaces import IEndpointRules
implements: IEndpointRules


# CONSTANTS #

# @dev Endpoint keys: the node kinds (flags) and a TURN node's credential service.
RELAY: constant(uint256) = 1
TURN: constant(uint256) = 2
NOTIFY: constant(uint256) = 4
ALL_KINDS: constant(uint256) = 7
TURN_CREDENTIAL: constant(uint256) = 8
# @dev Longest stored URI, in characters.
MAX_URI: constant(uint256) = 256
# @dev Longest URI accepted as input: longer inputs revert with a clear reason instead of an ABI error.
MAX_URI_INPUT: constant(uint256) = 1024


# EXTERNAL #

@external
@pure
def check(kind: uint256, uri: String[MAX_URI_INPUT]) -> String[MAX_URI]:
    """
    @notice Validates an endpoint.
    @param kind RELAY, TURN, NOTIFY or TURN_CREDENTIAL.
    @param uri The endpoint.
    @return The same URI, as the registry stores it (at most 256 characters).
    """
    assert len(uri) > 0, "registry: empty endpoint"
    bounded: String[MAX_URI] = self._bounded(uri)
    if kind == RELAY:
        assert self._scheme_ok(bounded, "wss://", "ws://"), "registry: relay must be wss://"
    elif kind == TURN:
        assert self._has_prefix(bounded, "turn:") or self._has_prefix(bounded, "turns:"), (
            "registry: TURN must be turn(s):"
        )
    else:
        assert kind == NOTIFY or kind == TURN_CREDENTIAL, "registry: unknown kind"
        assert self._scheme_ok(bounded, "https://", "http://"), "registry: endpoint not https://"
    return bounded


@external
@pure
def bounded(uri: String[MAX_URI_INPUT]) -> String[MAX_URI]:
    """
    @notice Checks only the length: the registry's metadata URI (any scheme,
            possibly empty) goes through here.
    @param uri The URI.
    @return The same URI, at most 256 characters (reverts "registry: endpoint too long" otherwise).
    """
    return self._bounded(uri)


@external
@pure
def check_kinds(kinds: uint256, endpoint_count: uint256, credential_length: uint256) -> bool:
    """
    @notice Validates the shape of a registration: known kinds (at least one),
            one endpoint per declared kind, a TURN credential service only
            with TURN.
    @param kinds Flags of the kinds declared.
    @param endpoint_count Number of endpoints given.
    @param credential_length Length of the TURN credential service given.
    @return True (it reverts otherwise).
    """
    assert kinds != 0 and kinds & ALL_KINDS == kinds, "registry: unknown kind"
    # One flag bit per kind: the number of kinds is the number of set bits.
    assert endpoint_count == (kinds & RELAY) + (kinds & TURN) // TURN + (kinds & NOTIFY) // NOTIFY, (
        "registry: one endpoint per kind"
    )
    assert kinds & TURN != 0 or credential_length == 0, "registry: credential needs TURN"
    return True


@external
@pure
def check_key(node: address, node_key: address, key_in_use: bool, approved: bool) -> bool:
    """
    @notice Validates a node's hot key: non-zero, not the operator, not used
            by another node, and consenting: the key itself named `node` with
            `approve_operator` (the registry passes both facts).
    @param node The operator.
    @param node_key The proposed key.
    @param key_in_use True when the registry maps `node_key` to an operator.
    @param approved True when `node_key` approved `node` as its operator.
    @return True (it reverts otherwise).
    """
    assert node_key != empty(address), "registry: zero node key"
    assert node_key != node, "registry: node key is operator"
    assert not key_in_use, "registry: node key in use"
    assert approved, "registry: node key did not approve"
    return True


# INTERNAL #

@internal
@pure
def _bounded(uri: String[MAX_URI_INPUT]) -> String[MAX_URI]:
    assert len(uri) <= MAX_URI, "registry: endpoint too long"
    return abi_decode(abi_encode(uri), String[MAX_URI])


@internal
@pure
def _has_prefix(uri: String[MAX_URI], prefix: String[8]) -> bool:
    """
    @dev True when `uri` starts with `prefix` and has at least one more character.
    """
    n: uint256 = len(prefix)
    if len(uri) <= n:
        return False
    return keccak256(slice(uri, 0, n)) == keccak256(prefix)


@internal
@pure
def _host(uri: String[MAX_URI], start: uint256) -> Bytes[MAX_URI]:
    """
    @dev Parses the authority of `uri` from index `start` (just after
         "scheme://") to the first "/", "?" or "#" and returns its host. The
         authority must be a non-empty host name or IPv4 address (no IPv6
         literal), with no userinfo ("@"), optionally followed by ":" and a
         port of 1-5 digits; otherwise it reverts. Browsers and websocket
         libraries connect to the host after an "@", so a prefix check of the
         host is not enough.
    """
    b: Bytes[MAX_URI] = convert(uri, Bytes[MAX_URI])
    end: uint256 = len(b)
    colon: uint256 = 0
    ok: bool = True
    # Bound: MAX_URI characters.
    for i: uint256 in range(start, end, bound=MAX_URI):
        c: uint256 = convert(slice(b, i, 1), uint256)
        if c == 47 or c == 63 or c == 35:  # "/", "?", "#": the authority ends
            end = i
            break
        if colon != 0:
            ok = ok and c >= 48 and c <= 57  # the port: digits only
        elif c == 58:  # ":"
            colon = i
        else:
            ok = ok and c != 64  # "@" would start userinfo
    host_end: uint256 = end
    if colon != 0:
        host_end = colon
        ok = ok and end - colon >= 2 and end - colon <= 6
    assert ok and host_end > start, "registry: bad endpoint authority"
    return slice(b, start, host_end - start)


@internal
@pure
def _scheme_ok(uri: String[MAX_URI], secure: String[8], plain: String[8]) -> bool:
    """
    @dev True when `uri` starts with `secure` (e.g. "wss://") and any host, or
         with `plain` (e.g. "ws://") and a host that is exactly 127.0.0.1 or
         localhost (local development); reverts on a malformed authority
         (see `_host`).
    """
    if self._has_prefix(uri, secure):
        self._host(uri, len(secure))
        return True
    if not self._has_prefix(uri, plain):
        return False
    host: bytes32 = keccak256(self._host(uri, len(plain)))
    return host == keccak256("127.0.0.1") or host == keccak256("localhost")
