"""A community owned by a Safe-like 2-of-3 multisig (contracts/wallets/MultisigWallet.vy): the Safe
acts as owner by executing calls its owners signed, and signs invite vouchers with its owners'
concatenated signatures (130 bytes, longer than snekmate's 65-byte checker takes), checked with
EIP-1271."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_account.signers.local import LocalAccount

from tests.unit.communities.conftest import create
from tests.utils.communities import INVITE, NEVER, WAD, events, fund, now
from tests.utils.signing import named_signer

MULTISIG = Path(__file__).parents[3] / "contracts" / "wallets" / "MultisigWallet.vy"


@pytest.fixture
def safe_owners() -> list[LocalAccount]:
    return sorted((named_signer(f"safe-owner-{i}") for i in range(3)), key=lambda a: int(a.address, 16))


@pytest.fixture
def safe(safe_owners) -> Any:
    return boa.load(str(MULTISIG), [o.address for o in safe_owners], 2)


def _sign(digest: bytes, signers: list[LocalAccount]) -> bytes:
    return b"".join(bytes(s.unsafe_sign_hash(digest).signature) for s in signers)


def _execute(safe: Any, signers: list[LocalAccount], target: Any, fn: str, *args: Any) -> None:
    data = getattr(target, fn).prepare_calldata(*args)
    digest = safe.execute_digest(target.address, data)
    safe.execute(target.address, data, _sign(digest, signers))


@pytest.fixture
def safe_community(communities, token, governance, safe, outsider) -> int:
    """An INVITE community created by `outsider` (who pays the fee) for the Safe as owner."""
    fund(token, governance, outsider, 1_000 * WAD, communities)
    return create(communities, outsider, owner=str(safe.address), policy=INVITE)


def test_the_safe_acts_as_owner_with_two_signatures(communities, safe, safe_owners, safe_community, member):
    assert communities.owner_of(safe_community) == safe.address
    _execute(safe, safe_owners[:2], communities, "set_moderator", safe_community, member, True)
    assert communities.roles_of(safe_community, member) == 2
    with boa.reverts("safe: not signed by the owners"):
        _execute(safe, safe_owners[:1], communities, "set_moderator", safe_community, member, False)
    with boa.env.prank(safe_owners[0].address), boa.reverts("communities: not the owner"):
        communities.set_admin(safe_community, member, True)  # an owner of the Safe is not the Safe


def test_invite_signed_by_the_safe(communities, safe, safe_owners, safe_community, member):
    expiry = now() + 3600
    digest = communities.invite_digest(safe_community, member, 1, expiry)
    signature = _sign(digest, [safe_owners[0], safe_owners[2]])
    assert len(signature) == 130
    with boa.env.prank(member):
        communities.redeem_invite(safe_community, 1, expiry, safe.address, signature)
    assert events(communities, "MemberJoined") == [
        {"community_id": safe_community, "account": member, "expires_at": NEVER}
    ]
    assert communities.is_member(safe_community, member)


@pytest.mark.parametrize("flaw", ["one-owner", "reversed", "same-owner-twice", "stranger", "other-digest"])
def test_invite_with_a_bad_safe_signature_is_refused(
    communities, safe, safe_owners, safe_community, member, flaw
):
    expiry = now() + 3600
    digest = communities.invite_digest(safe_community, member, 1, expiry)
    signers = {
        "one-owner": [safe_owners[0]],
        "reversed": [safe_owners[2], safe_owners[0]],
        "same-owner-twice": [safe_owners[1], safe_owners[1]],
        "stranger": [safe_owners[0], named_signer("not-a-safe-owner")],
        "other-digest": [safe_owners[0], safe_owners[1]],
    }[flaw]
    if flaw == "other-digest":
        digest = communities.invite_digest(safe_community, member, 2, expiry)  # signed nonce 2, sent 1
    with boa.env.prank(member), boa.reverts("communities: invalid signature"):
        communities.redeem_invite(safe_community, 1, expiry, safe.address, _sign(digest, signers))


def test_long_signature_of_an_eoa_admin_is_refused(
    communities, safe, safe_owners, safe_community, admin_signer, member
):
    _execute(safe, safe_owners[:2], communities, "set_admin", safe_community, admin_signer.address, True)
    expiry = now() + 3600
    digest = communities.invite_digest(safe_community, member, 1, expiry)
    good = _sign(digest, [admin_signer])
    with boa.env.prank(member), boa.reverts("communities: invalid signature"):
        communities.redeem_invite(safe_community, 1, expiry, admin_signer.address, good + good)
    with boa.env.prank(member):
        communities.redeem_invite(safe_community, 1, expiry, admin_signer.address, good)
    assert communities.is_member(safe_community, member)


def test_signature_over_the_bound_is_refused(communities, safe, safe_community, member):
    # The ABI decoder refuses a `bytes` argument over its 2,048-byte bound, with no reason string.
    with boa.env.prank(member), pytest.raises(BoaError) as refused:
        communities.redeem_invite(safe_community, 1, now() + 60, safe.address, b"\x01" * 2049)
    assert refused.value.stack_trace.last_frame.pretty_vm_reason == "Revert(b'')"


def test_ownership_moves_to_a_safe_in_two_steps(communities, funded_owner, safe, safe_owners):
    cid = create(communities, funded_owner)
    with boa.env.prank(funded_owner):
        communities.transfer_ownership(cid, safe.address)
    with boa.reverts("safe: not signed by the owners"):
        _execute(safe, [safe_owners[1]], communities, "accept_ownership", cid)
    _execute(safe, safe_owners[1:], communities, "accept_ownership", cid)
    assert communities.owner_of(cid) == safe.address
    assert communities.pending_owner_of(cid) == "0x" + "00" * 20
    with boa.env.prank(funded_owner), boa.reverts("communities: not the owner"):
        communities.set_admin(cid, funded_owner, True)  # the old owner has no say any more
