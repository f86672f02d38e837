"""HPKE (RFC 9180) in auth mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.

Single-shot `seal` / `open_sealed` (one context per message), and `start_session` /
`accept_session`, which derive the 32-byte secret a Double Ratchet session starts from with the
context's exporter (clubchat.crypto.ratchet), through pyhpke (built on `cryptography`); nothing here
goes below its API. Auth mode mixes the sender's static X25519 key
into the key schedule next to the fresh ephemeral one, so a ciphertext opens only with the
sender's public key the recipient expects: the recipient learns which wallet-bound key sent it
(without a signature, so it stays deniable).
"""

from __future__ import annotations

from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKeyInterface, OpenError

SUITE = CipherSuite.new(KEMId.DHKEM_X25519_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.CHACHA20_POLY1305)
INFO = b"clubchat e2e v1"
EXPORT_LABEL = b"clubchat ratchet v1"  # exporter context of a session's shared secret (RFC 9180 §5.3)
ENC_BYTES = 32  # X25519 encapsulated key
TAG_BYTES = 16  # Poly1305 tag


class SealError(ValueError):
    """A ciphertext did not open: tampered, for another key, or from another sender."""


def private_key(raw: bytes) -> KEMKeyInterface:
    return SUITE.kem.deserialize_private_key(raw)


def public_key(raw: bytes) -> KEMKeyInterface:
    return SUITE.kem.deserialize_public_key(raw)


def seal(recipient: bytes, sender_private: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """(enc, ciphertext) of `plaintext` to the X25519 public key `recipient`, authenticated by
    `sender_private` (X25519, raw 32 bytes) and bound to `aad`."""
    enc, ctx = SUITE.create_sender_context(public_key(recipient), INFO, sks=private_key(sender_private))
    return bytes(enc), bytes(ctx.seal(plaintext, aad))


def open_sealed(enc: bytes, ct: bytes, recipient_private: bytes, sender: bytes, aad: bytes) -> bytes:
    """The plaintext, or SealError when it was not sealed to this key by `sender` with this `aad`."""
    try:
        ctx = SUITE.create_recipient_context(
            enc, private_key(recipient_private), INFO, pks=public_key(sender)
        )
        return bytes(ctx.open(ct, aad))
    except (OpenError, ValueError) as exc:
        raise SealError(
            "the ciphertext does not open: tampered, for another key or from another sender"
        ) from exc


def start_session(recipient: bytes, sender_private: bytes) -> tuple[bytes, bytes]:
    """(enc, secret): a session secret shared with the holder of `recipient`'s private key, bound to
    the sender's static key `sender_private` (auth mode)."""
    enc, ctx = SUITE.create_sender_context(public_key(recipient), INFO, sks=private_key(sender_private))
    return bytes(enc), bytes(ctx.export(EXPORT_LABEL, 32))


def accept_session(enc: bytes, recipient_private: bytes, sender: bytes) -> bytes:
    """The secret `start_session` gave the sender; a wrong sender or key gives another secret (which
    then opens nothing), a malformed `enc` raises SealError."""
    try:
        ctx = SUITE.create_recipient_context(
            enc, private_key(recipient_private), INFO, pks=public_key(sender)
        )
        return bytes(ctx.export(EXPORT_LABEL, 32))
    except (OpenError, ValueError) as exc:
        raise SealError(f"the session's encapsulated key is not usable ({exc})") from None
