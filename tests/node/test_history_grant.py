"""A member's history grant at the relay (clubchat.protocol.history_grant, `history` with `grant`).

Alice and Bob talk through a relay that signs its history; Carol is no member of their room. With
Alice's grant Carol gets the room's entries as a member would; a grant that is forged, expired, for
another relay or grantee, or signed by someone who is not a member of the room is refused with
`bad-grant` and the reason, and Carol gets nothing. A contract wallet's grant is checked with
EIP-1271 through the relay's verifier. The digest the relay checks is the one eth_account's typed-data
encoder signs (every grant here is signed through `sign_typed_data`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from clubchat.chain.eip712 import SECP256K1_N, Signature
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.relay_log import RelayLog
from clubchat.protocol import messages as m
from clubchat.protocol.history_grant import (
    ANYONE,
    GRANT_TYPE,
    Grant,
    HistoryGrant,
    eoa_signer,
    grant_domain,
)
from clubchat.protocol.log_entry import LogEntry, direct_room, log_entry_signer
from tests.node.harness import LOG_CHAIN_ID, LOG_DISPUTES, LOG_OPERATOR, LOG_SIGNER, Raw, envelope, relay, run

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
carol = Account.from_key("0x" + "c3" * 32)
dave = Account.from_key("0x" + "d4" * 32)
DOMAIN = grant_domain(LOG_CHAIN_ID, LOG_DISPUTES)
ROOM = direct_room(alice.address, bob.address)
WALLET = "0x" + "57" * 20  # a contract wallet (EIP-1271), Bob's correspondent in WALLET_ROOM
WALLET_SIG = b"\x01" * 97  # what the wallet's owners signed (a long, multisig-shaped signature)


def _grant(
    signer: LocalAccount = alice,
    *,
    node: str = LOG_OPERATOR.address,
    room: bytes = ROOM,
    granter: str | None = None,
    grantee: str = ANYONE,
    expiry: int | None = None,
) -> Grant:
    g = HistoryGrant(
        node, room, granter or signer.address, grantee, int(time.time()) + 600 if expiry is None else expiry
    )
    signed = signer.sign_typed_data(full_message=g.typed_data(DOMAIN))
    return Grant.of(g, bytes(signed.signature))


class Wallets:
    """The relay's EIP-1271 verifier: WALLET accepts WALLET_SIG over any digest; nothing else holds."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, bytes]] = []

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        self.asked.append((wallet, message_hash))
        return wallet.lower() == WALLET.lower() and signature == WALLET_SIG


@asynccontextmanager
async def talked(tmp_path: Path, **kwargs: Any) -> AsyncIterator[tuple[RelayServer, list[LogEntry]]]:
    """A relay with signed history where Alice sent Bob four envelopes; yields it and the entries."""
    log = RelayLog(tmp_path / "log.sqlite", LOG_SIGNER)
    await log.open()
    try:
        async with relay(RelayConfig(), log=log, **kwargs) as server:
            a = await Raw.open(server.uri)
            await a.sign_in(alice)
            b = await Raw.open(server.uri)
            await b.sign_in(bob)
            for i in range(4):
                await a.send(envelope(alice.address, bob.address, f"g{i}"))
            sent: list[LogEntry] = []
            async with asyncio.timeout(10):
                while len(sent) < 4:
                    obj = await a.obj()
                    if obj["type"] == "sent":
                        sent.append(LogEntry.from_json(obj["entry"]))
            yield server, sent
    finally:
        await log.close()


async def _ask(uri: str, who: LocalAccount, grant: Grant, peer: str = bob.address, end: int = 4) -> Any:
    c = await Raw.open(uri)
    await c.sign_in(who)
    await c.send(m.encode(m.History(peer=peer, start=1, end=end, grant=grant)))
    async with asyncio.timeout(10):
        while True:
            obj = await c.obj()
            if obj["type"] in ("entries", "error"):
                await c.close()
                return obj


def test_a_members_grant_opens_the_room_to_a_non_member(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with talked(tmp_path) as (server, sent):
            # Without a grant Carol reads only her own room with Bob: empty.
            c = await Raw.open(server.uri)
            await c.sign_in(carol)
            await c.send(m.encode(m.History(peer=bob.address, start=1, end=4)))
            assert (await c.obj())["records"] == []
            answer = await _ask(server.uri, carol, _grant())
            assert answer["type"] == "entries" and answer["peer"] == bob.address
            got = [LogEntry.from_json(r["entry"]) for r in answer["records"]]
            assert got == sent
            sig = bytes.fromhex(answer["records"][-1]["sig"][2:])
            assert LOG_SIGNER.key_address == eoa_signer_of_entry(got[-1], sig)
            # Bob's side of the room names Alice as peer: Bob's grant opens the same room.
            by_bob = await _ask(server.uri, carol, _grant(bob), peer=alice.address)
            assert [LogEntry.from_json(r["entry"]) for r in by_bob["records"]] == sent
            # A grant naming Carol serves Carol; the range bound of `history` still holds.
            named = await _ask(server.uri, carol, _grant(grantee=carol.address))
            assert len(named["records"]) == 4
            too_long = await _ask(server.uri, carol, _grant(), end=1 + m.MAX_HISTORY)
            assert too_long["code"] == "bad-range"
            # ... and is checked first: a forged grant asking too much costs the relay no signature check.
            forged = await _ask(
                server.uri, carol, _grant(carol, granter=alice.address), end=1 + m.MAX_HISTORY
            )
            assert forged["code"] == "bad-range"
            assert server.stats["history:granted"] == 3

    run(scenario())


def eoa_signer_of_entry(entry: LogEntry, sig: bytes) -> str:
    return log_entry_signer(LOG_SIGNER.domain, entry, Signature(sig[64], sig[:32], sig[32:64]))


@pytest.mark.parametrize(
    ("grant", "why"),
    [
        # Carol signs a grant in Alice's name: forged.
        (lambda: _grant(carol, granter=alice.address), "not signed by its granter " + alice.address),
        # Alice's real signature, then the expiry raised: the signature no longer covers it.
        (
            lambda: Grant.of(
                HistoryGrant(LOG_OPERATOR.address, ROOM, alice.address, ANYONE, int(time.time()) + 10**6),
                _grant().signature,
            ),
            "not signed by its granter",
        ),
        (lambda: _grant(expiry=int(time.time()) - 1), "the grant expired at"),
        # Carol grants the Alice-Bob room: she is no member (the room is not hers with Bob).
        (lambda: _grant(carol), f"{carol.address} is not a member of the granted room"),
        (lambda: _grant(node=dave.address), f"is for the relay of {dave.address}, not this one"),
        (lambda: _grant(grantee=dave.address), f"the grant is for {dave.address}, not {carol.address}"),
    ],
)
def test_a_grant_that_does_not_hold_is_refused_with_the_reason(tmp_path: Path, grant: Any, why: str) -> None:
    async def scenario() -> None:
        async with talked(tmp_path) as (server, _):
            answer = await _ask(server.uri, carol, grant())
            assert answer["type"] == "error" and answer["code"] == "bad-grant", answer
            assert why in answer["reason"]
            assert server.stats["history:granted"] == 0

    run(scenario())


def test_a_contract_wallets_grant_is_checked_with_eip1271(tmp_path: Path) -> None:
    wallets = Wallets()
    room = direct_room(WALLET, bob.address)
    g = HistoryGrant(LOG_OPERATOR.address, room, WALLET, ANYONE, int(time.time()) + 600)

    async def scenario() -> None:
        async with talked(tmp_path, verifier=wallets) as (server, _):
            ok = await _ask(server.uri, carol, Grant.of(g, WALLET_SIG))
            assert ok["type"] == "entries" and ok["records"] == []  # accepted; the room holds nothing
            assert wallets.asked == [(WALLET, g.digest(DOMAIN))]
            bad = await _ask(server.uri, carol, Grant.of(g, b"\x02" * 97))
            assert bad["code"] == "bad-grant" and f"not signed by its granter {WALLET}" in bad["reason"]

    run(scenario())
    # Without a verifier (no RPC) a contract wallet's grant cannot be checked: refused.

    async def no_verifier() -> None:
        async with talked(tmp_path / "plain") as (server, _):
            bad = await _ask(server.uri, carol, Grant.of(g, WALLET_SIG))
            assert bad["code"] == "bad-grant"

    run(no_verifier())


def test_the_grant_digest_is_eip712_over_the_documented_type() -> None:
    g = HistoryGrant(LOG_OPERATOR.address, ROOM, alice.address, ANYONE, 1_900_000_000)
    signed = alice.sign_typed_data(full_message=g.typed_data(DOMAIN))
    assert signed.message_hash == g.digest(DOMAIN)
    assert eoa_signer(g, DOMAIN, bytes(signed.signature)) == alice.address
    assert keccak(text=GRANT_TYPE) == keccak(
        text="HistoryGrant(address node,bytes32 room,address granter,address grantee,uint64 expiry)"
    )
    # Another chain or Disputes contract: another signer recovers.
    assert eoa_signer(g, grant_domain(1, LOG_DISPUTES), bytes(signed.signature)) != alice.address
    # High-s twins and wrong lengths are not a key's signature.
    sig = bytes(signed.signature)
    s = int.from_bytes(sig[32:64], "big")
    twin = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    assert eoa_signer(g, DOMAIN, twin) is None
    assert eoa_signer(g, DOMAIN, sig[:64]) is None
