"""The relay's limits and settings (`RelayConfig`): every bound a relay applies to frames,
connections, memory, sign-ins and its HTTP credential endpoint, with its default and unit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RelayConfig:
    """Operator settings of one relay (not governance parameters: each operator picks its own).

    The connection and memory limits are sized for a small machine (1-2 cores, 1-2 GB): README
    "Operating a node: limits" says how to size them for a larger one.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port; `RelayServer.uri` tells which one
    public_uri: str | None = None  # the endpoint registered on-chain; default ws://host:port
    chain_id: int = 31337
    max_frame_bytes: int = 65_536  # UTF-8 bytes; larger frames get `too-large`; > 2x closes with 1009
    sign_in_timeout: float = 10.0  # seconds to sign in after connecting (a hard limit: see _reap)
    sign_in_max_ttl: int = 86_400  # longest sign-in lifetime accepted, seconds
    rate_per_second: float = 100.0  # frames per second per signed-in address
    rate_burst: float = 400.0
    pre_auth_burst: float = 8.0  # frames an unauthenticated connection may send (then 1 per second)
    replay_window: float = 86_400.0  # seconds an envelope id stays remembered
    replay_max_ids: int = 200_000  # envelope ids remembered in all (~80 bytes each), oldest dropped first
    max_buffered_bytes: int = 2**20  # unsent bytes for one connection before it counts as not reading
    pending_batch: int = 1_000  # stored envelopes handed out unacknowledged (bytes: the mailbox's limit)
    close_timeout: float = 2.0  # seconds to wait for a peer's close frame (it may not be reading)
    http_nonce_ttl: float = 120.0  # seconds a credential-endpoint nonce stays usable
    http_nonces_max: int = 10_000  # outstanding credential-endpoint nonces (oldest dropped first)
    # HTTP requests (the credential endpoint and its /nonce) per client IP and in total, per second.
    # The global rate times http_nonce_ttl stays below http_nonces_max (50 * 120 = 6,000 < 10,000),
    # so a flood cannot push honest clients' outstanding nonces out before they use them.
    http_rate_per_ip: float = 10.0
    http_burst_per_ip: float = 40.0
    http_rate_global: float = 50.0  # shared in turns between the IPs that wait (clubchat.node.fairqueue)
    http_burst_global: float = 200.0
    http_queue_per_ip: int = 4  # requests of one IP that may wait for a turn (more get 429 at once)
    http_queue_wait: float = 2.0  # seconds a request may wait for its turn
    # -- connections: every limit below refuses or closes, none ever ends the server --
    max_connections: int = 4_096  # open TCP connections; also kept fd_reserve below the fd limit
    # Descriptors kept free: asyncio accepts up to ACCEPT_BATCH connections per wake-up before a
    # refused or evicted one is closed, plus the mailbox, status file, coturn pipes and logs.
    fd_reserve: int = 256
    max_pre_auth_per_ip: int = 32  # connections of one client IP (IPv6: /64) not signed in yet
    # Client networks the per-IP limits do not apply to: a reverse proxy in front of the relay (all
    # clients share its address), or loopback for a local load test. Empty by default.
    per_ip_exempt: tuple[str, ...] = ()
    connect_rate_per_ip: float = 10.0  # new TCP connections per second per client IP ...
    connect_burst_per_ip: float = 40.0  # ... after a burst of this many
    # Opening handshakes (HTTP parsing, the upgrade, the challenge) of IPs that opened more than
    # `handshake_light_per_ip` connections beyond their rate, node-wide per second: the others wait,
    # not read (up to `handshake_max_wait` s; the oldest waiting ones are evicted first when the
    # table is full), so a flood from many IPs costs the event loop a bounded rate of handshakes.
    # A host opening a few connections a second never waits.
    handshake_rate_global: float = 400.0
    handshake_burst_global: float = 100.0
    handshake_light_per_ip: float = 8.0
    handshake_max_wait: float = 3.0
    sign_in_rate_per_ip: float = 5.0  # sign-in attempts per second per client IP ...
    sign_in_burst_per_ip: float = 20.0  # ... after a burst of this many
    pre_auth_max_bytes: int = 32_768  # bytes a connection may send before it signs in (headers too)
    pre_auth_max_errors: int = 4  # refused frames before sign-in; the next one closes it (1008)
    control_rate: float = 1.0  # pings/pongs per second per connection ...
    control_burst: float = 16.0  # ... after a burst of this many; more closes it (1008)
    max_sessions_per_address: int = 8  # signed-in connections of one address
    max_fanout: int = 8  # connections one envelope is copied to
    max_buffered_total: int = 64 * 2**20  # unsent bytes of all connections together (envelopes)
    hand_out_retry: float = 0.5  # seconds before a hand-out the budget refused is tried again
    socket_send_buffer: int = 65_536  # SO_SNDBUF of each connection (Linux doubles it); 0 = kernel's
    # Envelopes forwarded or stored per second, paid by waiting (the connection's next frame is read
    # later; TCP pushes back on the sender), never by refusing: per client IP across all its signed-in
    # addresses (wallets are free, so the per-address rate alone lets one host multiply it) ...
    forward_rate_per_ip: float = 200.0
    forward_burst_per_ip: float = 800.0
    # ... and for the whole node: past it, the IPs that sent more than `forward_light_per_ip`
    # envelopes beyond their own rate wait too, so a host sending a few messages a second never
    # waits for a flood (exempt networks: never). The burst is small: a flood's first envelopes are
    # work done at once, ahead of everyone else's frames.
    forward_rate_global: float = 2_000.0
    forward_burst_global: float = 400.0
    forward_light_per_ip: float = 32.0
    max_pace: float = 5.0  # longest wait of one connection, seconds
    frames_per_turn: int = 8  # frames one connection handles before the others get the event loop
    # Input of connections not signed in yet, node-wide per event-loop turn: slices of at most
    # `pre_auth_slice_bytes` (an opening handshake is one; ~0.5-1 ms of CPU each); the rest waits for
    # the next turns (clubchat.node.relay_turns), so a flood delays an honest frame by a few slices.
    pre_auth_per_turn: int = 2
    pre_auth_slice_bytes: int = 512
    housekeeping_interval: float = 5.0  # seconds between sweeps of expired replay ids and idle buckets
