"""The HTTP TURN credential endpoint (sign-in bound to it, single-use nonces, refusals) and the
in-memory discovery (deterministic, stake-weighted rendezvous)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from clubchat.client.relay_client import RelayError
from clubchat.client.turn_credentials import fetch_sync
from clubchat.node.relay import RelayConfig
from clubchat.node.turn import TurnConfig, rest_credentials
from clubchat.protocol.siwe import build_sign_in
from clubchat.registry import RELAY, TURN, InMemoryDiscovery, NodeRecord, address_seed, rendezvous
from tests.node.harness import relay, run

alice = Account.from_key("0x" + "a1" * 32)


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_credential_endpoint(tmp_path: Path) -> None:
    cfg = TurnConfig(data_dir=tmp_path, secret="s", credential_ttl=300)

    async def scenario() -> None:
        async with relay(RelayConfig(chain_id=5), turn_credentials=cfg.issuer()) as server:
            endpoint = server.credential_uri
            assert endpoint == "http" + server.uri.removeprefix("ws") + "/turn-credentials"
            loop = asyncio.get_running_loop()

            def flows() -> None:
                creds = fetch_sync(endpoint, alice)
                expiry, address = creds.username.split(":")
                assert address == alice.address
                assert creds.password == rest_credentials("s", alice.address, int(expiry) - 300, 300)[1]
                # a nonce is single use: replaying the same signed request fails
                status, challenge = _get(endpoint + "/nonce")
                assert status == 200 and challenge["uri"] == endpoint and challenge["chainId"] == 5
                text = build_sign_in(
                    alice.address, endpoint, 5, str(challenge["nonce"]), int(time.time()), 60
                ).text()
                sig = "0x" + bytes(alice.sign_message(encode_defunct(text=text)).signature).hex()
                url = endpoint + "?" + urlencode({"message": text, "signature": sig})
                assert _get(url)[0] == 200
                status, err = _get(url)
                assert (status, err["code"]) == (401, "bad-sign-in") and "nonce" in str(err["reason"])
                # bound to this endpoint: a relay sign-in URI does not work here
                status, challenge = _get(endpoint + "/nonce")
                text = build_sign_in(
                    alice.address, server.uri, 5, str(challenge["nonce"]), int(time.time()), 60
                ).text()
                sig = "0x" + bytes(alice.sign_message(encode_defunct(text=text)).signature).hex()
                status, err = _get(endpoint + "?" + urlencode({"message": text, "signature": sig}))
                assert (status, err["code"]) == (401, "bad-sign-in") and "not this relay" in str(
                    err["reason"]
                )
                # malformed and unknown paths
                status, err = _get(endpoint + "?message=x&signature=nothex")
                assert (status, err["code"]) == (400, "malformed")
                status, err = _get("http" + server.uri.removeprefix("ws") + "/other")
                assert (status, err["code"]) == (404, "not-offered")

            await loop.run_in_executor(None, flows)

        async with relay() as plain:
            with pytest.raises(RelayError) as err:
                await loop.run_in_executor(None, fetch_sync, plain.credential_uri, alice)
            assert err.value.code == "not-offered"
        with pytest.raises(RelayError) as err:
            await loop.run_in_executor(None, fetch_sync, plain.credential_uri, alice, 2.0)
        assert err.value.code == "unreachable"

    run(scenario())


def _disc(stakes: list[int]) -> tuple[InMemoryDiscovery, list[str]]:
    disc = InMemoryDiscovery()
    ops = []
    for i, stake in enumerate(stakes):
        op = Account.from_key((i + 1).to_bytes(32, "big")).address
        disc.register(op, NodeRecord(RELAY, {RELAY: f"ws://127.0.0.1:{9000 + i}"}, op, stake))
        ops.append(op)
    disc.register("0x" + "77" * 20, NodeRecord(TURN, {TURN: "turn:127.0.0.1:3478"}, "0x" + "78" * 20, 10**6))
    return disc, ops


def test_rendezvous_is_deterministic_distinct_and_kind_filtered() -> None:
    disc, ops = _disc([1, 1, 1, 1])
    a = rendezvous(disc, alice.address)
    assert a == rendezvous(disc, alice.address)  # caller and callee agree
    assert len(a) == 2 and len(set(a)) == 2
    assert all(uri.startswith("ws://") for uri in a)  # the TURN node is never a relay
    assert disc.sample(RELAY, address_seed(alice.address), 10) and len(disc.sample(RELAY, b"x" * 32, 10)) == 4
    disc.nodes[ops[0]].live = False
    assert ops[0] not in disc.sample(RELAY, b"y" * 32, 4)


def test_sampling_follows_stake() -> None:
    disc, ops = _disc([1, 3])
    firsts = Counter(disc.sample(RELAY, i.to_bytes(32, "big"), 1)[0] for i in range(4000))
    share = firsts[ops[1]] / 4000
    assert 0.72 < share < 0.78  # 3/4 of the stake, within ~4 standard deviations
