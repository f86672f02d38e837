"""Relay server: sign-in, forwarding and every refusal path, each answered with an error frame."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from eth_account import Account
from websockets.exceptions import ConnectionClosed

from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.node.mailbox import MailboxLimits
from clubchat.node.relay import RelayConfig, client_key
from clubchat.protocol import messages as m
from tests.node.harness import Raw, envelope, mailbox, relay, run

alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)
carol = Account.from_key("0x" + "c3" * 32)


def test_sign_in_and_forward_all_signaling_messages() -> None:
    cand = m.IceCandidate(sdp="candidate:1 1 udp 1 127.0.0.1 9 typ relay", sdp_mline_index=0, sdp_mid="0")
    payloads: list[m.Payload] = [
        m.Offer(sdp="v=0\r\n", options=("audio", "data")),
        m.Answer(sdp="v=0\r\n"),
        m.Candidates(candidates=(cand,)),
        m.RemoveCandidates(candidates=(cand,)),
        m.Bye(reason="done"),
    ]

    async def scenario() -> None:
        async with relay() as server:
            a = await RelayClient.connect(server.uri, alice)
            b = await RelayClient.connect(server.uri, bob)
            for p in payloads:
                sent = await a.send(bob.address, p)
                assert sent.status == "delivered"
                got = await b.receive(5)
                assert got.envelope.payload == p
                assert got.envelope.sender == alice.address
                assert got.envelope.id == sent.id
            assert server.status()["addresses"] == 2
            assert server.stats["forwarded"] == len(payloads)
            await a.close()
            await b.close()

    run(scenario())


def test_challenge_binds_to_the_relay() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig(chain_id=10)) as server:
            raw = await Raw.open(server.uri)
            assert raw.challenge.uri == server.uri
            assert raw.challenge.chain_id == 10
            assert raw.challenge.max_ttl == RelayConfig().sign_in_max_ttl
            signed = await raw.sign_in(alice)
            assert signed.address == alice.address
            await raw.close()

    run(scenario())


def test_frames_before_sign_in_are_refused() -> None:
    async def scenario() -> None:
        async with relay() as server:
            raw = await Raw.open(server.uri)
            await raw.send(envelope(alice.address, bob.address, "e1"))
            err = await raw.frame()
            assert (err.code, err.id) == ("unauthenticated", None)
            await raw.send(m.encode(m.GetTurnCredentials()))
            assert (await raw.frame()).code == "unauthenticated"
            await raw.send(m.encode(m.Ack(id="x", sender=alice.address)))
            assert (await raw.frame()).code == "unauthenticated"
            await raw.close()

    run(scenario())


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"nonce": "wrongnonce1"}, "nonce"),
        ({"uri": "ws://127.0.0.1:1"}, "not this relay"),
        ({"chain_id": 1}, "chain 1"),
        ({"ttl": 10 * 86_400}, "longer than"),
        ({"now": 1_000_000_000}, "expired"),
    ],
)
def test_bad_sign_in_gets_error_and_fresh_challenge(override: dict[str, object], fragment: str) -> None:
    async def scenario() -> None:
        async with relay() as server:
            raw = await Raw.open(server.uri)
            first_nonce = raw.challenge.nonce
            await raw.send(raw.sign_in_frame(alice, **override))
            err = await raw.frame()
            assert err.code == "bad-sign-in"
            assert fragment in err.reason
            fresh = await raw.frame()
            assert isinstance(fresh, m.Challenge) and fresh.nonce != first_nonce
            # the old nonce is burnt, the new one works
            await raw.send(raw.sign_in_frame(alice))
            assert (await raw.frame()).code == "bad-sign-in"
            await raw.frame()
            await raw.close()

    run(scenario())


async def _challenge_after(raw: Raw) -> m.Challenge:
    frame = await raw.frame()
    assert isinstance(frame, m.Challenge)
    return frame


def test_new_challenge_nonce_signs_in() -> None:
    async def scenario() -> None:
        async with relay() as server:
            raw = await Raw.open(server.uri)
            await raw.send(raw.sign_in_frame(alice, nonce="wrongnonce1"))
            assert (await raw.frame()).code == "bad-sign-in"
            raw.challenge = await _challenge_after(raw)
            assert (await raw.sign_in(alice)).address == alice.address
            await raw.send(raw.sign_in_frame(alice))
            assert (await raw.frame()).code == "already-signed-in"
            await raw.close()

    run(scenario())


def test_replayed_sign_in_on_another_connection_fails() -> None:
    async def scenario() -> None:
        async with relay() as server:
            first = await Raw.open(server.uri)
            frame = first.sign_in_frame(alice)
            await first.send(frame)
            assert isinstance(await first.frame(), m.SignedIn)
            thief = await Raw.open(server.uri)
            await thief.send(frame)
            err = await thief.frame()
            assert err.code == "bad-sign-in" and "nonce" in err.reason
            await first.close()
            await thief.close()

    run(scenario())


def test_sign_in_timeout_closes_with_policy_code() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig(sign_in_timeout=0.3)) as server:
            raw = await Raw.open(server.uri)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(raw.ws.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008

    run(scenario())


def test_expired_sign_in_is_refused_and_closed() -> None:
    clock = [1_800_000_000.0]

    async def scenario() -> None:
        async with relay(clock=lambda: clock[0]) as server:
            raw = await Raw.open(server.uri)
            await raw.send(raw.sign_in_frame(alice, now=int(clock[0]), ttl=60))
            assert isinstance(await raw.frame(), m.SignedIn)
            clock[0] += 61
            await raw.send(envelope(alice.address, bob.address, "late"))
            assert (await raw.frame()).code == "unauthenticated"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(raw.ws.recv(), 5)

    run(scenario())


def test_envelope_refusals() -> None:
    async def scenario() -> None:
        async with relay() as server:
            a = await Raw.open(server.uri)
            await a.sign_in(alice)
            b = await RelayClient.connect(server.uri, bob)
            # a malformed envelope's error names its id when it had one
            await a.send(json.dumps({"type": "envelope", "id": "bad1", "from": alice.address}))
            err = await a.frame()
            assert (err.code, err.id) == ("malformed", "bad1")
            # spoofed sender
            await a.send(envelope(carol.address, bob.address, "s1"))
            err = await a.frame()
            assert (err.code, err.id) == ("spoofed-sender", "s1")
            # accepted once, then replayed (also when the sender's case differs)
            await a.send(envelope(alice.address, bob.address, "r1"))
            assert await a.frame() == m.Sent(id="r1", status="delivered")
            await a.send(envelope(alice.address.lower(), bob.address, "r1"))
            err = await a.frame()
            assert (err.code, err.id) == ("replayed", "r1")
            # offline recipient, no mailbox on this relay
            await a.send(envelope(alice.address, carol.address, "o1"))
            err = await a.frame()
            assert (err.code, err.id) == ("offline", "o1")
            # an id refused as offline was not consumed: it can go later
            await a.send(envelope(alice.address, bob.address, "o1"))
            assert await a.frame() == m.Sent(id="o1", status="delivered")
            # malformed, unknown type, binary, non-object
            for bad, code in [
                ("{not json", "malformed"),
                (json.dumps({"type": "envelope", "id": "x"}), "malformed"),
                (
                    json.dumps(
                        {"type": "challenge", "nonce": "abcdefgh", "uri": "x", "chainId": 1, "maxTtl": 1}
                    ),
                    "unknown-type",
                ),
                (json.dumps({"type": "launch-missiles"}), "unknown-type"),
                (b"\x00\x01", "malformed"),
                ("[]", "malformed"),
                ("[" * 5000 + "]" * 5000, "malformed"),
            ]:
                await a.send(bad)
                assert (await a.frame()).code == code, bad
            # Bob got exactly the two accepted envelopes, in order
            assert [(await b.receive(5)).envelope.id for _ in range(2)] == ["r1", "o1"]
            assert b.inbox.empty()
            await a.close()
            await b.close()

    run(scenario())


def test_oversized_frames() -> None:
    config = RelayConfig(max_frame_bytes=4096)

    async def scenario() -> None:
        async with relay(config) as server:
            a = await Raw.open(server.uri)
            await a.sign_in(alice)
            body = "x" * 5000
            await a.send(
                m.encode(
                    m.Envelope(id="big", sender=alice.address, to=bob.address, payload=m.Text(body=body))
                )
            )
            err = await a.frame()
            assert err.code == "too-large" and "4096" in err.reason
            await a.send("y" * (2 * 4096 + 1))  # beyond the hard limit: websockets closes with 1009
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(a.ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            # the relay is fine
            b = await RelayClient.connect(server.uri, bob)
            await b.close()

    run(scenario())


def test_rate_limit_is_per_address_across_connections() -> None:
    config = RelayConfig(rate_per_second=0.001, rate_burst=5)

    async def scenario() -> None:
        async with relay(config) as server:
            b = await RelayClient.connect(server.uri, bob)
            a1 = await Raw.open(server.uri)
            await a1.sign_in(alice)
            a2 = await Raw.open(server.uri)
            await a2.sign_in(alice)
            codes = []
            for i in range(8):
                conn = a1 if i % 2 else a2
                await conn.send(envelope(alice.address, bob.address, f"rl{i}"))
                frame = await conn.frame()
                codes.append(frame.code if isinstance(frame, m.Error) else frame.status)
            assert codes == ["delivered"] * 5 + ["rate-limited"] * 3
            # Bob is not limited by Alice's bucket
            c = await RelayClient.connect(server.uri, carol)
            for _ in range(5):
                assert (await b.send(carol.address, m.Text(body="hi"))).status == "delivered"
            for x in (a1, a2, b, c):
                await x.close()

    run(scenario())


def test_pre_auth_flood_is_rate_limited() -> None:
    async def scenario() -> None:
        async with relay(RelayConfig(pre_auth_burst=3)) as server:
            raw = await Raw.open(server.uri)
            for _ in range(3):
                await raw.send("{}")
                assert (await raw.frame()).code == "unknown-type"
            await raw.send("{}")
            assert (await raw.frame()).code == "rate-limited"
            await raw.close()

    run(scenario())


def test_turn_credentials_not_offered_by_a_pure_relay() -> None:
    async def scenario() -> None:
        async with relay() as server:
            a = await RelayClient.connect(server.uri, alice)
            with pytest.raises(RelayError) as err:
                await a.turn_credentials()
            assert err.value.code == "not-offered"
            await a.close()

    run(scenario())


def test_mailbox_stores_delivers_on_sign_in_and_deletes_on_ack(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mailbox(tmp_path / "mb.sqlite") as box, relay(mailbox=box) as server:
            a = await RelayClient.connect(server.uri, alice)
            for i in range(3):
                assert (await a.send(carol.address, m.Text(body=f"n{i}"), id=f"m{i}")).status == "stored"
            assert await box.count(carol.address) == 3
            # Carol signs in with a raw socket and does NOT ack: messages stay
            raw = await Raw.open(server.uri)
            await raw.sign_in(carol)
            first = [await raw.frame() for _ in range(3)]
            assert [f.envelope.id for f in first] == ["m0", "m1", "m2"]
            assert all(isinstance(f, m.Stored) for f in first)
            await raw.close()
            assert await box.count(carol.address) == 3
            # acking an unknown id is refused
            raw = await Raw.open(server.uri)
            await raw.sign_in(carol)
            again = [await raw.frame() for _ in range(3)]
            assert [f.envelope.id for f in again] == ["m0", "m1", "m2"]
            await raw.send(m.encode(m.Ack(id="nope", sender=alice.address)))
            assert (await raw.frame()).code == "unknown-message"
            await raw.send(m.encode(m.Ack(id="m1", sender=alice.address)))
            await raw.send(m.encode(m.Ack(id="m1", sender=alice.address)))
            assert (await raw.frame()).code == "unknown-message"  # deleted exactly once
            assert await box.count(carol.address) == 2
            await raw.close()
            # the client acks automatically
            c = await RelayClient.connect(server.uri, carol)
            got = sorted([(await c.receive(5)).envelope.id for _ in range(2)])
            assert got == ["m0", "m2"]
            for _ in range(50):
                if await box.count(carol.address) == 0:
                    break
                await asyncio.sleep(0.05)
            assert await box.count(carol.address) == 0
            # a replay of a stored id is refused
            with pytest.raises(RelayError) as err:
                await a.send(carol.address, m.Text(body="n0"), id="m0")
            assert err.value.code == "replayed"
            await a.close()
            await c.close()

    run(scenario())


def test_mailbox_full(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with mailbox(tmp_path / "mb.sqlite") as box, relay(mailbox=box) as server:
            box.limits = MailboxLimits(per_recipient=2)
            a = await RelayClient.connect(server.uri, alice)
            assert (await a.send(carol.address, m.Text(body="1"))).status == "stored"
            assert (await a.send(carol.address, m.Text(body="2"))).status == "stored"
            with pytest.raises(RelayError) as err:
                await a.send(carol.address, m.Text(body="3"))
            assert err.value.code == "mailbox-full"
            await a.close()

    run(scenario())


def test_slow_consumer_is_cut_off_without_hurting_others() -> None:
    config = RelayConfig(
        max_buffered_bytes=256 * 1024, max_frame_bytes=60_000, rate_per_second=1e6, rate_burst=1e6
    )

    async def scenario() -> None:
        async with relay(config) as server:
            # Bob reads nothing (tiny receive buffer); Carol reads everything.
            stuck = await Raw.open(server.uri)
            await stuck.sign_in(bob)
            stuck.ws.transport.pause_reading()
            c = await RelayClient.connect(server.uri, carol)
            a = await RelayClient.connect(server.uri, alice)
            sdp = "z" * m.MAX_SDP_CHARS
            outcomes = []
            for i in range(2000):
                try:
                    outcomes.append((await a.send(bob.address, m.Answer(sdp=sdp), id=f"b{i}")).status)
                except RelayError as exc:
                    outcomes.append(exc.code)
                    break
            assert outcomes[-1] in ("offline", "recipient-busy")
            assert server.stats["slow-consumer-closed"] == 1
            for i in range(20):
                assert (await a.send(carol.address, m.Text(body="ok"), id=f"c{i}")).status == "delivered"
            assert [(await c.receive(5)).envelope.id for _ in range(20)] == [f"c{i}" for i in range(20)]
            await a.close()
            await c.close()

    run(scenario())


def test_frames_of_one_loop_iteration_go_out_in_order_with_one_write() -> None:
    async def scenario() -> None:
        async with relay() as server:
            b = await Raw.open(server.uri)
            await b.sign_in(bob)
            (conn,) = server.clients[bob.address.lower()]
            writes: list[bytes] = []
            write = conn.ws.transport.write

            def counting_write(data: bytes | bytearray | memoryview) -> None:
                writes.append(bytes(data))
                write(data)

            conn.ws.transport.write = counting_write  # type: ignore[method-assign]
            texts = [m.error_frame("internal", f"frame {i}") for i in range(5)]
            for t in texts:  # one synchronous burst, as a sender's batch of envelopes is
                assert server._push(conn, t)
            assert writes == []  # queued in the websockets protocol, not yet written
            assert [await b.obj() for _ in texts] == [json.loads(t) for t in texts]
            assert len(writes) == 1
            # websockets' own writes (here a ping) flush what is queued first, so order holds; the
            # relay's connection writes both in one go
            server._push(conn, texts[0])
            pong = await conn.ws.ping()
            assert len(writes) == 2 and len(texts[0]) < 126  # a 2-byte header, unmasked (server)
            assert writes[1][0] == 0x81 and writes[1][2 + len(texts[0])] == 0x89  # FIN+text, then FIN+ping
            assert await b.obj() == json.loads(texts[0])
            await asyncio.wait_for(pong, 5)
            await b.close()

    run(scenario())


def _http_get(url: str, source_ip: str) -> tuple[int, dict[str, str], dict[str, object]]:
    """GET from a given loopback source address (Linux routes all of 127/8 to lo)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=5, source_address=(source_ip, 0)
    )
    try:
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read())
    finally:
        conn.close()


def test_http_nonce_endpoint_is_rate_limited_per_ip_and_globally() -> None:
    clock = [time.time()]  # frozen unless the test moves it, so no bucket refills by itself
    config = RelayConfig(http_rate_per_ip=1.0, http_burst_per_ip=3, http_rate_global=2.0, http_burst_global=5)

    async def scenario() -> None:
        async with relay(config, clock=lambda: clock[0]) as server:
            nonce_url = server.credential_uri + "/nonce"
            loop = asyncio.get_running_loop()

            async def get(ip: str) -> tuple[int, dict[str, str], dict[str, object]]:
                return await loop.run_in_executor(None, _http_get, nonce_url, ip)

            # one client IP: its burst, then 429 with the protocol's error JSON
            for _ in range(3):
                status, _, body = await get("127.0.0.1")
                assert status == 200 and body["type"] == "challenge"
            status, headers, body = await get("127.0.0.1")
            assert status == 429 and headers["Retry-After"] == "1"
            assert body == {
                "type": "error",
                "code": "rate-limited",
                "reason": "too many requests from 127.0.0.1; retry in 1 s",
            }
            # another IP is not affected by the first one's limit ... until the node's total runs out
            for _ in range(2):
                assert (await get("127.0.0.2"))[0] == 200
            status, headers, body = await get("127.0.0.2")
            assert (status, body["code"]) == (429, "rate-limited")
            assert body["reason"] == "this node is busy; retry in 1 s"
            # the WebSocket endpoint is not throttled by the HTTP limits
            raw = await Raw.open(server.uri)
            assert (await raw.sign_in(alice)).address == alice.address
            await raw.close()
            # refused requests issued no nonce; the buckets refill with time
            assert len(server.http.nonces) == 5
            assert server.stats["http-error:rate-limited"] == 2
            clock[0] += 1.0
            assert (await get("127.0.0.1"))[0] == 200

    run(scenario())


def test_http_rate_limit_counts_ipv4_addresses_and_ipv6_prefixes() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("unknown") == "unknown"
