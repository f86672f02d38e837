"""The Double Ratchet with header encryption (Signal's specification, revision 4, section 4) over
X25519, HKDF-SHA256, HMAC-SHA256 and ChaCha20-Poly1305, all from `cryptography` / the standard
library; only the state machine is here.

Two parties start from a shared secret (`sk`, from an HPKE auth-mode context's exporter:
clubchat.crypto.session) and the responder's prekey. Every message moves a sending chain on by one
HMAC step (`_kdf_ck`) and is encrypted with that step's one-time message key, which is then
forgotten: a device stolen later holds no key of a message it already opened (forward secrecy).
Every reply carries a fresh X25519 ratchet key; the first message after it mixes a new
Diffie-Hellman output into the root key (`_kdf_rk`), so a stolen state stops opening messages once
both sides stepped again (post-compromise security).

Messages may arrive out of order: keys of skipped messages are kept, at most MAX_SKIP ahead in one
chain and MAX_SKIPPED in all (the oldest is dropped first). A message key opens one message: a replay
is refused. The header (ratchet key, previous chain length, number) is encrypted with a header key
that the root chain renews at every Diffie-Hellman step (random 96-bit nonce, ChaCha20-Poly1305),
so a relay sees neither the counters nor the ratchet keys; the encrypted header is authenticated
with the ciphertext, with the caller's associated data. A message that does not open leaves the
state as it was (`decrypt` works on a copy and keeps it only on success).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

MAX_SKIP = 1_000  # message keys derived ahead in one chain for messages not yet arrived
MAX_SKIPPED = 2_000  # skipped message keys kept per session; the oldest is dropped first
_ROOT_INFO = b"clubchat ratchet root v1"
_MESSAGE_INFO = b"clubchat ratchet message v1"
_HEADER_KEYS_INFO = b"clubchat ratchet header keys v1"
_HEADER = struct.Struct(">32sII")  # ratchet public key, previous chain length, message number
HEADER_BYTES = 12 + _HEADER.size + 16  # nonce, encrypted header, tag


class RatchetError(ValueError):
    """A ratchet message did not open (tampered, replayed, too far ahead, or not of this session)."""


@dataclass(frozen=True)
class Header:
    """What a ratchet message carries in clear: the sender's ratchet key, the length of its previous
    sending chain, and the message's number in the current one."""

    dh: bytes
    pn: int
    n: int

    def encode(self) -> bytes:
        return _HEADER.pack(self.dh, self.pn, self.n)


def _hencrypt(hk: bytes, header: Header) -> bytes:
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(hk).encrypt(nonce, header.encode(), None)


def _hdecrypt(hk: bytes | None, enc: bytes) -> Header | None:
    """The header `enc` holds if `hk` encrypted it, else None."""
    if hk is None or len(enc) != HEADER_BYTES:
        return None
    try:
        dh, pn, n = _HEADER.unpack(ChaCha20Poly1305(hk).decrypt(enc[:12], enc[12:], None))
    except InvalidTag:
        return None
    return Header(dh, pn, n)


def header_keys(sk: bytes) -> tuple[bytes, bytes]:
    """(the initiator's first sending header key, the responder's first next-header key), from the
    session's shared secret."""
    out = HKDF(hashes.SHA256(), 64, salt=bytes(32), info=_HEADER_KEYS_INFO).derive(sk)
    return out[:32], out[32:]


def _raw_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _new_pair() -> tuple[bytes, bytes]:
    key = X25519PrivateKey.generate()
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()), _raw_public(key)


def _dh(private: bytes, public: bytes) -> bytes:
    try:
        return X25519PrivateKey.from_private_bytes(private).exchange(
            X25519PublicKey.from_public_bytes(public)
        )
    except ValueError as exc:  # a low-order point gives an all-zero output, which cryptography refuses
        raise RatchetError(f"the ratchet key is not a usable X25519 key ({exc})") from None


def _kdf_rk(rk: bytes, dh_out: bytes) -> tuple[bytes, bytes, bytes]:
    """(new root key, new chain key, next header key): HKDF-SHA256 with the root key as salt."""
    out = HKDF(hashes.SHA256(), 96, salt=rk, info=_ROOT_INFO).derive(dh_out)
    return out[:32], out[32:64], out[64:]


def _kdf_ck(ck: bytes) -> tuple[bytes, bytes]:
    """(next chain key, message key): HMAC-SHA256 of the chain key with constants 0x02 and 0x01."""
    return hmac.new(ck, b"\x02", hashlib.sha256).digest(), hmac.new(ck, b"\x01", hashlib.sha256).digest()


# A message's ciphertext is its padded plaintext and the Poly1305 tag: relays subtract it to hold a
# tier's message limit to the padded plaintext of a direct `sealed` envelope (clubchat.node.rooms).
SEALED_OVERHEAD = 16


def _aead(mk: bytes) -> tuple[ChaCha20Poly1305, bytes]:
    """The cipher and nonce of one message key (each message key encrypts exactly one message)."""
    out = HKDF(hashes.SHA256(), 44, salt=bytes(32), info=_MESSAGE_INFO).derive(mk)
    return ChaCha20Poly1305(out[:32]), out[32:]


@dataclass
class Ratchet:
    """One party's state of one Double Ratchet session (with header encryption)."""

    rk: bytes  # root key
    dhs_private: bytes  # own current ratchet key pair
    dhs_public: bytes
    dhr: bytes | None = None  # the peer's current ratchet key
    cks: bytes | None = None  # sending chain key
    ckr: bytes | None = None  # receiving chain key
    hks: bytes | None = None  # sending header key
    hkr: bytes | None = None  # receiving header key
    nhks: bytes | None = None  # next sending header key (from the next DH step)
    nhkr: bytes | None = None  # next receiving header key
    ns: int = 0  # messages sent in the current sending chain
    nr: int = 0  # messages received in the current receiving chain
    pn: int = 0  # length of the previous sending chain
    skipped: OrderedDict[tuple[bytes, int], bytes] = field(default_factory=OrderedDict)  # (hk, n) -> mk

    @classmethod
    def initiator(cls, sk: bytes, remote: bytes) -> Ratchet:
        """The party that sends first, to the responder's ratchet key `remote` (its prekey)."""
        hka, nhkb = header_keys(sk)
        private, public = _new_pair()
        rk, cks, nhks = _kdf_rk(sk, _dh(private, remote))
        return cls(rk, private, public, dhr=remote, cks=cks, hks=hka, nhks=nhks, nhkr=nhkb)

    @classmethod
    def responder(cls, sk: bytes, private: bytes, public: bytes) -> Ratchet:
        """The party that receives first, holding the key pair (its prekey) the initiator used."""
        hka, nhkb = header_keys(sk)
        return cls(sk, private, public, nhks=nhkb, nhkr=hka)

    @property
    def can_send(self) -> bool:
        return self.cks is not None

    def encrypt(self, plaintext: bytes, ad: bytes) -> tuple[bytes, bytes]:
        """The encrypted header and the ciphertext of the next message, authenticated with `ad` and
        the encrypted header."""
        if self.cks is None or self.hks is None:
            raise RatchetError("this side of the session has received nothing yet and cannot send")
        self.cks, mk = _kdf_ck(self.cks)
        header = _hencrypt(self.hks, Header(self.dhs_public, self.pn, self.ns))
        self.ns += 1
        cipher, nonce = _aead(mk)
        return header, cipher.encrypt(nonce, plaintext, ad + header)

    def decrypt(self, header: bytes, ciphertext: bytes, ad: bytes) -> bytes:
        """The plaintext of a message; raises RatchetError and leaves the state unchanged if it does
        not open."""
        trial = copy.deepcopy(self)
        plaintext = trial._decrypt(header, ciphertext, ad)
        self.__dict__.update(trial.__dict__)
        return plaintext

    def _decrypt(self, enc: bytes, ciphertext: bytes, ad: bytes) -> bytes:
        mk = self._skipped_key(enc)
        if mk is None:
            header = _hdecrypt(self.hkr, enc)
            if header is not None:
                if header.n < self.nr:
                    raise RatchetError(f"replayed: message {header.n} of this chain was opened before")
            else:
                header = _hdecrypt(self.nhkr, enc)
                if header is None:
                    raise RatchetError(
                        "the message does not open: tampered, replayed from an earlier chain, or not of "
                        "this session"
                    )
                self._skip(header.pn)
                self._step(header.dh)
            self._skip(header.n)
            assert self.ckr is not None  # set by _step
            self.ckr, mk = _kdf_ck(self.ckr)
            self.nr += 1
        cipher, nonce = _aead(mk)
        try:
            return cipher.decrypt(nonce, ciphertext, ad + enc)
        except InvalidTag:
            raise RatchetError("the message does not open: tampered, or not of this session") from None

    def _skipped_key(self, enc: bytes) -> bytes | None:
        """The kept key of a skipped message whose header `enc` is (one trial per header key)."""
        for hk in dict.fromkeys(hk for hk, _ in self.skipped):  # bound: the chains with skipped keys
            header = _hdecrypt(hk, enc)
            if header is not None:
                return self.skipped.pop((hk, header.n), None)
        return None

    def _skip(self, until: int) -> None:
        """Keep the message keys of the current receiving chain up to (not including) `until`."""
        if self.ckr is None or self.hkr is None:
            return
        if until - self.nr > MAX_SKIP:
            raise RatchetError(f"message {until} is more than {MAX_SKIP} ahead of this chain")
        while self.nr < until:  # bound: MAX_SKIP
            self.ckr, self.skipped[(self.hkr, self.nr)] = _kdf_ck(self.ckr)
            self.nr += 1
        while len(self.skipped) > MAX_SKIPPED:  # bound: at most MAX_SKIP over the cap
            self.skipped.popitem(last=False)

    def _step(self, dh: bytes) -> None:
        """The Diffie-Hellman ratchet: a new receiving chain from the peer's new key, then a new
        sending chain from a fresh key pair of ours; the header keys move on with them."""
        if len(dh) != 32:
            raise RatchetError("the ratchet key in the header is not 32 bytes")
        self.pn, self.ns, self.nr = self.ns, 0, 0
        self.hks, self.hkr = self.nhks, self.nhkr
        self.dhr = dh
        self.rk, self.ckr, self.nhkr = _kdf_rk(self.rk, _dh(self.dhs_private, dh))
        self.dhs_private, self.dhs_public = _new_pair()
        self.rk, self.cks, self.nhks = _kdf_rk(self.rk, _dh(self.dhs_private, dh))

    # -- storage (inside the encrypted keystore) --------------------------------------------------

    _KEYS: ClassVar[tuple[str, ...]] = ("dhr", "cks", "ckr", "hks", "hkr", "nhks", "nhkr")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            k: None if getattr(self, k) is None else getattr(self, k).hex() for k in self._KEYS
        }
        data.update(
            rk=self.rk.hex(),
            dhs=[self.dhs_private.hex(), self.dhs_public.hex()],
            n=[self.ns, self.nr, self.pn],
            skipped=[[hk.hex(), n, mk.hex()] for (hk, n), mk in self.skipped.items()],
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ratchet:
        keys = {k: None if data[k] is None else bytes.fromhex(data[k]) for k in cls._KEYS}
        ns, nr, pn = data["n"]
        skipped = OrderedDict(((bytes.fromhex(h), n), bytes.fromhex(k)) for h, n, k in data["skipped"])
        return cls(
            bytes.fromhex(data["rk"]),
            bytes.fromhex(data["dhs"][0]),
            bytes.fromhex(data["dhs"][1]),
            ns=ns,
            nr=nr,
            pn=pn,
            skipped=skipped,
            **keys,
        )
