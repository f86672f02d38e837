"""INVITE: EIP-712 vouchers signed by the owner or an admin (EOA or EIP-1271), redeemed by the invitee."""

from __future__ import annotations

from dataclasses import replace

import boa
from eth_utils import keccak

from clubchat.chain.eip712 import Domain
from clubchat.communities import Invite
from tests.unit.communities.conftest import create, set_policy
from tests.utils.communities import INVITE, NEVER, WAD, events, fund, now
from tests.utils.signing import named_signer


def _invite_community(communities, owner, cid):
    set_policy(communities, owner, cid, INVITE)
    return Domain.of(communities)


def _voucher(cid, invitee, nonce=1, ttl=3600):
    return Invite(cid, invitee, nonce, now() + ttl)


def _redeem(communities, invitee, inv: Invite, signer: str, signature: bytes):
    with boa.env.prank(invitee):
        communities.redeem_invite(inv.community_id, inv.nonce, inv.expiry, signer, signature)


def test_domain_and_digest_match_the_spec(communities):
    domain = Domain.of(communities)
    assert (domain.name, domain.version, domain.verifying_contract) == (
        "Communities",
        "1",
        communities.address,
    )
    assert communities.INVITE_TYPEHASH() == keccak(
        text="Invite(uint256 communityId,address invitee,uint256 nonce,uint256 expiry)"
    )
    inv = Invite(3, "0x00000000000000000000000000000000000000aa", 7, 1234)
    assert communities.invite_digest(3, inv.invitee, 7, 1234) == inv.digest(domain)


def test_admin_voucher_is_redeemed_once(communities, community, funded_owner, admin_signer, member):
    domain = _invite_community(communities, funded_owner, community)
    inv = _voucher(community, member)
    sig = inv.sign(admin_signer, domain).packed()
    _redeem(communities, member, inv, admin_signer.address, sig)
    assert events(communities, "MemberJoined") == [
        {"community_id": community, "account": member, "expires_at": NEVER}
    ]
    assert communities.is_member(community, member) and communities.invite_nonce(community, member) == 1
    with boa.reverts("communities: voucher already used"):
        _redeem(communities, member, inv, admin_signer.address, sig)
    with boa.env.prank(member):
        communities.leave(community)
    with boa.reverts("communities: voucher already used"):
        _redeem(communities, member, inv, admin_signer.address, sig)  # leaving does not revive it
    newer = replace(inv, nonce=2)
    _redeem(communities, member, newer, admin_signer.address, newer.sign(admin_signer, domain).packed())
    assert communities.is_member(community, member)


def test_a_redeemed_nonce_kills_older_vouchers(communities, community, funded_owner, admin_signer, member):
    domain = _invite_community(communities, funded_owner, community)
    old, new = _voucher(community, member, nonce=5), _voucher(community, member, nonce=9)
    _redeem(communities, member, new, admin_signer.address, new.sign(admin_signer, domain).packed())
    with boa.reverts("communities: voucher already used"):
        _redeem(communities, member, old, admin_signer.address, old.sign(admin_signer, domain).packed())


def test_expired_voucher(communities, community, funded_owner, admin_signer, member):
    domain = _invite_community(communities, funded_owner, community)
    inv = _voucher(community, member, ttl=10)
    sig = inv.sign(admin_signer, domain).packed()
    boa.env.time_travel(seconds=11)
    with boa.reverts("communities: voucher expired"):
        _redeem(communities, member, inv, admin_signer.address, sig)


def test_voucher_for_another_invitee_chain_or_contract(
    communities, community, funded_owner, admin_signer, member, outsider, token
):
    domain = _invite_community(communities, funded_owner, community)
    inv = _voucher(community, member)
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, outsider, inv, admin_signer.address, inv.sign(admin_signer, domain).packed())
    other_chain = inv.sign(admin_signer, domain.with_chain_id(domain.chain_id + 1)).packed()
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, admin_signer.address, other_chain)
    other_contract = inv.sign(admin_signer, replace(domain, verifying_contract=str(token.address))).packed()
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, admin_signer.address, other_contract)
    other_community = replace(inv, community_id=community + 1).sign(admin_signer, domain).packed()
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, admin_signer.address, other_community)


def test_signer_must_be_owner_or_admin(communities, community, funded_owner, admin_signer, member, moderator):
    domain = _invite_community(communities, funded_owner, community)
    stranger = named_signer("stranger")
    inv = _voucher(community, member)
    with boa.reverts("communities: signer is not an admin"):
        _redeem(communities, member, inv, stranger.address, inv.sign(stranger, domain).packed())
    with boa.reverts("communities: signer is not an admin"):
        _redeem(communities, member, inv, moderator, b"\x00" * 65)  # moderators do not invite
    # A voucher names its signer: an admin's signature presented as another admin's fails.
    with boa.env.prank(funded_owner):
        communities.set_admin(community, stranger.address, True)
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, stranger.address, inv.sign(admin_signer, domain).packed())
    # Revoking the admin kills its outstanding vouchers.
    sig = inv.sign(admin_signer, domain).packed()
    with boa.env.prank(funded_owner):
        communities.set_admin(community, admin_signer.address, False)
    with boa.reverts("communities: signer is not an admin"):
        _redeem(communities, member, inv, admin_signer.address, sig)


def test_owner_eoa_signs(communities, token, governance, member):
    owner = named_signer("eoa-owner")
    fund(token, governance, owner.address, 1000 * WAD, communities)
    cid = create(communities, owner.address, policy=INVITE)
    inv = _voucher(cid, member)
    _redeem(communities, member, inv, owner.address, inv.sign(owner, Domain.of(communities)).packed())
    assert communities.is_member(cid, member)


def test_eip1271_owner_signs(communities, funded_owner, member, outsider):
    """A Safe-style owner: the wallet approves the digest on chain and the signature is empty, or it
    requires one exact signature; other digests and a broken wallet are refused."""
    wallet = boa.load("tests/utils/contracts/MockERC1271Wallet.vy")
    cid = create(communities, funded_owner, owner=str(wallet.address), policy=INVITE)
    domain = Domain.of(communities)
    inv = _voucher(cid, member)
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, str(wallet.address), b"")
    wallet.set_approved(inv.digest(domain), True)
    _redeem(communities, member, inv, str(wallet.address), b"")
    assert communities.is_member(cid, member)
    other = _voucher(cid, outsider)
    wallet.set_approved(other.digest(domain), True)
    wallet.set_required_signature(b"\x11" * 65)
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, outsider, other, str(wallet.address), b"\x22" * 65)
    wallet.set_broken(True)
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, outsider, other, str(wallet.address), b"\x11" * 65)
    wallet.set_broken(False)
    _redeem(communities, outsider, other, str(wallet.address), b"\x11" * 65)
    assert communities.is_member(cid, outsider)


def test_malleable_and_malformed_signatures(communities, community, funded_owner, admin_signer, member):
    domain = _invite_community(communities, funded_owner, community)
    inv = _voucher(community, member)
    sig = inv.sign(admin_signer, domain)
    with boa.reverts("communities: invalid signature"):  # the high-s twin (tests: test_voucher_signatures)
        _redeem(communities, member, inv, admin_signer.address, sig.malleable_twin().packed())
    with boa.reverts("communities: invalid signature"):
        _redeem(communities, member, inv, admin_signer.address, sig.packed()[:63])
    with boa.reverts("communities: nonce too large"):
        _redeem(communities, member, replace(inv, nonce=2**128), admin_signer.address, sig.packed())
    # The EIP-2098 compact form (r, yParity << 255 | s) is the same signature: accepted once, and
    # then neither form replays it, because the nonce (not the signature bytes) is what is spent.
    vs = int.from_bytes(sig.s, "big") | ((sig.v - 27) << 255)
    compact = sig.r + vs.to_bytes(32, "big")
    _redeem(communities, member, inv, admin_signer.address, compact)
    assert communities.is_member(community, member)
    for form in (compact, sig.packed()):
        with boa.reverts("communities: voucher already used"):
            _redeem(communities, member, inv, admin_signer.address, form)
