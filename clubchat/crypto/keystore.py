"""Where a wallet's device keys live: one `DeviceKeys` per (address, chain id), created on first use.

In memory for the life of the process, and in a directory when one is configured (`CLUBCHAT_KEYSTORE`,
or `use_directory`), so `club listen` and `club message` run as separate processes share a device:
`<dir>/<address>-<chain id>.json` (the device's private keys), `.sessions.json` (its Double Ratchet
sessions and the recent part of its replay window), `.pins.json` (the peers' bundles pinned on first
use, so trust on first use holds across runs too) and `.room-<digest>.json` (its sender keys of one
room); `locked` serialises the processes that share one of them (`sessions_locked`: the sessions,
the replay window and the pins).

Every file is encrypted at rest: ChaCha20-Poly1305 under a key derived from a passphrase
(`CLUBCHAT_KEYSTORE_PASSPHRASE`, or the `passphrase` given to `use_directory`) with scrypt
(N = 2^15, r = 8, p = 1, a random 16-byte salt per process that writes), with the file's name as
associated data (a file cannot be swapped for another wallet's). Nothing is written in the clear,
not even for a moment: the ciphertext goes to a temporary file created with mode 0600 (in a
directory created with mode 0700) that then replaces the old one. A wrong passphrase fails with
KeystoreError naming the file; a file written in the clear by an earlier version is read once and
written back encrypted.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from eth_account.signers.local import LocalAccount

from clubchat.crypto.device import DeviceKeys
from clubchat.protocol import messages as m
from clubchat.protocol.codec import decode_object, encode_object

ENV = "CLUBCHAT_KEYSTORE"
PASSPHRASE_ENV = "CLUBCHAT_KEYSTORE_PASSPHRASE"
FORMAT = "clubchat-keystore-v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # about 32 MiB and a few tens of ms per derivation


class KeystoreError(RuntimeError):
    """The keystore cannot be read or written: no passphrase, a wrong one, or a damaged file."""


_lock = threading.Lock()
_devices: dict[tuple[str, int], DeviceKeys] = {}
_directory: Path | None = Path(os.environ[ENV]) if os.environ.get(ENV) else None
_passphrase: str | None = None  # None: read PASSPHRASE_ENV when needed
_derived: dict[tuple[str, bytes], bytes] = {}  # (passphrase, salt) -> key: scrypt once per salt
_salt = os.urandom(16)  # the salt of the files this process writes (one scrypt run, not one per write)


def use_directory(path: Path | None, passphrase: str | None = None) -> None:
    """Keep device keys in `path` from now on (None: memory only), encrypted with `passphrase`
    (None: the CLUBCHAT_KEYSTORE_PASSPHRASE environment variable)."""
    global _directory, _passphrase
    _directory = path
    _passphrase = passphrase


def directory() -> Path | None:
    return _directory


def _secret() -> str:
    secret = _passphrase if _passphrase is not None else os.environ.get(PASSPHRASE_ENV)
    if not secret:
        raise KeystoreError(
            f"the keystore {_directory} is encrypted with a passphrase: set {PASSPHRASE_ENV} "
            f"(or unset {ENV} to keep device keys in memory only)"
        )
    return secret


def _key(salt: bytes) -> bytes:
    secret = _secret()
    key = _derived.get((secret, salt))
    if key is None:
        key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(secret.encode())
        _derived[(secret, salt)] = key
    return key


def encrypt(name: str, text: str, salt: bytes | None = None) -> str:
    """The keystore file holding `text`, encrypted under the passphrase, bound to the file `name`."""
    salt = salt or _salt
    nonce = os.urandom(12)
    ct = ChaCha20Poly1305(_key(salt)).encrypt(nonce, text.encode(), name.encode())
    kdf = {"name": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
    return json.dumps({"format": FORMAT, "kdf": kdf, "nonce": nonce.hex(), "ct": ct.hex()})


def decrypt(name: str, data: dict[str, Any]) -> str:
    """The text of an encrypted keystore file's JSON; raises KeystoreError."""
    kdf = data["kdf"]
    if data.get("format") != FORMAT or kdf.get("name") != "scrypt":
        raise KeystoreError(f"{name} is not a keystore file this version reads")
    if (kdf["n"], kdf["r"], kdf["p"]) != (SCRYPT_N, SCRYPT_R, SCRYPT_P):
        raise KeystoreError(f"{name} uses scrypt parameters this version does not accept")
    try:
        plain = ChaCha20Poly1305(_key(bytes.fromhex(kdf["salt"]))).decrypt(
            bytes.fromhex(data["nonce"]), bytes.fromhex(data["ct"]), name.encode()
        )
    except InvalidTag:
        raise KeystoreError(
            f"the keystore passphrase is wrong for {name} (or the file was changed); "
            f"set {PASSPHRASE_ENV} to the passphrase it was written with"
        ) from None
    return plain.decode()


def _file(address: str, chain_id: int, suffix: str = ".json") -> Path | None:
    return None if _directory is None else _directory / f"{address.lower()}-{chain_id}{suffix}"


def _write(path: Path, text: str) -> None:
    """Encrypt `text` into `path` (through a 0600 temporary file that replaces it)."""
    sealed = encrypt(path.name, text)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(sealed)
    os.replace(tmp, path)


def _read(path: Path) -> str | None:
    """The decrypted text of `path` (None when there is no such file); a file written in the clear by
    an earlier version is encrypted now."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        raise KeystoreError(f"{path} is damaged (not JSON); restore it or remove it") from None
    if isinstance(data, dict) and "format" in data:
        return decrypt(path.name, data)
    text = json.dumps(data)  # the clear-text files of earlier versions
    _write(path, text)
    return text


def save(device: DeviceKeys) -> None:
    """Write `device` to the keystore directory, if there is one (after a prekey rotation too)."""
    path = _file(device.address, device.statement.chain_id)
    if path is not None:
        _write(path, device.to_json())


PINS = ".pins.json"


def save_pins(address: str, chain_id: int, pins: dict[str, m.KeyBundle]) -> None:
    """Keep the bundles `address` pinned (peer address -> bundle), if there is a keystore directory."""
    path = _file(address, chain_id, PINS)
    if path is not None:
        data = {peer: encode_object(bundle) for peer, bundle in sorted(pins.items())}
        _write(path, json.dumps(data))


def load_pins(address: str, chain_id: int) -> dict[str, m.KeyBundle]:
    """The bundles `address` pinned in earlier runs ({} without a keystore directory)."""
    path = _file(address, chain_id, PINS)
    text = None if path is None else _read(path)
    if text is None:
        return {}
    return {peer: decode_object(m.KeyBundle, obj) for peer, obj in json.loads(text).items()}


def save_text(address: str, chain_id: int, suffix: str, text: str) -> None:
    """Keep `text` as the keystore file `<address>-<chain id><suffix>`, if there is a directory."""
    path = _file(address, chain_id, suffix)
    if path is not None:
        _write(path, text)


def load_text(address: str, chain_id: int, suffix: str) -> str | None:
    """The text `save_text` kept (None without a directory or file)."""
    path = _file(address, chain_id, suffix)
    return None if path is None else _read(path)


def stamp(address: str, chain_id: int, suffix: str) -> tuple[int, int] | None:
    """(modification time in ns, size) of a keystore file: it changed when the stamp did."""
    path = _file(address, chain_id, suffix)
    if path is None or not path.exists():
        return None
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@contextmanager
def locked(address: str, chain_id: int, name: str = "") -> Iterator[None]:
    """Hold the keystore's lock `name` of `address` (an exclusive `flock` on
    `<address>-<chain id><name>.lock`; nothing without a directory). Processes sharing the keystore
    (`club listen` beside `club message`) read, use and write the state it guards one at a time: a
    message key is used once, never by two processes. Hold it only around code that does not wait,
    and never two of one name at once in a process (flock does not nest across file descriptors)."""
    path = _file(address, chain_id, name + ".lock")
    if path is None:
        yield
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


SESSIONS = ".sessions.json"


def save_sessions(address: str, chain_id: int, text: str) -> None:
    """Keep the Double Ratchet sessions of `address` (clubchat.crypto.session), if there is a directory."""
    save_text(address, chain_id, SESSIONS, text)


def load_sessions(address: str, chain_id: int) -> str | None:
    """The sessions `address` kept in an earlier run (None without a directory or file)."""
    return load_text(address, chain_id, SESSIONS)


def sessions_locked(address: str, chain_id: int) -> AbstractContextManager[None]:
    """The lock on the sessions, pins and replay window of `address` (`locked` with no name)."""
    return locked(address, chain_id)


def sessions_stamp(address: str, chain_id: int) -> tuple[int, int] | None:
    """The stamp of the sessions file (`stamp`)."""
    return stamp(address, chain_id, SESSIONS)


def device_for(account: LocalAccount, chain_id: int) -> DeviceKeys:
    """This process's device keys for `account` on `chain_id` (loaded, or created and bound now)."""
    key = (account.address.lower(), chain_id)
    with _lock:
        device = _devices.get(key)
        if device is None:
            path = _file(account.address, chain_id)
            now = int(time.time())
            text = None if path is None else _read(path)
            if text is not None:
                device = DeviceKeys.from_json(text)
                if device.statement.expires_at <= now + 86_400:  # about to expire: bind new keys
                    device = None
                elif device.maintain(now):
                    save(device)
            if device is None:
                device = DeviceKeys.create(account, chain_id, now)
                save(device)
            _devices[key] = device
        elif device.maintain(int(time.time())):
            save(device)
        return device


def forget(account: LocalAccount, chain_id: int) -> None:
    """Drop the in-memory device (the next `device_for` loads the file or binds new keys)."""
    with _lock:
        _devices.pop((account.address.lower(), chain_id), None)
