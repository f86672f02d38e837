"""The members of bench_rooms.py's room: deterministic keys, shared by the bench and its relay."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

COMMUNITY = 1


def members(n: int) -> list[LocalAccount]:
    return [Account.from_key(keccak(b"bench room member %d" % i)) for i in range(n)]
