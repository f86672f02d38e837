"""Sealing envelope payloads for one peer and opening them: HPKE auth mode, padding, replay rejection,
trust on first use.

`Sealer(device)` belongs to one wallet's device. `seal(peer, id, payload)` encrypts a payload (text,
offer, answer, candidates, remove-candidates, bye) to the peer's current prekey, authenticated by
this device's wallet-bound X25519 key, bound (as HPKE associated data) to the envelope's `from`,
`to`, `id` and payload type, so a relay can neither move a ciphertext to another envelope nor turn a
live-only signal into a storable one. The plaintext is `{"p": payload, "ts": unix seconds}` padded to
a bucket (clubchat.crypto.padding). `open(envelope, sender)` reverses that and refuses, with a
`DecryptError` saying why: a plaintext payload, a prekey this device does not hold (any more), a
ciphertext that does not open (tampered, another recipient, another sender key), a payload type
that does not match its seal, a message older than MAX_AGE or from the future, and a replay (the same
sender and envelope id, or the same HPKE `enc`, seen before within MAX_AGE).

Trust on first use (`pin`): the first bundle seen for an address is pinned. A later, valid bundle
with a different identity key replaces the pin only if it is newer (a wallet re-binding its keys,
e.g. a new device) and the change is recorded in `key_changes`, so the user can be shown that the
safety number changed; an older one is refused (a relay replaying a superseded bundle). The safety
number of two addresses is derived from both identity keys (`safety_number`), the same on both
devices, to be compared out of band.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from clubchat.crypto import hpke
from clubchat.crypto.bundle import KeyBundleError, KeyStatement, VerifiedBundle
from clubchat.crypto.device import DeviceKeys
from clubchat.crypto.padding import PaddingError, pad, unpad
from clubchat.protocol import messages as m
from clubchat.protocol.codec import encode_object
from clubchat.protocol.siwe import CLOCK_SKEW_SECONDS

MAX_AGE = 8 * 86_400  # oldest message accepted: mailbox retention (7 days) plus a day
MAX_REPLAY_ENTRIES = 100_000  # bound on remembered (sender, id) pairs; oldest forgotten first


class DecryptError(ValueError):
    """A sealed payload was refused; the message says why."""


@dataclass(frozen=True)
class KeyChange:
    """A peer's pinned identity key was replaced by a newer wallet-signed one."""

    address: str
    old_key_id: str
    new_key_id: str
    at: int


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def aad(sender: str, to: str, id: str, kind: str, kid: str, skid: str) -> bytes:
    """HPKE associated data: everything of the envelope a relay sees, so none of it can be changed."""
    return "|".join(("clubchat e2e v1", sender.lower(), to.lower(), id, kind, kid, skid)).encode()


def safety_number(a: VerifiedBundle | DeviceKeys, b: VerifiedBundle | DeviceKeys) -> str:
    """60 digits in 12 groups of 5, from both parties' addresses and identity keys (order-free)."""
    parts = sorted(
        (x.statement.address.lower().encode() + x.statement.x25519 + x.statement.ed25519) for x in (a, b)
    )
    digest = hashlib.sha512(b"clubchat safety number v1" + b"".join(parts)).digest()
    digits = [f"{int.from_bytes(digest[i * 5 : i * 5 + 5], 'big') % 100_000:05d}" for i in range(12)]
    return " ".join(digits)


class Sealer:
    """End-to-end encryption state of one device: pinned peers and the replay window."""

    def __init__(self, device: DeviceKeys, clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.clock = clock
        self.pinned: dict[str, VerifiedBundle] = {}  # lower-case address -> pinned bundle
        self.key_changes: list[KeyChange] = []
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()  # (sender, id) -> ts
        self._seen_enc: OrderedDict[str, int] = OrderedDict()  # enc -> ts

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
            self.key_changes.append(KeyChange(bundle.address, old.key_id, bundle.key_id, int(self.clock())))
        elif old is not None and bundle.prekey_expires < old.prekey_expires:
            return old  # same identity, an older prekey: keep the newer one
        self.pinned[key] = bundle
        return bundle

    def restore(self, pins: dict[str, m.KeyBundle]) -> None:
        """Pin bundles checked in an earlier run (from the keystore; not checked again: they were
        verified before they were pinned, and a newer bundle still replaces them through `pin`)."""
        for address, wire in pins.items():  # bound: the peers pinned
            statement = KeyStatement.parse(wire.statement)
            self.pinned[address.lower()] = VerifiedBundle(
                statement, bytes.fromhex(wire.prekey), wire.prekey_expires, wire
            )

    def unpin(self, address: str, key_id: str) -> None:
        """Forget a pinned bundle whose identity key was revoked."""
        old = self.pinned.get(address.lower())
        if old is not None and old.key_id == key_id:
            del self.pinned[address.lower()]

    def safety_number(self, address: str) -> str:
        peer = self.pinned.get(address.lower())
        if peer is None:
            raise KeyBundleError(f"no key of {address} is pinned yet")
        return safety_number(self.device, peer)

    # -- sealing ----------------------------------------------------------------------------------

    def seal(self, peer: VerifiedBundle, id: str, payload: m.Payload) -> m.Sealed:
        """Encrypt `payload` for the envelope `id` from this device to `peer`."""
        if isinstance(payload, m.Sealed):
            raise TypeError("the payload is sealed already")
        cls = m.SealedSignal if payload.TYPE in m.SIGNALING_TYPES else m.Sealed
        kid, skid = peer.prekey_id, self.device.statement.key_id
        inner = {"p": encode_object(payload), "ts": int(self.clock())}
        try:  # UTF-8 rather than \u escapes (a 2-byte character costs 2 bytes, not 6)
            data = json.dumps(inner, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8: escape it as JSON allows
            data = json.dumps(inner, separators=(",", ":")).encode()
        enc, ct = hpke.seal(
            peer.prekey,
            self.device.x25519,
            aad(self.device.address, peer.address, id, cls.TYPE, kid, skid),
            pad(data),
        )
        return cls(kid=kid, skid=skid, enc=_b64(enc), ct=_b64(ct))

    def open(self, env: m.Envelope, sender: VerifiedBundle) -> m.Payload:
        """The payload inside `env` (sealed by `sender`'s device); raises DecryptError."""
        sealed = env.payload
        if not isinstance(sealed, m.Sealed):
            raise DecryptError(
                f"a plaintext {sealed.TYPE!r} payload from {env.sender}: every payload must be sealed"
            )
        if env.to.lower() != self.device.address.lower():
            raise DecryptError(f"the envelope is addressed to {env.to}, not to this device's wallet")
        if sender.address.lower() != env.sender.lower() or sender.key_id != sealed.skid:
            raise DecryptError(
                f"the payload was sealed by key {sealed.skid}, not by {env.sender}'s key {sender.key_id}"
            )
        prekey = self.device.prekey(sealed.kid)
        if prekey is None:
            raise DecryptError(
                f"the payload is sealed to prekey {sealed.kid}, which this device does not hold"
            )
        try:
            enc, ct = base64.b64decode(sealed.enc, validate=True), base64.b64decode(sealed.ct, validate=True)
            padded = hpke.open_sealed(
                enc,
                ct,
                prekey.private,
                sender.statement.x25519,
                aad(env.sender, env.to, env.id, sealed.TYPE, sealed.kid, sealed.skid),
            )
            inner = json.loads(unpad(padded))
            payload = m.decode_payload(inner["p"])
            ts = inner["ts"]
        except hpke.SealError as exc:
            raise DecryptError(str(exc)) from None
        except (PaddingError, ValueError, KeyError, TypeError, m.ProtocolError) as exc:
            raise DecryptError(f"the decrypted payload is malformed ({exc})") from None
        if isinstance(payload, m.Sealed) or type(ts) is not int:
            raise DecryptError("the decrypted payload is malformed")
        if (payload.TYPE in m.SIGNALING_TYPES) != isinstance(sealed, m.SealedSignal):
            raise DecryptError(f"a {payload.TYPE!r} payload arrived in a {sealed.TYPE!r} seal")
        self._check_fresh(env.sender.lower(), env.id, sealed.enc, ts)
        return payload

    def _check_fresh(self, sender: str, id: str, enc: str, ts: int) -> None:
        now = int(self.clock())
        if ts > now + CLOCK_SKEW_SECONDS:
            raise DecryptError("the message is dated in the future; check the clock")
        if ts < now - MAX_AGE:
            raise DecryptError(f"the message is older than {MAX_AGE // 86_400} days")
        if (sender, id) in self._seen or enc in self._seen_enc:
            raise DecryptError(f"replayed: envelope {id} from {sender} was already opened")
        for table, key in ((self._seen, (sender, id)), (self._seen_enc, enc)):
            table[key] = ts  # type: ignore[index]
            while table and (len(table) > MAX_REPLAY_ENTRIES or next(iter(table.values())) < now - MAX_AGE):
                table.popitem(last=False)  # bound: entries past the window or the cap
