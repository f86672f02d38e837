"""Sealing envelope payloads for one peer and opening them: Double Ratchet sessions started with HPKE
auth mode, padding, replay rejection, trust on first use.

`Sealer(device)` belongs to one wallet's device. `seal(peer, id, payload)` encrypts a payload (text,
offer, answer, candidates, remove-candidates, bye) in this device's session with the peer
(clubchat.crypto.ratchet). The first message to a peer opens a session: HPKE auth mode from this
device's wallet-bound X25519 key to the peer's current prekey gives the shared secret (its exporter),
and the peer's prekey is the responder's first ratchet key; every message of the session carries the
HPKE `enc` and the prekey id until the peer answered in it (a lost or late first message does not
lose the session). The AEAD's associated data binds the envelope's `from`, `to`, `id`, payload
type, key ids, session id and the encrypted ratchet header, so a relay can neither move a
ciphertext to another envelope nor turn a live-only signal into a storable one. The plaintext is
`{"p": payload, "ts": unix seconds}` padded to a bucket (clubchat.crypto.padding).

`open(envelope, sender)` reverses that and refuses, with a `DecryptError` saying why: a plaintext
payload, a session this device does not hold and no opening data, a prekey this device does not hold
(any more), a ciphertext that does not open (tampered, another recipient, another sender key, a
replayed message key), a payload type that does not match its seal, a message older than MAX_AGE or
from the future, and a replayed envelope (the same sender and envelope id seen within MAX_AGE).
`sender` (the sender's verified bundle) is needed only for a message that opens a session
(`needs_bundle`): the others are authenticated by the session itself.

Both sides may open a session at once: each then holds both, and the one a message last arrived in
is the one it sends in. A device keeps at most MAX_SESSIONS per peer (oldest dropped first);
`export_sessions` / `restore_sessions` carry them and the replay window over a restart and between
processes sharing a keystore (in the encrypted keystore, under its lock).

Trust on first use (`pin`): the first bundle seen for an address is pinned. A later, valid bundle
with a different identity key replaces the pin only if it is newer (a wallet re-binding its keys,
e.g. a new device) and the change is recorded in `key_changes`, so the user can be shown that the
safety number changed; an older one is refused (a relay replaying a superseded bundle). The replaced
bundle is kept as `previous` for PREKEY_GRACE, so a message the peer sealed with its old key before it
re-keyed still opens. The safety number of two addresses is derived from both identity keys
(`safety_number`), the same on both devices, to be compared out of band.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from clubchat.crypto import hpke
from clubchat.crypto.bundle import KeyBundleError, KeyStatement, VerifiedBundle, one_time_message, prekey_id
from clubchat.crypto.device import PREKEY_GRACE, DeviceKeys
from clubchat.crypto.padding import PaddingError, pad, unpad
from clubchat.crypto.ratchet import Ratchet, RatchetError
from clubchat.protocol import messages as m
from clubchat.protocol.codec import encode_object
from clubchat.protocol.siwe import CLOCK_SKEW_SECONDS

MAX_AGE = 8 * 86_400  # oldest message accepted: mailbox retention (7 days) plus a day
MAX_REPLAY_ENTRIES = 100_000  # bound on remembered (sender, id) pairs; oldest forgotten first
MAX_PERSISTED_SEEN = 10_000  # of them, kept with the sessions (shared by processes on one keystore)
MAX_SESSIONS = 4  # sessions kept per peer (both sides opening at once makes two); oldest dropped
MAX_PEERS = 10_000  # peers whose sessions are kept; the least recently used is dropped first
MAX_PREVIOUS = 2  # replaced bundles kept per peer (for PREKEY_GRACE) to open what they sealed
MAX_ONE_TIME_HELD = 1_000  # one-time prekeys whose private half is kept (about 31 relays' stock)


class DecryptError(ValueError):
    """A sealed payload was refused; the message says why."""


@dataclass(frozen=True)
class KeyChange:
    """A peer's pinned identity key was replaced by a newer wallet-signed one."""

    address: str
    old_key_id: str
    new_key_id: str
    at: int


@dataclass
class Session:
    """One Double Ratchet session with a peer's identity key."""

    sid: str
    peer_key_id: str
    ratchet: Ratchet
    opening: tuple[str, str] | None = None  # (prekey id, enc) sent until the peer answers


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def session_id(enc: bytes) -> str:
    """16 hex digits naming the session opened with HPKE's encapsulated key `enc`."""
    return hashlib.sha256(b"clubchat session" + enc).hexdigest()[:16]


def aad(
    sender: str, to: str, id: str, kind: str, sid: str, skid: str, kid: str | None, enc: str | None
) -> bytes:
    """Associated data: everything of the envelope a relay sees (but the ratchet header, which the
    ratchet binds itself), so none of it can be changed."""
    fields = ("clubchat e2e v2", sender.lower(), to.lower(), id, kind, sid, skid, kid or "", enc or "")
    return "|".join(fields).encode()


def wrap(payload: m.Payload | m.RoomFileKey, ts: int) -> bytes:
    """The plaintext of a sealed payload: `{"p": payload, "ts": unix seconds}` as compact JSON."""
    inner = {"p": encode_object(payload), "ts": ts}
    try:  # UTF-8 rather than \u escapes (a 2-byte character costs 2 bytes, not 6)
        return json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: escape it as JSON allows
        return json.dumps(inner, separators=(",", ":")).encode()


def unwrap(data: bytes) -> tuple[int, m.Payload]:
    """(ts, payload) of a decrypted plaintext (padding removed); raises DecryptError."""
    try:
        inner = json.loads(data)
        payload = m.decode_payload(inner["p"])
        ts = inner["ts"]
    except (ValueError, KeyError, TypeError, m.ProtocolError) as exc:
        raise DecryptError(f"the decrypted payload is malformed ({exc})") from None
    if isinstance(payload, m.Sealed | m.RoomSealed) or type(ts) is not int:
        raise DecryptError("the decrypted payload is malformed")
    return ts, payload


def safety_number(a: VerifiedBundle | DeviceKeys, b: VerifiedBundle | DeviceKeys) -> str:
    """60 digits in 12 groups of 5, from both parties' addresses and identity keys (order-free)."""
    parts = sorted(
        (x.statement.address.lower().encode() + x.statement.x25519 + x.statement.ed25519) for x in (a, b)
    )
    digest = hashlib.sha512(b"clubchat safety number v1" + b"".join(parts)).digest()
    digits = [f"{int.from_bytes(digest[i * 5 : i * 5 + 5], 'big') % 100_000:05d}" for i in range(12)]
    return " ".join(digits)


class Sealer:
    """End-to-end encryption state of one device: pinned peers, sessions and the replay window."""

    def __init__(self, device: DeviceKeys, clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.clock = clock
        self.pinned: dict[str, VerifiedBundle] = {}  # lower-case address -> pinned bundle
        self.previous: dict[str, list[tuple[VerifiedBundle, int]]] = {}  # address -> (replaced, when)
        self.key_changes: list[KeyChange] = []
        self.sessions: dict[str, OrderedDict[str, Session]] = {}  # address -> sid -> session, active last
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()  # (sender, id) -> ts
        # one-time prekey id -> (private, public), oldest first (`new_one_time`)
        self.one_time: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()

    def use_device(self, device: DeviceKeys) -> None:
        """Seal with `device` from now on (the same keys after a prekey rotation, or keys the wallet
        bound anew: then every session goes, since each is bound to the identity key it began with)."""
        if device.statement.key_id != self.device.statement.key_id:
            self.sessions.clear()
            self.one_time.clear()  # signed by the old identity key
        self.device = device

    # -- trust on first use -------------------------------------------------------------------

    def pin(self, bundle: VerifiedBundle) -> VerifiedBundle:
        """Pin `bundle` for its address (first use, same key with a newer prekey, or a newer key);
        returns the bundle now pinned. Raises KeyBundleError for an older, different key."""
        key = bundle.address.lower()
        old = self.pinned.get(key)
        if old is not None and old.key_id != bundle.key_id:
            if bundle.statement.issued_at <= old.statement.issued_at:
                raise KeyBundleError(
                    f"{bundle.address} offered an older identity key ({bundle.key_id}) than the one pinned "
                    f"({old.key_id}); refusing it"
                )
            now = int(self.clock())
            self.key_changes.append(KeyChange(bundle.address, old.key_id, bundle.key_id, now))
            kept = [(b, at) for b, at in self.previous.get(key, []) if at + PREKEY_GRACE > now]
            self.previous[key] = [*kept, (old, now)][-MAX_PREVIOUS:]
        elif old is not None and bundle.prekey_expires < old.prekey_expires:
            return old  # same identity, an older prekey: keep the newer one
        self.pinned[key] = bundle
        return bundle

    def bundle_of(self, address: str, key_id: str) -> VerifiedBundle | None:
        """The pinned bundle of `address` with identity key `key_id`, or one it replaced less than
        PREKEY_GRACE ago (what the peer sealed before it re-keyed still opens)."""
        key = address.lower()
        pinned = self.pinned.get(key)
        if pinned is not None and pinned.key_id == key_id:
            return pinned
        now = int(self.clock())
        return next(
            (b for b, at in self.previous.get(key, []) if b.key_id == key_id and at + PREKEY_GRACE > now),
            None,
        )

    def restore(self, pins: dict[str, m.KeyBundle]) -> None:
        """Pin bundles checked in an earlier run or by another process on the same keystore (not
        checked again: they were verified before they were pinned). Each goes through `pin`, so an
        older one than held is ignored and a newer identity key is recorded in `key_changes`."""
        for wire in pins.values():  # bound: the peers pinned
            statement = KeyStatement.parse(wire.statement)
            with contextlib.suppress(KeyBundleError):  # older than the pin held here: keep ours
                self.pin(VerifiedBundle(statement, bytes.fromhex(wire.prekey), wire.prekey_expires, wire))

    def unpin(self, address: str, key_id: str) -> None:
        """Forget a pinned bundle whose identity key was revoked, and its sessions."""
        key = address.lower()
        old = self.pinned.get(key)
        if old is not None and old.key_id == key_id:
            del self.pinned[key]
        self.previous[key] = [(b, at) for b, at in self.previous.get(key, []) if b.key_id != key_id]
        held = self.sessions.get(key, OrderedDict())
        for sid in [sid for sid, s in held.items() if s.peer_key_id == key_id]:  # bound: MAX_SESSIONS
            del held[sid]

    def safety_number(self, address: str) -> str:
        peer = self.pinned.get(address.lower())
        if peer is None:
            raise KeyBundleError(f"no key of {address} is pinned yet")
        return safety_number(self.device, peer)

    # -- sessions -----------------------------------------------------------------------------

    def _active(self, peer: VerifiedBundle) -> Session | None:
        """The session to send to `peer` in: the active one with its current identity key."""
        for session in reversed(self.sessions.get(peer.address.lower(), {}).values()):  # bound: MAX_SESSIONS
            if session.peer_key_id == peer.key_id and session.ratchet.can_send:
                return session
        return None

    def opens_session(self, peer: VerifiedBundle) -> bool:
        """Whether the next message to `peer` opens a session (then a one-time prekey is worth claiming)."""
        return self._active(peer) is None

    def _sending_session(self, peer: VerifiedBundle, one_time: bytes | None = None) -> Session:
        """The active session with `peer`, or a new one opened to its one-time prekey `one_time` (one
        the sender claimed and checked, `verify_one_time`), else to its signed prekey."""
        held = self._held(peer.address)
        session = self._active(peer)
        if session is not None:
            return session
        target = one_time or peer.prekey
        enc, secret = hpke.start_session(target, self.device.x25519)
        session = Session(
            session_id(enc), peer.key_id, Ratchet.initiator(secret, target), (prekey_id(target), _b64(enc))
        )
        self._keep(held, session)
        return session

    # -- one-time prekeys ---------------------------------------------------------------------

    def new_one_time(self, n: int) -> tuple[m.OneTimePrekey, ...]:
        """`n` new one-time prekeys signed by this device's Ed25519 key, to publish on one relay; their
        private halves are kept (with the sessions) until a session opens with one, at most
        MAX_ONE_TIME_HELD (the oldest are forgotten first)."""
        signer = Ed25519PrivateKey.from_private_bytes(self.device.ed25519)
        out = []
        for _ in range(n):  # bound: the batch asked for
            private = X25519PrivateKey.generate()
            public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            self.one_time[prekey_id(public)] = (raw, public)
            signature = signer.sign(one_time_message(self.device.statement.key_id, public))
            out.append(m.OneTimePrekey(key=public.hex(), signature=signature.hex()))
        while len(self.one_time) > MAX_ONE_TIME_HELD:  # bound: the batch over
            self.one_time.popitem(last=False)
        return tuple(out)

    def _held(self, address: str) -> OrderedDict[str, Session]:
        """The sessions with `address` (most recently used peer last; the least recently used peers
        are forgotten beyond MAX_PEERS: a flood of new wallets cannot grow the state without bound)."""
        key = address.lower()
        held = self.sessions.pop(key, None) or OrderedDict()
        self.sessions[key] = held
        while len(self.sessions) > MAX_PEERS:  # bound: one over
            del self.sessions[next(iter(self.sessions))]
        return held

    @staticmethod
    def _keep(held: OrderedDict[str, Session], session: Session) -> None:
        held[session.sid] = session
        held.move_to_end(session.sid)
        while len(held) > MAX_SESSIONS:  # bound: one over
            held.popitem(last=False)

    def needs_bundle(self, env: m.Envelope) -> bool:
        """Whether opening `env` needs its sender's bundle: it opens a session this device does not
        hold yet (the others are authenticated by their session)."""
        sealed = env.payload
        if not isinstance(sealed, m.Sealed):
            return False
        return sealed.sid not in self.sessions.get(env.sender.lower(), {})

    def export_sessions(self) -> str:
        """Every session's state and the newest MAX_PERSISTED_SEEN entries of the replay window as
        JSON (secret: keep it in the encrypted keystore only)."""
        sessions = {
            peer: [
                {"sid": s.sid, "peer": s.peer_key_id, "opening": s.opening, "ratchet": s.ratchet.to_dict()}
                for s in held.values()
            ]
            for peer, held in self.sessions.items()
        }
        seen = [[sender, id, ts] for (sender, id), ts in self._seen.items()][-MAX_PERSISTED_SEEN:]
        one_time = [[kid, private.hex(), public.hex()] for kid, (private, public) in self.one_time.items()]
        return json.dumps({"sessions": sessions, "seen": seen, "oneTime": one_time})

    def restore_sessions(self, text: str) -> None:
        """Take the sessions of `export_sessions` (replacing those held) and add its replay entries."""
        data: dict[str, Any] = json.loads(text)
        # an earlier version wrote the sessions alone (peer -> sessions)
        sessions: dict[str, list[dict[str, Any]]] = data["sessions"] if "seen" in data else data
        for peer, held in sessions.items():  # bound: peers, MAX_SESSIONS each
            self.sessions[peer] = OrderedDict(
                (
                    s["sid"],
                    Session(
                        s["sid"],
                        s["peer"],
                        Ratchet.from_dict(s["ratchet"]),
                        None if s["opening"] is None else (s["opening"][0], s["opening"][1]),
                    ),
                )
                for s in held
            )
        seen = dict(self._seen)
        seen.update({(sender, id): ts for sender, id, ts in data.get("seen", [])})  # bound: the file's
        self._seen = OrderedDict(sorted(seen.items(), key=lambda item: item[1]))  # oldest first
        if "oneTime" in data:  # the file holds the one-time prekeys not used yet, by any process
            self.one_time = OrderedDict(
                (kid, (bytes.fromhex(private), bytes.fromhex(public)))
                for kid, private, public in data["oneTime"]  # bound: MAX_ONE_TIME_HELD
            )

    # -- sealing ----------------------------------------------------------------------------------

    def seal(
        self, peer: VerifiedBundle, id: str, payload: m.Payload, one_time: bytes | None = None
    ) -> m.Sealed:
        """Encrypt `payload` for the envelope `id` from this device to `peer` (a new session opens to
        the one-time prekey `one_time` when given: see `opens_session`)."""
        if isinstance(payload, m.Sealed):
            raise TypeError("the payload is sealed already")
        cls = m.SealedSignal if payload.TYPE in m.SIGNALING_TYPES else m.Sealed
        padded = pad(wrap(payload, int(self.clock())))  # PaddingError before a session is opened
        session = self._sending_session(peer, one_time)
        kid, enc = session.opening or (None, None)
        skid = self.device.statement.key_id
        ad = aad(self.device.address, peer.address, id, cls.TYPE, session.sid, skid, kid, enc)
        header, ct = session.ratchet.encrypt(padded, ad)
        return cls(
            sid=session.sid,
            skid=skid,
            hdr=_b64(header),
            ct=_b64(ct),
            kid=kid,
            enc=enc,
        )

    def open(self, env: m.Envelope, sender: VerifiedBundle | None = None) -> m.Payload:
        """The payload inside `env`; `sender` is the sender's bundle with the identity key that
        sealed it (needed when `needs_bundle(env)`). Raises DecryptError."""
        sealed = env.payload
        if not isinstance(sealed, m.Sealed):
            raise DecryptError(
                f"a plaintext {sealed.TYPE!r} payload from {env.sender}: every payload must be sealed"
            )
        if env.to.lower() != self.device.address.lower():
            raise DecryptError(f"the envelope is addressed to {env.to}, not to this device's wallet")
        held = self.sessions.get(env.sender.lower())
        session = None if held is None else held.get(sealed.sid)
        try:
            accepted = session is None
            if session is None:
                session = self._accept(env, sealed, sender)
            elif session.peer_key_id != sealed.skid:
                raise DecryptError(f"session {sealed.sid} is not with {env.sender}'s key {sealed.skid}")
            header = base64.b64decode(sealed.hdr, validate=True)
            ct = base64.b64decode(sealed.ct, validate=True)
            ad = aad(env.sender, env.to, env.id, sealed.TYPE, sealed.sid, sealed.skid, sealed.kid, sealed.enc)
            plain = unpad(session.ratchet.decrypt(header, ct, ad))
        except (RatchetError, hpke.SealError) as exc:
            raise DecryptError(str(exc)) from None
        except DecryptError:
            raise
        except PaddingError as exc:
            raise DecryptError(f"the decrypted payload is malformed ({exc})") from None
        except ValueError as exc:  # base64
            raise DecryptError(f"the sealed payload is malformed ({exc})") from None
        ts, payload = unwrap(plain)
        if (payload.TYPE in m.SIGNALING_TYPES) != isinstance(sealed, m.SealedSignal):
            raise DecryptError(f"a {payload.TYPE!r} payload arrived in a {sealed.TYPE!r} seal")
        self._check_fresh(env.sender.lower(), env.id, ts)
        if accepted and sealed.kid is not None:  # opened: its one-time prekey is never usable again
            self.one_time.pop(sealed.kid, None)
        session.opening = None  # the peer answered in this session: no need to repeat its opening
        self._keep(self._held(env.sender), session)  # a message arrived in it: the one to answer in
        return payload

    def _accept(self, env: m.Envelope, sealed: m.Sealed, sender: VerifiedBundle | None) -> Session:
        """A new responder session from a message that opens one (not kept until it opened)."""
        if sealed.enc is None or sealed.kid is None:
            raise DecryptError(
                f"no session {sealed.sid} with {env.sender} on this device, and the message does not open "
                "one (its first messages were lost, or this device lost its state)"
            )
        enc = base64.b64decode(sealed.enc, validate=True)
        if session_id(enc) != sealed.sid:
            raise DecryptError("the session id does not match the session's encapsulated key")
        if sender is None or sender.address.lower() != env.sender.lower() or sender.key_id != sealed.skid:
            raise DecryptError(
                f"the payload was sealed by key {sealed.skid}, not by {env.sender}'s key "
                f"{None if sender is None else sender.key_id}"
            )
        prekey = self.device.prekey(sealed.kid)
        pair = (prekey.private, prekey.public) if prekey is not None else self.one_time.get(sealed.kid)
        if pair is None:
            raise DecryptError(
                f"the payload is sealed to prekey {sealed.kid}, which this device does not hold "
                "(a one-time prekey is gone once a session opened with it)"
            )
        secret = hpke.accept_session(enc, pair[0], sender.statement.x25519)
        return Session(sealed.sid, sender.key_id, Ratchet.responder(secret, pair[0], pair[1]))

    def _check_fresh(self, sender: str, id: str, ts: int) -> None:
        now = int(self.clock())
        if ts > now + CLOCK_SKEW_SECONDS:
            raise DecryptError("the message is dated in the future; check the clock")
        if ts < now - MAX_AGE:
            raise DecryptError(f"the message is older than {MAX_AGE // 86_400} days")
        if (sender, id) in self._seen:
            raise DecryptError(f"replayed: envelope {id} from {sender} was already opened")
        self._seen[(sender, id)] = ts
        while self._seen and (
            len(self._seen) > MAX_REPLAY_ENTRIES or next(iter(self._seen.values())) < now - MAX_AGE
        ):
            self._seen.popitem(last=False)  # bound: entries past the window or the cap
