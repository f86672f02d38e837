"""Device keys per wallet: one per process and chain, kept in a directory (mode 0600, encrypted with a
passphrase-derived key) when one is configured, loaded again instead of binding new keys, rotated
when the prekey is past half its life; a wrong passphrase is refused with a clear error and no private
key is ever written in the clear."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clubchat.crypto import keystore
from clubchat.crypto.device import PREKEY_LIFETIME, DeviceKeys
from tests.crypto.conftest import CHAIN_ID, alice

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    keystore.use_directory(tmp_path, PASSPHRASE)
    keystore.forget(alice, CHAIN_ID)
    yield tmp_path
    keystore.forget(alice, CHAIN_ID)
    keystore.use_directory(None)


def test_devices_are_kept_and_loaded_from_the_keystore_directory(directory: Path) -> None:
    first = keystore.device_for(alice, CHAIN_ID)
    assert keystore.device_for(alice, CHAIN_ID) is first  # one per process
    path = directory / f"{alice.address.lower()}-{CHAIN_ID}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keystore.forget(alice, CHAIN_ID)
    again = keystore.device_for(alice, CHAIN_ID)  # a new process: the same keys, not new ones
    assert again is not first and again.to_json() == first.to_json()
    assert keystore.device_for(alice, CHAIN_ID + 1).statement.chain_id == CHAIN_ID + 1


def _secrets(device: DeviceKeys) -> list[str]:
    """Every private key of `device`, as the hex a clear-text file would hold."""
    return [device.x25519.hex(), device.ed25519.hex(), *(p.private.hex() for p in device.prekeys)]


def test_no_private_key_is_written_in_the_clear(directory: Path) -> None:
    device = keystore.device_for(alice, CHAIN_ID)
    keystore.save_sessions(alice.address, CHAIN_ID, '{"secret-session": 1}')
    files = sorted(directory.iterdir())
    assert [f.name for f in files] == [
        f"{alice.address.lower()}-{CHAIN_ID}.json",
        f"{alice.address.lower()}-{CHAIN_ID}.sessions.json",
    ]  # no temporary file left behind
    for f in files:
        raw = f.read_bytes()
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert json.loads(raw)["format"] == keystore.FORMAT and json.loads(raw)["kdf"]["name"] == "scrypt"
        assert b"secret-session" not in raw
        for secret in _secrets(device):  # neither as hex nor as raw bytes
            assert secret.encode() not in raw and bytes.fromhex(secret) not in raw
    assert keystore.load_sessions(alice.address, CHAIN_ID) == '{"secret-session": 1}'


def test_a_new_directory_is_private(tmp_path: Path) -> None:
    keystore.use_directory(tmp_path / "new", PASSPHRASE)
    try:
        keystore.save_sessions(alice.address, CHAIN_ID, "{}")
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    finally:
        keystore.use_directory(None)


def test_a_wrong_passphrase_is_refused_with_a_clear_error(directory: Path) -> None:
    first = keystore.device_for(alice, CHAIN_ID)
    keystore.forget(alice, CHAIN_ID)
    keystore.use_directory(directory, "not the passphrase")
    with pytest.raises(keystore.KeystoreError, match=r"passphrase is wrong for 0x[0-9a-f]{40}-31337\.json"):
        keystore.device_for(alice, CHAIN_ID)
    keystore.use_directory(directory, PASSPHRASE)
    assert keystore.device_for(alice, CHAIN_ID).to_json() == first.to_json()  # nothing was overwritten


def test_without_a_passphrase_the_keystore_says_what_to_set(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    keystore.use_directory(directory)
    with pytest.raises(keystore.KeystoreError, match="set CLUBCHAT_KEYSTORE_PASSPHRASE"):
        keystore.device_for(alice, CHAIN_ID)
    assert list(directory.iterdir()) == []  # and nothing was written
    monkeypatch.setenv(keystore.PASSPHRASE_ENV, PASSPHRASE)
    assert keystore.device_for(alice, CHAIN_ID).address == alice.address


def test_a_file_swapped_for_another_wallets_does_not_open(directory: Path) -> None:
    keystore.device_for(alice, CHAIN_ID)
    keystore.save_sessions(alice.address, CHAIN_ID, "{}")
    device_file = directory / f"{alice.address.lower()}-{CHAIN_ID}.json"
    sessions_file = directory / f"{alice.address.lower()}-{CHAIN_ID}.sessions.json"
    sessions_file.write_bytes(device_file.read_bytes())  # same passphrase, another file's name
    with pytest.raises(keystore.KeystoreError, match=r"passphrase is wrong .*\(or the file was changed\)"):
        keystore.load_sessions(alice.address, CHAIN_ID)


def test_a_clear_text_file_of_an_earlier_version_is_read_and_encrypted(directory: Path) -> None:
    old = DeviceKeys.create(alice, CHAIN_ID, int(time.time()))
    path = directory / f"{alice.address.lower()}-{CHAIN_ID}.json"
    path.write_text(old.to_json())
    assert keystore.device_for(alice, CHAIN_ID).x25519 == old.x25519
    assert old.x25519.hex().encode() not in path.read_bytes()
    assert json.loads(path.read_text())["format"] == keystore.FORMAT


def test_a_stale_prekey_rotates_and_the_rotation_is_saved(directory: Path) -> None:
    old = DeviceKeys.create(alice, CHAIN_ID, int(time.time()) - PREKEY_LIFETIME // 2 - 10)
    keystore.save(old)
    loaded = keystore.device_for(alice, CHAIN_ID)
    assert len(loaded.prekeys) == 2 and loaded.prekeys[0].id == old.prekeys[0].id
    keystore.forget(alice, CHAIN_ID)
    assert keystore.device_for(alice, CHAIN_ID).prekeys[-1].id == loaded.prekeys[-1].id


def test_a_registry_discovery_brings_one_contract_wallet_verifier_per_chain_connection() -> None:
    from types import SimpleNamespace

    from clubchat.client.secure import contract_wallets
    from clubchat.node.eip1271 import Eip1271Verifier
    from clubchat.registry import InMemoryDiscovery

    w3 = object()
    discovery = SimpleNamespace(contract=SimpleNamespace(w3=w3))
    verifier = contract_wallets(discovery)
    assert isinstance(verifier, Eip1271Verifier) and verifier.w3 is w3
    assert contract_wallets(SimpleNamespace(contract=SimpleNamespace(w3=w3))) is verifier
    assert contract_wallets(SimpleNamespace(contract=SimpleNamespace(w3=object()))) is not verifier
    assert contract_wallets(InMemoryDiscovery()) is None


def test_a_keystore_error_ends_a_command_in_one_sentence() -> None:
    from clubchat.cli_errors import one_sentence

    error = keystore.KeystoreError("the keystore passphrase is wrong for x.json")
    assert one_sentence(error) == "the keystore passphrase is wrong for x.json"
