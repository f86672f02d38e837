"""Sender keys for rooms: each member encrypts room messages with its own symmetric chain, given to
every other member pairwise (inside direct ratchet messages), and replaced when a member leaves or
is banned.

A `SenderKey` is a chain key, an iteration and an Ed25519 signing key (Signal's sender-key design):
message i is encrypted with ChaCha20-Poly1305 under a message key derived from the chain key with
HMAC-SHA256 (`0x01`), and the chain key moves on with HMAC-SHA256 (`0x02`) and the old one is
forgotten, so a stolen chain key opens no earlier message. Every ciphertext is signed with the
sender's signing key: the chain is shared with the whole room, the signature keeps one member from
writing as another. Receivers keep skipped message keys (at most MAX_SKIP ahead) for messages that
arrive out of order, and refuse one they opened before.

`RoomKeys` is one member's view of one room: its own sender key per epoch and the others'. On
`rotate()` (someone left or was banned) it starts a new epoch with a fresh chain, whose
distributions go only to the remaining members; `forget(member)` drops a removed member's chain.
A removed member still holds the old epoch's chains but nothing of the new one, so it cannot read
what is sent after its removal. Distributions (chain key, iteration, verify key; never the
signing key) travel inside direct Double Ratchet messages: clubchat.crypto.roomseal defines them
and the room message format.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from clubchat.crypto.padding import pad, unpad

MAX_SKIP = 1_000  # message keys a receiver derives ahead for out-of-order messages
_HEADER = struct.Struct(">32sII")  # room digest, epoch, iteration
# What a sealed room message adds to its padded plaintext: header, Poly1305 tag, Ed25519 signature.
# Relays subtract it to hold a tier's message limit to the padded plaintext (clubchat.node.rooms).
SEALED_OVERHEAD = _HEADER.size + 16 + 64


class RoomKeyError(ValueError):
    """A room message or key distribution was refused; the message says why."""


def _step(chain_key: bytes) -> tuple[bytes, bytes]:
    """(message key, next chain key): the KDF chain of Signal's symmetric ratchet."""
    return (
        hmac.new(chain_key, b"\x01", hashlib.sha256).digest(),
        hmac.new(chain_key, b"\x02", hashlib.sha256).digest(),
    )


def _room_digest(room: str) -> bytes:
    return hashlib.sha256(b"clubchat room " + room.encode()).digest()


@dataclass
class SenderKey:
    """One member's chain in one room epoch. `signing` is None for other members' chains."""

    room: str
    epoch: int
    chain_key: bytes
    iteration: int
    verify_key: bytes  # Ed25519 public, raw
    signing: bytes | None = None  # Ed25519 private, raw (own chain only)
    skipped: dict[int, bytes] = field(default_factory=dict)  # iteration -> message key, not yet used

    @classmethod
    def fresh(cls, room: str, epoch: int) -> SenderKey:
        key = Ed25519PrivateKey.generate()
        return cls(
            room,
            epoch,
            os.urandom(32),
            0,
            key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
            key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        )

    def encrypt(self, plaintext: bytes) -> bytes:
        """header || ChaCha20-Poly1305(padded plaintext) || Ed25519 signature of both."""
        if self.signing is None:
            raise RoomKeyError("only the chain's owner encrypts with it")
        message_key, self.chain_key = _step(self.chain_key)
        header = _HEADER.pack(_room_digest(self.room), self.epoch, self.iteration)
        self.iteration += 1
        body = header + ChaCha20Poly1305(message_key).encrypt(bytes(12), pad(plaintext), header)
        return body + Ed25519PrivateKey.from_private_bytes(self.signing).sign(body)

    def decrypt(self, message: bytes) -> bytes:
        """The plaintext of a message on this chain; raises RoomKeyError."""
        body, signature = message[:-64], message[-64:]
        if len(body) < _HEADER.size:
            raise RoomKeyError("the room message is too short")
        try:
            Ed25519PublicKey.from_public_bytes(self.verify_key).verify(signature, body)
        except InvalidSignature:
            raise RoomKeyError("the room message is not signed by this sender's key") from None
        room, epoch, iteration = _HEADER.unpack(body[: _HEADER.size])
        if room != _room_digest(self.room) or epoch != self.epoch:
            raise RoomKeyError(f"the message is for another room or epoch (epoch {epoch}, not {self.epoch})")
        message_key = self._message_key(iteration)
        try:
            padded = ChaCha20Poly1305(message_key).decrypt(
                bytes(12), body[_HEADER.size :], body[: _HEADER.size]
            )
        except InvalidTag:
            raise RoomKeyError("the room message does not open") from None
        return unpad(padded)

    def to_dict(self) -> dict[str, Any]:
        """The chain's state (secret: keep it in the encrypted keystore only)."""
        return {
            "room": self.room,
            "epoch": self.epoch,
            "chainKey": self.chain_key.hex(),
            "iteration": self.iteration,
            "verifyKey": self.verify_key.hex(),
            "signing": None if self.signing is None else self.signing.hex(),
            "skipped": {str(i): k.hex() for i, k in self.skipped.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SenderKey:
        signing = data["signing"]
        return cls(
            data["room"],
            data["epoch"],
            bytes.fromhex(data["chainKey"]),
            data["iteration"],
            bytes.fromhex(data["verifyKey"]),
            None if signing is None else bytes.fromhex(signing),
            {int(i): bytes.fromhex(k) for i, k in data["skipped"].items()},  # bound: MAX_SKIP
        )

    def _message_key(self, iteration: int) -> bytes:
        if iteration < self.iteration:
            key = self.skipped.pop(iteration, None)
            if key is None:
                raise RoomKeyError(f"message {iteration} was opened before or is older than this chain")
            return key
        if iteration - self.iteration > MAX_SKIP:
            raise RoomKeyError(f"message {iteration} is more than {MAX_SKIP} ahead of this chain")
        while self.iteration < iteration:  # bound: MAX_SKIP
            self.skipped[self.iteration], self.chain_key = _step(self.chain_key)
            self.iteration += 1
        key, self.chain_key = _step(self.chain_key)
        self.iteration += 1
        return key


@dataclass
class RoomKeys:
    """One member's keys for one room: its own chain of the current epoch and the other members'."""

    room: str
    address: str
    epoch: int = 0
    own: SenderKey | None = None
    chains: dict[tuple[str, int], SenderKey] = field(default_factory=dict)  # (member, epoch) -> chain

    def rotate(self) -> SenderKey:
        """A new epoch with a fresh own chain (call it when a member left or was banned, and at the
        start); distribute the result to the current members only."""
        self.epoch += 1
        self.own = SenderKey.fresh(self.room, self.epoch)
        return self.own

    def accept(self, member: str, key: SenderKey) -> None:
        """Take `member`'s chain (from an opened distribution)."""
        if key.room != self.room:
            raise RoomKeyError(f"a chain of room {key.room!r}, not {self.room!r}")
        self.chains[(member.lower(), key.epoch)] = key

    def forget(self, member: str) -> None:
        """Drop every chain of a member who left or was banned."""
        for k in [k for k in self.chains if k[0] == member.lower()]:  # bound: its epochs
            del self.chains[k]

    def to_dict(self) -> dict[str, Any]:
        """This member's keys of the room: its own chain and the others' (secret, like the chains)."""
        return {
            "room": self.room,
            "address": self.address,
            "epoch": self.epoch,
            "own": None if self.own is None else self.own.to_dict(),
            "chains": [[member, chain.to_dict()] for (member, _), chain in self.chains.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomKeys:
        keys = cls(data["room"], data["address"], data["epoch"])
        keys.own = None if data["own"] is None else SenderKey.from_dict(data["own"])
        for member, chain in data["chains"]:  # bound: members x epochs kept
            keys.accept(member, SenderKey.from_dict(chain))
        return keys

    def encrypt(self, plaintext: bytes) -> tuple[int, bytes]:
        if self.own is None:
            raise RoomKeyError("rotate() first: this member has no chain in the room")
        return self.own.epoch, self.own.encrypt(plaintext)

    def decrypt(self, member: str, epoch: int, message: bytes) -> bytes:
        chain = self.chains.get((member.lower(), epoch))
        if chain is None:
            raise RoomKeyError(f"no chain of {member} for epoch {epoch} in room {self.room!r}")
        return chain.decrypt(message)
