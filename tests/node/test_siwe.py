"""EIP-4361 sign-in: message text, binding to relay/chain/nonce/expiry, EOA and EIP-1271 paths."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.protocol import siwe

URI = "ws://127.0.0.1:9100"
NOW = 1_800_000_000
alice = Account.from_key("0x" + "11" * 32)
mallory = Account.from_key("0x" + "22" * 32)


def _msg(**kw: object) -> siwe.SiweMessage:
    args: dict[str, object] = {
        "address": alice.address,
        "uri": URI,
        "chain_id": 31337,
        "nonce": "nonce12345",
        "now": NOW,
        "ttl": 600,
    }
    args.update(kw)
    return siwe.build_sign_in(**args)  # type: ignore[arg-type]


def _sign(text: str, account: object = alice) -> bytes:
    return bytes(account.sign_message(encode_defunct(text=text)).signature)  # type: ignore[attr-defined]


def _verify(text: str, sig: bytes, verifier: object = None, **kw: object) -> siwe.SiweMessage:
    args: dict[str, object] = {
        "uri": URI,
        "chain_id": 31337,
        "nonce": "nonce12345",
        "now": NOW + 5,
        "max_ttl": 3600,
        "verifier": verifier,
    }
    args.update(kw)
    return asyncio.run(siwe.verify_sign_in(text, sig, **args))  # type: ignore[arg-type]


def test_message_text_follows_eip4361() -> None:
    text = _msg().text()
    assert text == (
        f"127.0.0.1:9100 wants you to sign in with your Ethereum account:\n{alice.address}\n\n"
        f"{siwe.STATEMENT}\n\nURI: ws://127.0.0.1:9100\nVersion: 1\nChain ID: 31337\nNonce: nonce12345\n"
        "Issued At: 2027-01-15T08:00:00Z\nExpiration Time: 2027-01-15T08:10:00Z"
    )
    assert siwe.SiweMessage.parse(text) == _msg()


def test_eoa_sign_in_verifies() -> None:
    text = _msg().text()
    assert _verify(text, _sign(text)).address == alice.address


def _twin(sig: bytes, edit: str) -> bytes:
    """The same signature in a non-canonical spelling: v = 0/1, or the malleable high-s twin."""
    out = bytearray(sig)
    if edit == "v01":
        out[64] -= 27
    else:  # high-s: (r, n - s) with the other recovery id signs the same hash for the same key
        s = int.from_bytes(out[32:64], "big")
        out[32:64] = (_N - s).to_bytes(32, "big")
        out[64] = 55 - out[64]  # 27 <-> 28
    return bytes(out)


@pytest.mark.parametrize("edit", ["v01", "high-s"])
def test_non_canonical_signatures_are_refused(edit: str) -> None:
    """One canonical form (v 27/28, low s); the twins name the same signer."""
    text = _msg().text()
    sig = _sign(text)
    assert siwe.canonical_signature(sig)
    twin = _twin(sig, edit)
    assert _pure_python_recover(text, twin) == alice.address  # a valid signature, just not canonical
    assert not siwe.canonical_signature(twin)
    assert siwe.recover_signer(text, twin) is None
    with pytest.raises(siwe.SignInError, match="signature"):
        _verify(text, twin)


@pytest.mark.parametrize(
    ("kw", "verify_kw", "fragment"),
    [
        ({"uri": "ws://127.0.0.1:9200"}, {}, "not this relay"),
        ({"chain_id": 1}, {}, "chain 1"),
        ({"nonce": "othernonce1"}, {}, "nonce"),
        ({"now": NOW - 700}, {}, "expired"),
        ({"now": NOW + 600}, {}, "future"),
        ({"ttl": 7200}, {}, "longer than"),
    ],
)
def test_binding_failures(kw: dict[str, object], verify_kw: dict[str, object], fragment: str) -> None:
    text = _msg(**kw).text()
    with pytest.raises(siwe.SignInError, match=fragment):
        _verify(text, _sign(text), **verify_kw)


def test_wrong_signer_and_garbage_signatures_fail() -> None:
    text = _msg().text()
    with pytest.raises(siwe.SignInError, match="signature"):
        _verify(text, _sign(text, mallory))
    for sig in (b"", b"\x00" * 65, b"\xff" * 64, _sign(text)[:-1] + b"\x99"):
        with pytest.raises(siwe.SignInError, match="signature"):
            _verify(text, sig)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        _msg().text().replace(alice.address, alice.address.lower()),  # EIP-55 is required
        _msg().text().replace("Version: 1", "Version: 2"),
        _msg().text() + "\nResources:\n- x",
        _msg().text().replace("Nonce: nonce12345", "Nonce: short"),
    ],
)
def test_malformed_messages_are_refused(text: str) -> None:
    with pytest.raises(siwe.SignInError):
        _verify(text, b"\x00" * 65)


class OwnerWallet:
    """Stands in for an EIP-1271 contract wallet: valid when its owner signed the hash."""

    def __init__(self, wallet: str, owner: str) -> None:
        self.wallet, self.owner, self.calls = wallet, owner, 0

    async def is_valid_signature(self, wallet: str, message_hash: bytes, signature: bytes) -> bool:
        self.calls += 1
        if wallet != self.wallet:
            return False
        return bool(Account._recover_hash(message_hash, signature=signature) == self.owner)


def test_contract_wallet_goes_through_the_verifier() -> None:
    wallet = "0x" + "Cc" * 20
    wallet = siwe.to_checksum_address(wallet)
    text = _msg(address=wallet).text()
    verifier = OwnerWallet(wallet, alice.address)
    assert _verify(text, _sign(text), verifier).address == wallet
    assert verifier.calls == 1
    with pytest.raises(siwe.SignInError, match="EIP-1271"):
        _verify(text, _sign(text, mallory), verifier)
    with pytest.raises(siwe.SignInError):
        _verify(text, _sign(text))  # no verifier: a contract wallet cannot sign in


def test_nonces_are_fresh_and_long_enough() -> None:
    nonces = {siwe.new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(len(n) == 17 and n.isalnum() for n in nonces)


_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 group order


def _pure_python_recover(text: str, signature: bytes) -> str | None:
    """Reference: eth_keys' pure-Python backend (what the relay used before coincurve), with every
    v and s it recovers from (the relay accepts only the canonical subset)."""
    from eth_keys.backends.native import NativeECCBackend
    from eth_keys.datatypes import Signature

    if len(signature) != 65 or signature[64] not in (0, 1, 27, 28):
        return None
    v = signature[64] - 27 if signature[64] >= 27 else signature[64]
    try:
        sig = Signature(signature[:64] + bytes((v,)), backend=NativeECCBackend())
        return str(sig.recover_public_key_from_msg_hash(siwe.sign_in_hash(text)).to_checksum_address())
    except Exception:
        return None


@settings(max_examples=60, deadline=None)
@given(
    key=st.integers(1, _N - 1),
    text=st.text(max_size=40),
    edit=st.sampled_from(["none", "v27", "high-s", "r0", "s0", "s>=n", "flip", "v2"]),
    at=st.integers(0, 63),
)
def test_coincurve_recovery_matches_pure_python(key: int, text: str, edit: str, at: int) -> None:
    account = Account.from_key(key.to_bytes(32, "big"))
    sig = bytearray(_sign(text, account))  # r || s || v(27/28)
    s = int.from_bytes(sig[32:64], "big")
    if edit == "v27":
        sig[64] -= 27
    elif edit == "high-s":  # the malleable twin: same signer, other parity
        sig[32:64] = (_N - s).to_bytes(32, "big")
        sig[64] = 55 - sig[64]  # 27 <-> 28
    elif edit == "r0":
        sig[:32] = bytes(32)
    elif edit == "s0":
        sig[32:64] = bytes(32)
    elif edit == "s>=n":
        sig[32:64] = (_N + s % 2**32).to_bytes(32, "big")
    elif edit == "flip":
        sig[at] ^= 0x01
    elif edit == "v2":
        sig[64] = 2
    expected = _pure_python_recover(text, bytes(sig))
    canonical = siwe.canonical_signature(bytes(sig))
    assert siwe.recover_signer(text, bytes(sig)) == (expected if canonical else None)
    if edit in ("none", "v27", "high-s"):
        assert expected == account.address
    if edit == "none":
        assert canonical
    elif edit in ("v27", "high-s", "v2", "s0", "s>=n"):
        assert not canonical
