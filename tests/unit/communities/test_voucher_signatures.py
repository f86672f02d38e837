"""Every bad invite-voucher signature reverts with Communities' own reason, "communities: invalid
signature", never with snekmate's "ecdsa: ..." (a high s, a v other than 27/28 and an r that recovers
no signer made snekmate's ECDSA revert inside the check), and a refused voucher stays redeemable with
its right signature (nothing was spent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest

from clubchat.chain.eip712 import SECP256K1_N, Domain, Signature
from clubchat.communities import Invite
from tests.unit.communities.conftest import create, set_policy
from tests.utils.communities import INVITE, WAD, fund, now
from tests.utils.signing import named_signer

MULTISIG = Path(__file__).parents[3] / "contracts" / "wallets" / "MultisigWallet.vy"
# A wallet answering `isValidSignature` with fixed raw bytes, whatever it is asked.
FIXED_ANSWER_WALLET = """
# pragma version 0.4.3
answer: public(Bytes[64])


@external
def set(answer: Bytes[64]):
    self.answer = answer


@external
@view
@raw_return
def isValidSignature(h: bytes32, s: Bytes[2048]) -> Bytes[64]:
    return self.answer
"""
MAGIC = bytes.fromhex("1626ba7e")


def _compact(sig: Signature) -> bytes:
    """EIP-2098: r || (v - 27) << 255 | s."""
    return sig.r + (int.from_bytes(sig.s, "big") | ((sig.v - 27) << 255)).to_bytes(32, "big")


def _flawed(flaw: str, sig: Signature, other: Signature) -> bytes:
    """The admin's right signature `sig` made bad in one way (`other`: a stranger's of the same digest)."""
    s = int.from_bytes(sig.s, "big")
    return {
        "v-29": sig.r + sig.s + bytes([29]),
        "v-0": sig.r + sig.s + bytes([sig.v - 27]),  # the 0/1 parity some wallets emit
        "v-255": sig.r + sig.s + b"\xff",
        "high-s": sig.malleable_twin().packed(),
        "high-s-compact": sig.r + ((SECP256K1_N - s) | (1 << 255)).to_bytes(32, "big"),
        "s-is-n": sig.r + SECP256K1_N.to_bytes(32, "big") + bytes([sig.v]),
        "zero-r": bytes(32) + sig.s + bytes([sig.v]),  # ecrecover finds no signer
        "zero-s": sig.r + bytes(32) + bytes([sig.v]),
        "all-zero": bytes(65),
        "r-off-curve": (5).to_bytes(32, "big") + sig.s + bytes([sig.v]),  # x = 5 is not on secp256k1
        "wrong-signer": other.packed(),
        "wrong-signer-compact": _compact(other),
        "63-bytes": sig.packed()[:63],
        "66-bytes": sig.packed() + b"\x00",
        "empty": b"",
    }[flaw]


@pytest.fixture
def invite_community(communities, community, funded_owner) -> int:
    set_policy(communities, funded_owner, community, INVITE)
    return community


def _redeem(communities: Any, invitee: str, inv: Invite, signer: str, signature: bytes) -> None:
    with boa.env.prank(invitee):
        communities.redeem_invite(inv.community_id, inv.nonce, inv.expiry, signer, signature)


@pytest.mark.parametrize(
    "flaw",
    [
        "v-29",
        "v-0",
        "v-255",
        "high-s",
        "high-s-compact",
        "s-is-n",
        "zero-r",
        "zero-s",
        "all-zero",
        "r-off-curve",
        "wrong-signer",
        "wrong-signer-compact",
        "63-bytes",
        "66-bytes",
        "empty",
    ],
)
def test_a_bad_eoa_signature_reverts_with_the_contracts_reason(
    communities, invite_community, admin_signer, member, flaw
):
    domain = Domain.of(communities)
    inv = Invite(invite_community, member, 1, now() + 3600)
    sig = inv.sign(admin_signer, domain)
    bad = _flawed(flaw, sig, inv.sign(named_signer("not-an-admin"), domain))
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, admin_signer.address, bad)
    assert not communities.is_member(invite_community, member)
    assert communities.invite_nonce(invite_community, member) == 0
    _redeem(communities, member, inv, admin_signer.address, sig.packed())  # the voucher is still good
    assert communities.is_member(invite_community, member)


def test_a_signature_recovering_to_zero_never_names_a_zero_signer(communities, invite_community, member):
    """The zero address is never staff, so a voucher "signed" by it stops at the staff check; the
    signature check itself never treats "no signer recovered" as a match."""
    inv = Invite(invite_community, member, 1, now() + 3600)
    with boa.reverts("communities: signer is not an admin"):
        _redeem(communities, member, inv, "0x0000000000000000000000000000000000000000", bytes(65))


@pytest.mark.parametrize(
    ("answer", "valid"),
    [
        (MAGIC + bytes(28), True),
        (bytes.fromhex("ffffffff") + bytes(28), False),  # the wrong magic
        (bytes(4) + MAGIC + bytes(24), False),  # the magic in the wrong place
        (MAGIC, False),  # too short an answer
        (MAGIC + bytes(60), True),  # extra bytes after the word are ignored (as snekmate, ABI decoders)
        (b"", False),
    ],
)
def test_a_contract_wallet_answering_anything_but_the_magic_is_refused(
    communities, token, governance, outsider, member, answer, valid
):
    wallet = boa.loads(FIXED_ANSWER_WALLET)
    wallet.set(answer)
    fund(token, governance, outsider, 1_000 * WAD, communities)
    cid = create(communities, outsider, owner=str(wallet.address), policy=INVITE)
    inv = Invite(cid, member, 1, now() + 3600)
    for signature in (b"", b"\x01" * 65, b"\x01" * 130):  # snekmate's checker, then the long path
        if valid:
            with boa.env.anchor():
                _redeem(communities, member, inv, str(wallet.address), signature)
                assert communities.is_member(cid, member)
        else:
            with boa.reverts("communities: invalid signature"):
                _redeem(communities, member, inv, str(wallet.address), signature)


@pytest.mark.parametrize("flaw", ["high-s", "v-29", "zero-r"])
def test_a_multisig_with_one_bad_owner_signature_is_refused(
    communities, token, governance, outsider, member, flaw
):
    """A 2-of-3 wallet's owner signature that snekmate's ECDSA reverts on counts as not signed: the
    wallet answers "not valid" (it reverted before) and Communities gives its own reason."""
    owners = sorted((named_signer(f"sig-owner-{i}") for i in range(3)), key=lambda a: int(a.address, 16))
    safe = boa.load(str(MULTISIG), [o.address for o in owners], 2)
    fund(token, governance, outsider, 1_000 * WAD, communities)
    cid = create(communities, outsider, owner=str(safe.address), policy=INVITE)
    expiry = now() + 3600
    digest = communities.invite_digest(cid, member, 1, expiry)
    first, second = (Signature.from_ints(*_vrs(o, digest)) for o in owners[:2])
    signature = first.packed() + _flawed(flaw, second, second)
    assert safe.isValidSignature(digest, signature) == bytes.fromhex("ffffffff")
    with boa.env.prank(member), boa.reverts("communities: invalid signature"):
        communities.redeem_invite(cid, 1, expiry, safe.address, signature)
    with boa.reverts("safe: not signed by the owners"):
        safe.execute(communities.address, communities.leave.prepare_calldata(cid), signature)
    with boa.env.prank(member):
        communities.redeem_invite(cid, 1, expiry, safe.address, first.packed() + second.packed())
    assert communities.is_member(cid, member)


def _vrs(account: Any, digest: bytes) -> tuple[int, int, int]:
    signed = account.unsafe_sign_hash(digest)
    return signed.v, signed.r, signed.s
