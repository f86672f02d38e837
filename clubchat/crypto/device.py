"""One device's private keys: the wallet-bound identity pair and its rotating prekeys.

The keys are generated here, on the device (`cryptography`'s X25519 / Ed25519 key generation); the
wallet only signs the statement that names the public halves. Prekeys rotate every
PREKEY_LIFETIME / 2 and a prekey's private half is deleted PREKEY_GRACE after it expired (long
enough for a message stored in a mailbox to be fetched): from then on a stolen device cannot open
what was encrypted to it. That is the forward secrecy this design gives (see README, "What a relay
can see").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from clubchat.crypto.bundle import (
    KeyStatement,
    RevocationStatement,
    prekey_id,
    prekey_message,
)
from clubchat.protocol import messages as m

DAY = 86_400
BUNDLE_LIFETIME = 365 * DAY  # the wallet binds a device's identity keys for a year
PREKEY_LIFETIME = 14 * DAY  # a prekey is published for this long; a new one after half of it
PREKEY_GRACE = 8 * DAY  # its private half is kept this long after expiry (mailbox retention is 7 days)


def _raw_private(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _raw_public(key: X25519PrivateKey | Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass
class Prekey:
    private: bytes
    public: bytes
    expires: int
    signature: bytes

    @property
    def id(self) -> str:
        return prekey_id(self.public)


@dataclass
class DeviceKeys:
    """A device's identity keys (bound to `statement.address` by `wallet_signature`) and prekeys."""

    x25519: bytes  # private, raw
    ed25519: bytes  # private, raw
    statement: KeyStatement
    wallet_signature: bytes
    prekeys: list[Prekey] = field(default_factory=list)  # oldest first; the last is published

    @classmethod
    def create(
        cls,
        account: LocalAccount,
        chain_id: int,
        now: int,
        lifetime: int = BUNDLE_LIFETIME,
        wallet: str | None = None,
    ) -> DeviceKeys:
        """New keys for `account` on `chain_id`, bound by its signature, with a first prekey. For a
        contract wallet, `wallet` is its address and `account` the owner key whose signature the
        wallet's EIP-1271 `isValidSignature` accepts."""
        x, ed = X25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        statement = KeyStatement(
            to_checksum_address(wallet or account.address),
            chain_id,
            _raw_public(x),
            _raw_public(ed),
            now,
            now + lifetime,
        )
        signed = account.sign_message(encode_defunct(text=statement.text()))
        device = cls(_raw_private(x), _raw_private(ed), statement, bytes(signed.signature))
        device.rotate(now)
        return device

    @property
    def address(self) -> str:
        return self.statement.address

    @property
    def public_x25519(self) -> bytes:
        return self.statement.x25519

    def rotate(self, now: int, lifetime: int = PREKEY_LIFETIME) -> Prekey:
        """A new prekey (published from now on); drops prekeys past expiry + PREKEY_GRACE."""
        key = X25519PrivateKey.generate()
        public = _raw_public(key)
        expires = now + lifetime
        sig = Ed25519PrivateKey.from_private_bytes(self.ed25519).sign(
            prekey_message(self.statement.key_id, public, expires)
        )
        prekey = Prekey(_raw_private(key), public, expires, sig)
        self.prekeys = [p for p in self.prekeys if p.expires + PREKEY_GRACE > now] + [prekey]
        return prekey

    def maintain(self, now: int) -> bool:
        """Rotate when the published prekey is past half its life; True when it rotated."""
        current = self.prekeys[-1]
        if current.expires - now < PREKEY_LIFETIME // 2:
            self.rotate(now)
            return True
        return False

    def prekey(self, kid: str) -> Prekey | None:
        """The prekey named `kid`, while its private half is kept."""
        return next((p for p in self.prekeys if p.id == kid), None)

    def bundle(self) -> m.KeyBundle:
        current = self.prekeys[-1]
        return m.KeyBundle(
            statement=self.statement.text(),
            signature="0x" + self.wallet_signature.hex(),
            prekey=current.public.hex(),
            prekey_expires=current.expires,
            prekey_signature=current.signature.hex(),
        )

    def revocation(self, account: LocalAccount, now: int) -> m.Revocation:
        """The wallet's revocation of this device's identity keys."""
        st = RevocationStatement(self.address, self.statement.chain_id, self.statement.key_id, now)
        signed = account.sign_message(encode_defunct(text=st.text()))
        return m.Revocation(statement=st.text(), signature="0x" + bytes(signed.signature).hex())

    # -- storage (a keystore file; private keys in the clear, protected by file permissions) -----

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "x25519": self.x25519.hex(),
            "ed25519": self.ed25519.hex(),
            "statement": self.statement.text(),
            "walletSignature": self.wallet_signature.hex(),
            "prekeys": [
                {
                    "private": p.private.hex(),
                    "public": p.public.hex(),
                    "expires": p.expires,
                    "signature": p.signature.hex(),
                }
                for p in self.prekeys
            ],
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> DeviceKeys:
        data = json.loads(text)
        return cls(
            bytes.fromhex(data["x25519"]),
            bytes.fromhex(data["ed25519"]),
            KeyStatement.parse(data["statement"]),
            bytes.fromhex(data["walletSignature"]),
            [
                Prekey(
                    bytes.fromhex(p["private"]),
                    bytes.fromhex(p["public"]),
                    p["expires"],
                    bytes.fromhex(p["signature"]),
                )
                for p in data["prekeys"]
            ],
        )
