"""Device keys per wallet: one per process and chain, kept in a directory (mode 0600) when one is
configured, loaded again instead of binding new keys, rotated when the prekey is past half its life."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from clubchat.crypto import keystore
from clubchat.crypto.device import PREKEY_LIFETIME, DeviceKeys
from tests.crypto.conftest import CHAIN_ID, alice


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    keystore.use_directory(tmp_path)
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
