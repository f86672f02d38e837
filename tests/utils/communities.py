"""Helpers of the Communities and Premium tests: flags mirroring the contracts, funding, log reading."""

from __future__ import annotations

from typing import Any

import boa

from tests.utils.registry import MAX_UINT

WAD = 10**18

# Join policies and community roles (Communities' constants).
OPEN, ALLOWLIST, MERKLE, TOKEN_GATE, INVITE = 1, 2, 3, 4, 5
ADMIN, MODERATOR = 1, 2
NEVER = 2**64 - 1
# MemberJoined.path of a staff add; MemberRemoved.reason values.
PATH_STAFF = 0
LEFT, REMOVED, UNQUALIFIED = 1, 2, 3


def fund(token: Any, treasury: str, who: str, amount: int, *spenders: Any) -> None:
    """Give `who` CLUB from the treasury and approve every spender for everything."""
    with boa.env.prank(treasury):
        token.transfer(who, amount)
    for spender in spenders:
        with boa.env.prank(who):
            token.approve(spender.address, MAX_UINT)


def now() -> int:
    return int(boa.env.evm.patch.timestamp)


def _fields(event: Any) -> dict[str, Any]:
    """An event's fields (without the emitting address), addresses as checksummed strings."""
    fields = event._asdict()
    fields.pop("address", None)
    return {k: (str(v) if hasattr(v, "canonical_address") else v) for k, v in fields.items()}


def events(contract: Any, name: str) -> list[dict[str, Any]]:
    """The last call's events called `name`, as dicts of their fields."""
    return [_fields(e) for e in contract.get_logs() if type(e).__name__ == name]


def logs_as_events(contract: Any) -> list[tuple[str, dict[str, Any]]]:
    """The last call's events as (name, fields) pairs, the form the log-fed caches take."""
    return [(type(e).__name__, _fields(e)) for e in contract.get_logs()]
