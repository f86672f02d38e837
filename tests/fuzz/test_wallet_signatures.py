"""Differential fuzz: Communities' `wallet_signatures` module (signatures up to 2,048 bytes, for
Safes) against snekmate's `signature_checker` on every input snekmate takes (up to 65 bytes).

Signers are EOAs (right key, wrong key, 64-byte compact, malleable high-s, bad v, random bytes of
any length up to 65) and contract wallets that answer the magic value, another value, revert, or
return too few or too many bytes. Both checkers must give the same answer, except where snekmate's
ECDSA reverts (a high s, a bad v or r): the module answers "not valid" there, so a contract using it
reverts with its own reason. The module's ECDSA recovery (`_try_recover`) must recover what
snekmate's `ecdsa._recover_sig` recovers and the zero address exactly where snekmate reverts; its own
EIP-1271 call (`_is_valid_ERC1271_signature_now`) must agree with snekmate's too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import boa
from boa.contracts.base_evm_contract import BoaError
from eth_keys import keys
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.utils.signing import named_signer

CONTRACTS = Path(__file__).parents[1] / "utils" / "contracts"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HARNESS = """
# pragma version 0.4.3
from contracts.modules import wallet_signatures


@external
@view
def ours(signer: address, digest: bytes32, signature: Bytes[2048]) -> bool:
    return wallet_signatures._is_valid_signature_now(signer, digest, signature)


@external
@view
def ours_1271(signer: address, digest: bytes32, signature: Bytes[2048]) -> bool:
    return wallet_signatures._is_valid_ERC1271_signature_now(signer, digest, signature)


@external
@pure
def ours_recover(digest: bytes32, signature: Bytes[2048]) -> address:
    return wallet_signatures._try_recover(digest, signature)
"""
# A wallet answering `isValidSignature` with fixed raw return data, or reverting.
WALLET = """
# pragma version 0.4.3
answer: public(Bytes[96])
fails: public(bool)


@external
def set(answer: Bytes[96], fails: bool):
    self.answer = answer
    self.fails = fails


@external
@view
@raw_return
def isValidSignature(h: bytes32, s: Bytes[2048]) -> Bytes[96]:
    assert not self.fails
    return self.answer
"""
MAGIC = bytes.fromhex("1626ba7e") + bytes(28)
EOA_FORMS = ("right", "wrong-key", "compact", "high-s", "bad-v", "parity-v", "zero-r", "random")
ANSWERS = {
    "magic": MAGIC,
    "magic-short": bytes.fromhex("1626ba7e"),
    "magic-long": MAGIC + bytes(32),
    "other": bytes.fromhex("ffffffff") + bytes(28),
    "empty": b"",
}


def _eoa_signature(form: str, digest: bytes, junk: bytes) -> bytes:
    key = keys.PrivateKey(bytes(named_signer("sig-fuzz").key))
    sig = key.sign_msg_hash(digest)
    r, s, v = sig.r, sig.s, sig.v + 27
    if form == "wrong-key":
        return bytes(named_signer("sig-fuzz-other").unsafe_sign_hash(digest).signature)
    if form == "compact":  # EIP-2098: r || (v - 27) << 255 | s
        return r.to_bytes(32, "big") + ((v - 27) << 255 | s).to_bytes(32, "big")
    if form == "high-s":
        return r.to_bytes(32, "big") + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    if form == "bad-v":
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 2])
    if form == "parity-v":  # 0/1 instead of 27/28
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v - 27])
    if form == "zero-r":
        return bytes(32) + s.to_bytes(32, "big") + bytes([v])
    if form == "random":
        return junk
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


@functools.cache
def _deployers() -> tuple[Any, Any, Any]:
    """The reference, our harness and the wallet, compiled once."""
    return (
        boa.load_partial(str(CONTRACTS / "SnekmateChecks.vy")),
        boa.loads_partial(HARNESS),
        boa.loads_partial(WALLET),
    )


def _outcome(check: Any, *args: Any) -> object:
    """The check's answer (a bool, or an address for a recovery), or the reason it reverted with."""
    try:
        answer = check(*args)
    except BoaError as exc:
        return ("revert", str(exc.stack_trace.last_frame.pretty_vm_reason))
    return answer if isinstance(answer, str) else bool(answer)


def _recovered(recover: Any, *args: Any) -> str:
    return str(recover(*args))


@settings(deadline=None)
@given(
    digest=st.binary(min_size=32, max_size=32),
    junk=st.binary(max_size=65),
    eoa=st.booleans(),
    form=st.sampled_from(EOA_FORMS),
    answer=st.sampled_from(sorted(ANSWERS)),
    fails=st.booleans(),
)
def test_agrees_with_snekmate_up_to_65_bytes(digest, junk, eoa, form, answer, fails) -> None:
    reference, ours = _deployers()[0].deploy(), _deployers()[1].deploy()
    if eoa:
        signer = named_signer("sig-fuzz").address
        signature = _eoa_signature(form, digest, junk)
    else:
        wallet = _deployers()[2].deploy()
        wallet.set(ANSWERS[answer], fails)
        signer, signature = str(wallet.address), junk
    expected = _outcome(reference.is_valid_signature_now, signer, digest, signature)
    if eoa:
        recovered = _outcome(reference.recover_sig, digest, signature)
        zero = "0x0000000000000000000000000000000000000000"
        assert _recovered(ours.ours_recover, digest, signature) == (
            zero if isinstance(recovered, tuple) else str(recovered)
        )
        if isinstance(expected, tuple):  # snekmate reverted ("ecdsa: ..."): ours says "not valid"
            assert expected[1].startswith("ecdsa: invalid signature")
            expected = False
    assert _outcome(ours.ours, signer, digest, signature) == expected
    if not eoa:
        assert _outcome(ours.ours_1271, signer, digest, signature) == expected
    if eoa and form == "right":
        assert expected  # the reference is not trivially False
    if not eoa and answer == "magic" and not fails:
        assert expected
