"""NodeRegistry's endpoint rules, for clients to check again what they read from the chain.

The registry refuses malformed endpoints when they are set (it calls the EndpointRules contract,
contracts/nodes/EndpointRules.vy); a client still checks
every endpoint it is about to connect to, so that a registry bug or a different deployment cannot
send it to a host it did not mean (e.g. `ws://127.0.0.1:@relay.evil.example/`, whose real host is
relay.evil.example). The rules are the contract's: RELAY `wss://`, NOTIFY and TURN credential
services `https://` (plain `ws://` / `http://` only when the host is exactly 127.0.0.1 or
localhost), TURN `turn:` / `turns:`; the authority (up to the first `/`, `?` or `#`) is a non-empty
host with no userinfo (`@`) and an optional port of 1-5 digits.
"""

from __future__ import annotations

import re

RELAY, TURN, NOTIFY, TURN_CREDENTIAL = 1, 2, 4, 8
MAX_URI = 256
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
# kind => (secure scheme, plain scheme allowed on loopback only)
_SCHEMES = {RELAY: ("wss", "ws"), NOTIFY: ("https", "http"), TURN_CREDENTIAL: ("https", "http")}
_AUTHORITY = re.compile(r"(?P<host>[^@:]+)(?::[0-9]{1,5})?")


class EndpointError(ValueError):
    """An endpoint the registry's rules refuse; the message says which rule."""


def check_endpoint(kind: int, uri: str) -> str:
    """Return `uri` if it is a valid endpoint of `kind` (RELAY, TURN, NOTIFY, TURN_CREDENTIAL), else raise."""
    if not uri or len(uri) > MAX_URI:
        raise EndpointError(f"endpoint must have 1 to {MAX_URI} characters: {uri!r}")
    if kind == TURN:
        if not any(uri.startswith(p) and len(uri) > len(p) for p in ("turn:", "turns:")):
            raise EndpointError(f"TURN endpoint must start with turn: or turns: {uri!r}")
        return uri
    if kind not in _SCHEMES:
        raise EndpointError(f"unknown endpoint kind {kind}")
    secure, plain = _SCHEMES[kind]
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme not in (secure, plain):
        raise EndpointError(f"endpoint must start with {secure}:// {uri!r}")
    match = _AUTHORITY.fullmatch(re.split(r"[/?#]", rest, maxsplit=1)[0])
    if match is None:
        raise EndpointError(f"endpoint authority must be host[:port] without userinfo: {uri!r}")
    if scheme == plain and match["host"] not in LOOPBACK_HOSTS:
        raise EndpointError(f"plain {plain}:// is only allowed on 127.0.0.1 or localhost: {uri!r}")
    return uri


def is_valid_endpoint(kind: int, uri: str) -> bool:
    """True when `check_endpoint(kind, uri)` accepts `uri`."""
    try:
        check_endpoint(kind, uri)
    except EndpointError:
        return False
    return True
