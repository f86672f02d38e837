"""Key bundles: bound to a wallet by EIP-191 (EOA) or EIP-1271 (contract wallet, the real mock wallet
under titanoboa), and refused with a clear KeyBundleError when expired, revoked, for another address
or chain, signed by a foreign wallet, or with a prekey its Ed25519 key did not sign. Trust on first
use: an older identity key is refused, a newer one is recorded as a key change."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import boa
import pytest
from eth_account.messages import encode_defunct

from clubchat.crypto.bundle import (
    KeyBundleError,
    KeyStatement,
    RevocationStatement,
    verify_bundle,
    verify_revocation,
)
from clubchat.crypto.device import PREKEY_LIFETIME
from clubchat.crypto.session import Sealer
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import sign_in_hash
from tests.crypto.conftest import CHAIN_ID, NOW, alice, bob, device, mallory, verified
from tests.node.harness import run

MOCK = Path(__file__).resolve().parents[1] / "utils" / "contracts" / "MockERC1271Wallet.vy"
MAGIC = bytes.fromhex("1626ba7e")


class BoaWallets:
    """EIP-1271 verifier answering from wallets deployed in titanoboa (what Eip1271Verifier asks on-chain)."""

    def __init__(self, *wallets: object) -> None:
        self.wallets = {str(w.address).lower(): w for w in wallets}  # type: ignore[attr-defined]

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        contract = self.wallets.get(wallet.lower())
        if contract is None:
            return False
        try:
            return bytes(contract.isValidSignature(message_hash, signature)) == MAGIC
        except boa.BoaError:
            return False


def check(bundle: m.KeyBundle, address: str, now: int = NOW, **kw: object) -> object:
    return run(verify_bundle(bundle, address=address, chain_id=CHAIN_ID, now=now, **kw))  # type: ignore[arg-type]


def test_an_eoa_bundle_verifies() -> None:
    keys = device(alice)
    got = check(keys.bundle(), alice.address)
    assert got.statement == keys.statement and got.prekey == keys.prekeys[-1].public  # type: ignore[attr-defined]
    assert KeyStatement.parse(keys.bundle().statement) == keys.statement


def test_expired_bundle_and_expired_prekey_are_refused() -> None:
    keys = device(alice)
    with pytest.raises(KeyBundleError, match=r"key bundle of .* expired"):
        check(keys.bundle(), alice.address, now=keys.statement.expires_at)
    with pytest.raises(KeyBundleError, match=r"prekey of .* expired"):
        check(keys.bundle(), alice.address, now=NOW + PREKEY_LIFETIME)
    # to check who sealed a received payload only the identity key counts: an expired prekey is fine
    got = check(keys.bundle(), alice.address, now=NOW + PREKEY_LIFETIME, prekey_needed=False)
    assert got.key_id == keys.statement.key_id  # type: ignore[attr-defined]
    with pytest.raises(KeyBundleError, match="issued in the future"):
        check(keys.bundle(), alice.address, now=NOW - 3_600)


def test_foreign_and_bad_wallet_signatures_are_refused() -> None:
    keys = device(alice)
    bundle = keys.bundle()
    # Mallory signs Alice's statement: a foreign wallet signature
    foreign = mallory.sign_message(encode_defunct(text=bundle.statement)).signature
    with pytest.raises(KeyBundleError, match=f"not signed by {alice.address}"):
        check(replace(bundle, signature="0x" + bytes(foreign).hex()), alice.address)
    # a signature with a flipped byte
    sig = bytearray(keys.wallet_signature)
    sig[10] ^= 1
    with pytest.raises(KeyBundleError, match="not signed by"):
        check(replace(bundle, signature="0x" + bytes(sig).hex()), alice.address)
    # Mallory's own valid bundle offered as Alice's
    with pytest.raises(KeyBundleError, match=f"binds keys to {mallory.address}, not to {alice.address}"):
        check(device(mallory).bundle(), alice.address)
    # a prekey Alice's Ed25519 key did not sign (a relay swapping in its own key)
    with pytest.raises(KeyBundleError, match="prekey is not signed"):
        check(replace(bundle, prekey=device(mallory).bundle().prekey), alice.address)
    # another chain
    with pytest.raises(KeyBundleError, match="for chain 31337, not chain 1"):
        run(verify_bundle(bundle, address=alice.address, chain_id=1, now=NOW))


def test_revoked_key_is_refused() -> None:
    keys = device(alice)
    revocation = keys.revocation(alice, NOW + 10)
    st = run(verify_revocation(revocation, address=alice.address, chain_id=CHAIN_ID))
    assert isinstance(st, RevocationStatement) and st.key_id == keys.statement.key_id
    with pytest.raises(KeyBundleError, match=rf"identity key {keys.statement.key_id} of .* is revoked"):
        check(keys.bundle(), alice.address, revoked=frozenset({st.key_id}))
    # a revocation signed by someone else is refused
    forged = mallory.sign_message(encode_defunct(text=revocation.statement)).signature
    with pytest.raises(KeyBundleError, match="revocation is not signed"):
        run(
            verify_revocation(
                replace(revocation, signature="0x" + bytes(forged).hex()),
                address=alice.address,
                chain_id=CHAIN_ID,
            )
        )


def test_contract_wallet_bundle_verifies_only_when_the_wallet_says_so() -> None:
    wallet = boa.load(str(MOCK))
    other = boa.load(str(MOCK))
    wallets = BoaWallets(wallet, other)
    keys = device(alice)  # Alice's key is the wallet's owner key
    keys = type(keys).create(alice, CHAIN_ID, NOW, wallet=str(wallet.address))
    bundle = keys.bundle()
    digest = sign_in_hash(bundle.statement)
    with pytest.raises(KeyBundleError, match="EIP-1271 contract wallet"):
        check(bundle, str(wallet.address), verifier=wallets)
    # a foreign wallet's approval does not count for this one
    other.set_approved(digest, True)
    with pytest.raises(KeyBundleError, match="EIP-1271 contract wallet"):
        check(bundle, str(wallet.address), verifier=wallets)
    wallet.set_approved(digest, True)
    got = check(bundle, str(wallet.address), verifier=wallets)
    assert got.address == wallet.address  # type: ignore[attr-defined]
    # a wallet that reverts is a refusal, not a crash
    wallet.set_broken(True)
    with pytest.raises(KeyBundleError, match="EIP-1271 contract wallet"):
        check(bundle, str(wallet.address), verifier=wallets)
    # without a verifier a contract wallet cannot be checked: refused
    wallet.set_broken(False)
    with pytest.raises(KeyBundleError, match="not signed by"):
        check(bundle, str(wallet.address))


def test_trust_on_first_use_pins_and_records_key_changes() -> None:
    sealer = Sealer(device(bob), clock=lambda: NOW)
    first = verified(device(alice, now=NOW - 100), now=NOW)
    assert sealer.pin(first) is first
    newer = verified(device(alice, now=NOW - 10), now=NOW)
    assert sealer.pin(newer) is newer
    assert [(c.old_key_id, c.new_key_id) for c in sealer.key_changes] == [(first.key_id, newer.key_id)]
    with pytest.raises(KeyBundleError, match="older identity key"):
        sealer.pin(first)  # a relay replaying the superseded bundle
    assert sealer.pinned[alice.address.lower()] is newer
