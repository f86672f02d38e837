"""Where a wallet's device keys live: one `DeviceKeys` per (address, chain id), created on first use.

In memory for the life of the process, and in a directory when one is configured (`CLUBCHAT_KEYSTORE`,
or `use_directory`): `<dir>/<address>-<chain id>.json`, created with mode 0600, so `club listen` and
`club message` run as separate processes share a device. The private keys in that file are not
encrypted at rest (protect the directory like the wallet key the CLI already takes). The peers'
bundles pinned on first use go to `<dir>/<address>-<chain id>.pins.json` (`save_pins` /
`load_pins`), so trust on first use holds across runs too.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from eth_account.signers.local import LocalAccount

from clubchat.crypto.device import DeviceKeys
from clubchat.protocol import messages as m
from clubchat.protocol.codec import decode_object, encode_object

ENV = "CLUBCHAT_KEYSTORE"

_lock = threading.Lock()
_devices: dict[tuple[str, int], DeviceKeys] = {}
_directory: Path | None = Path(os.environ[ENV]) if os.environ.get(ENV) else None


def use_directory(path: Path | None) -> None:
    """Keep device keys in `path` from now on (None: memory only)."""
    global _directory
    _directory = path


def _file(address: str, chain_id: int) -> Path | None:
    return None if _directory is None else _directory / f"{address.lower()}-{chain_id}.json"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def save(device: DeviceKeys) -> None:
    """Write `device` to the keystore directory, if there is one (after a prekey rotation too)."""
    path = _file(device.address, device.statement.chain_id)
    if path is not None:
        _write(path, device.to_json())


def save_pins(address: str, chain_id: int, pins: dict[str, m.KeyBundle]) -> None:
    """Keep the bundles `address` pinned (peer address -> bundle), if there is a keystore directory."""
    path = _file(address, chain_id)
    if path is not None:
        data = {peer: encode_object(bundle) for peer, bundle in sorted(pins.items())}
        _write(path.with_suffix(".pins.json"), json.dumps(data))


def load_pins(address: str, chain_id: int) -> dict[str, m.KeyBundle]:
    """The bundles `address` pinned in earlier runs ({} without a keystore directory)."""
    path = _file(address, chain_id)
    if path is None or not path.with_suffix(".pins.json").exists():
        return {}
    data = json.loads(path.with_suffix(".pins.json").read_text())
    return {peer: decode_object(m.KeyBundle, obj) for peer, obj in data.items()}


def device_for(account: LocalAccount, chain_id: int) -> DeviceKeys:
    """This process's device keys for `account` on `chain_id` (loaded, or created and bound now)."""
    key = (account.address.lower(), chain_id)
    with _lock:
        device = _devices.get(key)
        if device is None:
            path = _file(account.address, chain_id)
            now = int(time.time())
            if path is not None and path.exists():
                device = DeviceKeys.from_json(path.read_text())
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
