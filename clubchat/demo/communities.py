"""The demo's communities chapter: on-chain membership that a relay enforces, and premium tiers.

Fresh wallets (funded by the keeper with gas and by the ecosystem allocation with CLUB) create
four communities, one per way in: an allowlist owned by a 2-of-3 multisig contract wallet
(contracts/wallets/MultisigWallet.vy, Safe-style signatures, EIP-1271; it adds members and bans by
executing calls two of its owners signed), a Merkle list (a member joins with a proof), a
CLUB-balance gate and an invite voucher. One member subscribes to the `plus` tier. A relay with
rooms (clubchat.node.rooms), fed from Communities' and Premium's logs one block behind the head,
registered in the NodeRegistry and found by the members through the registry, as `club room
send|listen` find a room's relays (`sample(RELAY, keccak(room id), k)`), carries the allowlist
community's room: members talk end-to-end encrypted
(clubchat.communities.sealed: sender keys handed out in pairwise sealed sessions), a non-member is
refused, tier limits refuse a free member's large message and file with the reason while the
premium member's pass, TURN credentials live as long as each tier's call limit, a free caller's
call through a real coturn ends at the free tier's limit (shortened to a few seconds by governance
for the demo, clubchat.demo.call_limit) while a premium caller's goes on, and a ban cuts the
banned member off; the ban latency (receipt of the ban transaction to the relay's `room-left`) is
measured, and what a member posts after the ban is under a new key the banned one cannot open. The
gas of every step, those figures and an audit of every room frame for plaintext (`e2e`) become
demo-report.json's `communities` section.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import keccak
from web3 import Web3

from clubchat.chain.tx import LocalSender, send_call
from clubchat.client.audit import PlaintextAudit
from clubchat.client.secure import Secure
from clubchat.communities.client import (
    ALLOWLIST,
    INVITE,
    MERKLE,
    TOKEN_GATE,
    ZERO,
    CommunitiesClient,
    TokenGate,
)
from clubchat.communities.merkle import build
from clubchat.communities.rooms import RoomClient, room_relays
from clubchat.communities.sealed import SealedRoom, members_of
from clubchat.crypto.session import DecryptError
from clubchat.demo.call_limit import FREE_CALL_SECONDS, SWEEP, free_call_end, shorten_free_calls
from clubchat.demo.context import DemoContext, table
from clubchat.deploy.web3_backend import Web3Backend
from clubchat.node.localnet import free_port_range
from clubchat.node.relay import RelayConfig, RelayServer
from clubchat.node.rooms import ChainFeed, enable_rooms, open_feed
from clubchat.node.turn import CoturnSupervisor, TurnConfig
from clubchat.params import WAD
from clubchat.premium.client import PremiumClient
from clubchat.protocol import messages as m
from clubchat.registry import RELAY, NodeRegistryClient, Registration
from clubchat.registry.discovery import RegistryDiscovery

PEOPLE = (
    "owner",
    "cosigner1",
    "cosigner2",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "mallory",
    "operator",
    "node",
)
SIGNERS = ("owner", "cosigner2")  # the two of the wallet's three owners who sign its calls
ROOM_SAMPLE = 8  # relays a member asks the registry for (`club room` uses the same sample)
GAS_MONEY_WEI = WAD // 10
POLL = 0.25  # the demo relay's log poll interval, seconds
DEPTH = 1  # confirmations it waits for
HELLO = "hello, members"
BIG = "x" * m.MAX_TEXT_CHARS
STILL_HERE = "am I still here?"
AFTER_BAN = "bob is gone: what we say now is for alice's ears only"


def _wallet(name: str) -> LocalAccount:
    """A demo wallet derived from its name (fresh on a fresh chain, the same on every run)."""
    return Account.from_key(keccak(text=f"clubchat demo communities {name}"))


def chapter_communities(ctx: DemoContext) -> None:
    """Communities: on-chain membership enforced by a relay's rooms, and premium tiers."""
    w3 = ctx.w3
    people = {name: _wallet(name) for name in PEOPLE}
    _fund(ctx, people)

    def client(name: str) -> CommunitiesClient:
        return CommunitiesClient(w3, ctx.manifest, LocalSender(w3, people[name]))

    def gas(tx: str) -> int:
        return int(w3.eth.get_transaction_receipt(tx)["gasUsed"])  # type: ignore[arg-type]

    owner = client("owner")
    addr = {name: acct.address for name, acct in people.items()}
    # The allowlist community belongs to a 2-of-3 multisig contract wallet; `owner` pays the fee.
    wallet = Web3Backend(w3, people["owner"]).deploy(
        "MultisigWallet", sorted((addr[n] for n in ("owner", "cosigner1", "cosigner2")), key=str.lower), 2
    )
    signers = [people[n] for n in SIGNERS]
    allow = owner.create(wallet.address, ALLOWLIST, 0, fail_open=False)
    create_gas = gas(_last_tx(w3, addr["owner"]))
    add_gas = gas(
        _through_wallet(
            w3, wallet, signers, owner.contract, "add_members", allow, [addr["alice"], addr["bob"]]
        )
    )

    merkle = owner.create(None, MERKLE, 0, fail_open=True)
    tree = build([addr["carol"], addr["dave"], *(_wallet(f"listed {i}").address for i in range(62))])
    owner.set_merkle_root(merkle, tree.root)
    proof_gas = gas(client("carol").join(merkle, tree=tree))

    gated = owner.create(None, TOKEN_GATE, 0, fail_open=True)
    owner.set_token_gate(gated, TokenGate(10 * WAD, ZERO, 0, 0))
    gate_gas = gas(client("dave").join(gated))

    invited = owner.create(None, INVITE, 30 * 86_400, fail_open=True)
    voucher = owner.invite(invited, addr["erin"], 3_600, people["owner"])
    invite_gas = gas(client("erin").join(invited, voucher=voucher))

    premium = PremiumClient(w3, ctx.manifest, LocalSender(w3, people["alice"]))
    subscribe_gas = gas(premium.subscribe(1, 1))
    tiers = premium.tiers()
    short_calls = shorten_free_calls(ctx, tiers[0], FREE_CALL_SECONDS)

    joins = table("Four communities, four ways in", "community", "policy", "who joined", "gas", right=(3,))
    joins.add_row(
        str(allow), "allowlist of a 2-of-3 multisig (fail-closed)", "alice, bob (one batch)", f"{add_gas:,}"
    )
    joins.add_row(str(merkle), "Merkle list of 64", "carol, with a proof", f"{proof_gas:,}")
    joins.add_row(str(gated), "CLUB balance >= 10", "dave", f"{gate_gas:,}")
    joins.add_row(str(invited), "invite voucher (EIP-712)", "erin redeemed it", f"{invite_gas:,}")
    ctx.console.print(joins)
    ctx.console.print(
        f"  creating each burnt {_fee(ctx)} CLUB "
        f"({create_gas:,} gas); alice subscribed to tier 1 `plus` for {subscribe_gas:,} gas.",
        highlight=False,
    )
    ctx.console.print(
        f"  governance (proposal {short_calls['proposal_id'][:10]}…, voted, queued, executed through the "
        f"Timelock) set the free tier's call limit {short_calls['before_seconds']} s -> "
        f"{short_calls['after_seconds']} s on this chain, so that a free call ends within the demo.",
        highlight=False,
    )

    feed = open_feed(w3, ctx.manifest, depth=DEPTH, poll=POLL)
    if feed is None:
        raise click.ClickException("the deployment has no Communities/Premium; redeploy")
    with tempfile.TemporaryDirectory(prefix="clubchat-demo-rooms-") as tmp, PlaintextAudit() as audit:
        ban = functools.partial(_through_wallet, w3, wallet, signers, owner.contract, "ban", allow)
        relay = asyncio.run(_rooms(ctx, feed, people, allow, ban, Path(tmp)))
        e2e = audit.report((HELLO, BIG, STILL_HERE, AFTER_BAN), Path(tmp).rglob("*"))

    result = table("A relay that enforces membership and tiers", "check", "result")
    for check, shown in relay["shown"]:
        result.add_row(check, shown)
    result.add_row(
        "relay saw no plaintext (room frames audited)",
        f"{e2e['relay_saw_no_plaintext']} ({e2e['sealed_room_messages']} of {e2e['room_messages']} room "
        f"messages sealed, {e2e['sealed_envelopes']} sealed key envelopes)",
    )
    ctx.console.print(result)
    ctx.report["communities"] = {
        "gas": {
            "create": create_gas,
            "allowlist_add_2": add_gas,
            "merkle_join_64": proof_gas,
            "token_gate_join": gate_gas,
            "invite_redeem": invite_gas,
            "subscribe_first": subscribe_gas,
        },
        "communities": {"allowlist": allow, "merkle": merkle, "token_gate": gated, "invite": invited},
        "allowlist_owner": {
            "address": wallet.address,
            "is_contract": len(w3.eth.get_code(wallet.address)) > 0,
            "owner_of": owner.info(allow).owner,
            "kind": "2-of-3 multisig, Safe-style signatures (contracts/wallets/MultisigWallet.vy, EIP-1271)",
            "signers": [addr[n] for n in SIGNERS],
        },
        "tiers": {
            t.number: {"max_message_bytes": t.max_message_bytes, "max_call_seconds": t.max_call_seconds}
            for t in tiers
        },
        **{k: v for k, v in relay.items() if k not in ("shown", "free_call_end")},
        "free_call_end": {"governance": short_calls, **relay["free_call_end"]},
        "e2e": e2e,
    }
    if not e2e["relay_saw_no_plaintext"]:
        raise click.ClickException(f"a relay saw plaintext room traffic: {e2e}")


def _fee(ctx: DemoContext) -> str:
    return f"{int(ctx.contract('Communities').functions.creation_fee().call()) / WAD:,.0f}"


def _last_tx(w3: Web3, sender: str) -> str:
    """The hash of `sender`'s latest mined transaction (the demo's chain mines one per block)."""
    block = w3.eth.get_block("latest", full_transactions=True)
    for tx in reversed(block["transactions"]):
        if Web3.to_checksum_address(tx["from"]) == Web3.to_checksum_address(sender):  # type: ignore[index]
            return "0x" + bytes(tx["hash"]).hex()  # type: ignore[index]
    raise click.ClickException("the creation transaction is not in the latest block")


def _fund(ctx: DemoContext, people: dict[str, LocalAccount]) -> None:
    """Gas money from the keeper; CLUB from the ecosystem allocation (fees, the gate, a subscription)."""
    w3, token = ctx.w3, ctx.contract("ClubToken")
    grantor = ctx.accounts["ecosystem"]
    escrow = w3.eth.contract(
        address=Web3.to_checksum_address(ctx.manifest.escrows["ecosystem"]),
        abi=ctx.manifest.contracts["VestingEscrow"].abi,
    )
    if int(escrow.functions.claimable().call()) > 0:
        ctx.transact(escrow.functions.claim(), grantor)
    stake = int(ctx.contract("NodeRegistry").functions.min_self_stake_per_kind().call())
    club = {"owner": 1_000 * WAD, "alice": 200 * WAD, "dave": 20 * WAD, "operator": stake}
    if int(token.functions.balanceOf(grantor).call()) < sum(club.values()):  # bound: a few transfers
        raise click.ClickException(
            "the ecosystem allocation has not vested enough for the communities chapter"
        )
    for name, acct in people.items():
        ctx.sender(ctx.accounts["keeper"]).send(acct.address, b"", GAS_MONEY_WEI)
        if name in club:
            ctx.transact(token.functions.transfer(acct.address, club[name]), grantor)


async def _rooms(
    ctx: DemoContext,
    feed: ChainFeed,
    people: dict[str, LocalAccount],
    cid: int,
    ban: Callable[[str], str],
    tmp: Path,
) -> dict[str, Any]:
    w3 = ctx.w3
    base = free_port_range(5)  # coturn's listening port and 4 relay ports (two calls)
    turn = TurnConfig(
        data_dir=tmp / "coturn",
        port=base,
        min_port=base + 1,
        max_port=base + 4,
        credential_ttl=3_600,
        expiry_sweep=SWEEP,
        allow_loopback_peers=True,  # both callers and their peer are on this machine
    )
    port = free_port_range(1)
    server = RelayServer(
        RelayConfig(chain_id=int(w3.eth.chain_id), port=port), turn_credentials=turn.issuer()
    )
    _register_relay(ctx, people, f"ws://127.0.0.1:{port}")
    await server.start()
    rooms = enable_rooms(server, feed)
    follower = asyncio.create_task(feed.run())
    coturn = CoturnSupervisor(turn)
    shown: list[tuple[str, str]] = []
    out: dict[str, Any] = {"relay": {"depth": DEPTH, "poll_seconds": POLL}}
    try:
        await coturn.start()
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # confirm the last block
        await _members_seen(feed, cid, people["bob"].address, True)
        # The members find the room's relay as `club room` does: the registry's sample for the room.
        sample = room_relays(RegistryDiscovery(w3, ctx.manifest), cid, m.DEFAULT_ROOM, ROOM_SAMPLE)
        uri, tried = await _first_room_relay(sample, people["alice"], cid)
        out["relay"].update(uri=uri, registry_sample=sample, sample_index=sample.index(uri), tried=tried)
        shown.append(
            (
                "room relay found through the registry",
                f"{uri} (#{sample.index(uri) + 1} of {len(sample)} sampled)",
            )
        )
        alice, bob, mallory = [await RoomClient.connect(uri, people[n]) for n in ("alice", "bob", "mallory")]
        assert (
            isinstance(alice, RoomClient) and isinstance(bob, RoomClient) and isinstance(mallory, RoomClient)
        )
        # room messages are end-to-end encrypted: sender keys handed out in pairwise sealed sessions
        alice_room, bob_room = (
            SealedRoom(c, Secure(people[n]), cid, members_of(feed, cid))
            for c, n in ((alice, "alice"), (bob, "bob"))
        )
        await alice_room.join()
        await bob_room.join()
        sent = await alice_room.send(HELLO)
        got = await bob_room.next_post()
        shown.append(("alice -> room (sealed), bob opened", f"{_body(got.payload)!r} (seq {got.seq})"))
        refusal = await _refused(mallory.join(cid))
        shown.append(("mallory (not a member) joins", refusal))
        big = m.Text(body=BIG)  # sealed and padded: over the free tier's 16,384 bytes
        free_refused = await _refused(bob_room.post(big))
        shown.append(("bob (free tier) sends 16,384 characters", free_refused))
        premium_ok = await alice_room.post(big)
        shown.append(("alice (plus) sends 16,384 characters", f"delivered to {premium_ok.delivered}"))
        chunk = m.RoomFileChunk(
            file_id="6f1c0a2e-0000-4000-8000-000000000001", index=0, size=100 * 2**20, data=""
        )
        file_refused = await _refused(bob.send_file_chunk(cid, chunk))
        shown.append(("bob (free) announces a 100 MiB file", file_refused))
        file_ok = await alice.send_file_chunk(cid, chunk)
        shown.append(("alice (plus) announces a 100 MiB file", f"accepted (seq {file_ok.seq})"))
        free_turn, plus_turn = await bob.turn_credentials(), await alice.turn_credentials()
        shown.append(("TURN credential lifetime: free / plus", f"{free_turn.ttl} s / {plus_turn.ttl} s"))
        call_end = await free_call_end(turn, free_turn, plus_turn)
        stopped, flowing = (
            call_end["free_media_last_heard_s_after_limit"],
            call_end["premium_flowing_s_after_free_stopped"],
        )
        shown.append(
            (
                f"bob's free call through coturn, limit {free_turn.ttl} s (set by governance)",
                f"media stopped {stopped:+.1f} s from the limit; alice's plus call still flowing "
                f"{flowing:.1f} s later",
            )
        )

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, ban, people["bob"].address)  # the multisig wallet bans
        mined = time.monotonic()
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]  # the chain's next block
        left = await asyncio.wait_for(bob.left.get(), 30)
        latency = time.monotonic() - mined
        after = await _refused(bob_room.send(STILL_HERE))
        shown.append(
            ("the multisig bans bob: relay cuts him off", f"{left.code} after {latency * 1000:.0f} ms")
        )
        shown.append(("bob posts after the ban", after))
        await _members_seen(feed, cid, people["bob"].address, False)
        sealed = await alice_room.seal(m.Text(body=AFTER_BAN))  # a new epoch: bob got none of its key
        after_ban = await alice.send_room(cid, sealed)
        try:
            bob_room.sealer.open(bob_room.name, alice.address, sealed)
            raise click.ClickException("bob opened a room message sent after his ban")
        except DecryptError as exc:
            lockout = str(exc)
        shown.append(
            (
                "alice posts after the ban: bob opens it?",
                f"no (key epoch {alice_room.keys.epoch}, {after_ban.delivered} delivered): {lockout}",
            )
        )
        out.update(
            room_message_delivered=sent.delivered,
            non_member=refusal,
            free_message_refused=free_refused,
            premium_message_delivered=premium_ok.delivered,
            free_file_refused=file_refused,
            turn_ttl_seconds={"free": free_turn.ttl, "plus": plus_turn.ttl},
            free_call_end=call_end,
            ban={
                "latency_ms": round(latency * 1000),
                "code": left.code,
                "after": after,
                "banned_member_opens_later_messages": False,
                "refusal": lockout,
                "key_epoch_after": alice_room.keys.epoch,
            },
            room_keys={"alice": dict(alice_room.stats), "bob": dict(bob_room.stats)},
            relay_stats={k: v for k, v in server.stats.items() if k.startswith("room")},
            rooms=rooms.status(),
        )
        for r in (alice_room, bob_room):
            await r.close()
        for c in (alice, bob, mallory):
            await c.close()
    finally:
        follower.cancel()
        await server.stop()
        await coturn.stop()
    out["shown"] = shown
    return out


def _through_wallet(
    w3: Web3, wallet: Any, signers: list[LocalAccount], target: Any, fn: str, *args: Any
) -> str:
    """`wallet` calls `target.fn(*args)`: `signers` (owners, in ascending address order) sign the
    wallet's execution digest and the first of them sends it; returns the transaction hash."""
    data = bytes.fromhex(target.encode_abi(fn, args=list(args)).removeprefix("0x"))
    digest = bytes(wallet.functions.execute_digest(target.address, data).call())
    ordered = sorted(signers, key=lambda a: int(a.address, 16))
    signatures = b"".join(bytes(a.unsafe_sign_hash(Hash32(digest)).signature) for a in ordered)
    return send_call(LocalSender(w3, ordered[0]), wallet.functions.execute(target.address, data, signatures))


def _register_relay(ctx: DemoContext, people: dict[str, LocalAccount], uri: str) -> None:
    """The rooms relay registers as a RELAY node (its operator stakes the minimum); sampling weights
    are frozen at each epoch's start, so the chain moves on to the next epoch, where the relay is
    drawn, and the relay beats there."""
    w3, registry = ctx.w3, ctx.contract("NodeRegistry")
    stake = int(registry.functions.min_self_stake_per_kind().call())
    reg = Registration(RELAY, {RELAY: uri}, people["node"].address)
    node = LocalSender(w3, people["node"])
    NodeRegistryClient(w3, ctx.manifest, LocalSender(w3, people["operator"])).register(reg, stake, node)
    NodeRegistryClient(w3, ctx.manifest, node).heartbeat()  # live: its weight enters the sampling tree
    ctx.enter_next_sampling_epoch()
    NodeRegistryClient(w3, ctx.manifest, node).heartbeat()


async def _first_room_relay(sample: list[str], member: LocalAccount, cid: int) -> tuple[str, int]:
    """The first relay of the registry's sample that carries `cid`'s room for `member` (relays of
    earlier chapters that are gone or offer no rooms are skipped), and how many were tried."""
    for i, uri in enumerate(sample):  # bound: ROOM_SAMPLE
        try:
            probe = await RoomClient.connect(uri, member, timeout=5)
        except Exception:  # gone (connection refused) or not answering: the next sampled relay
            continue
        try:
            assert isinstance(probe, RoomClient)
            await probe.join(cid)
            return uri, i + 1
        except Exception:  # e.g. `not-offered`: a relay without rooms
            continue
        finally:
            await probe.close()
    raise click.ClickException(
        f"no relay of the registry's sample {sample} carries community {cid}'s room; is the demo's "
        "relay registered and live?"
    )


async def _members_seen(feed: ChainFeed, cid: int, who: str, member: bool) -> None:
    """Wait until `feed` shows `who` as a member of `cid` (or, with `member` False, not)."""
    deadline = time.monotonic() + 30
    while feed.membership.is_member(cid, who, feed.now()) != member:  # bound: 30 s
        if feed.last_error or time.monotonic() > deadline:
            raise click.ClickException(f"the demo relay did not learn the members: {feed.last_error}")
        await asyncio.sleep(0.05)


async def _refused(attempt: Any) -> str:
    """The relay's refusal of `attempt` as `code: reason` (an acceptance is a demo failure)."""
    try:
        await attempt
    except Exception as exc:
        code = getattr(exc, "code", None)
        if code is None:
            raise
        return f"{code}: {getattr(exc, 'reason', '')}"
    raise click.ClickException("the relay accepted what it should have refused")


def _body(payload: m.Payload) -> str:
    if not isinstance(payload, m.Text):
        raise click.ClickException(f"the room message opened to a {payload.TYPE!r}, not a text")
    return payload.body
