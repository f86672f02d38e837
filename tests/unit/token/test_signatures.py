"""permit (EIP-2612, EOA and EIP-1271 owners) and delegateBySig (ERC-5805): happy paths and rejections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from eth_account.signers.local import LocalAccount

from tests.unit.token.helpers import CLUB, ZERO, deploy_token, event_names, events, now, warp
from tests.utils.signing import (
    Domain,
    Signature,
    delegation_digest,
    named_signer,
    permit_digest,
    recover,
    sign_delegation,
    sign_permit,
)

WALLET_SOURCE = Path(__file__).parents[2] / "utils" / "contracts" / "MockERC1271Wallet.vy"
HOUR = 3600
INVALID = "erc20: invalid signature"
MALLEABLE = "ecdsa: invalid signature `s` value"


@pytest.fixture(scope="session")
def holder() -> LocalAccount:
    """An EOA with a private key (it signs); boa's named actors cannot sign."""
    return named_signer("holder")


@pytest.fixture(scope="session")
def mallory() -> LocalAccount:
    return named_signer("mallory")


@pytest.fixture
def token(fresh_token: Any, deployer: str, holder: LocalAccount) -> Any:
    """The standalone token with 100 CLUB for the signing holder."""
    with boa.env.prank(deployer):
        fresh_token.mint(holder.address, 100 * CLUB)
    return fresh_token


@pytest.fixture
def domain(token: Any) -> Domain:
    return Domain.of(token)


@pytest.fixture(scope="session")
def wallet_factory() -> Any:
    return boa.load_partial(str(WALLET_SOURCE))


@pytest.fixture
def wallet(wallet_factory: Any, token: Any, deployer: str) -> Any:
    """A smart-contract wallet holding 50 CLUB."""
    w = wallet_factory.deploy()
    with boa.env.prank(deployer):
        token.mint(w.address, 50 * CLUB)
    return w


# PERMIT (EOA) #################################################################


def test_signature_helpers_agree(domain: Domain, holder: LocalAccount, spender: str, bob: str) -> None:
    """eth_account's typed-data signer and the spec-built digests describe the same message."""
    sig = sign_permit(holder, domain, spender, 5, 0, 99)
    assert recover(permit_digest(domain, holder.address, spender, 5, 0, 99), sig) == holder.address
    sig = sign_delegation(holder, domain, bob, 3, 77)
    assert recover(delegation_digest(domain, bob, 3, 77), sig) == holder.address


def test_permit(token: Any, domain: Domain, holder: LocalAccount, spender: str, non_admin: str) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, spender, 40 * CLUB, 0, deadline)
    with boa.env.prank(non_admin):  # anyone may relay the signature
        token.permit(holder.address, spender, 40 * CLUB, deadline, *sig.vrs())
    assert event_names(token) == ["Approval"]
    (log,) = events(token, "Approval")
    assert (log.owner, log.spender, log.value) == (holder.address, spender, 40 * CLUB)
    assert token.allowance(holder.address, spender) == 40 * CLUB
    assert token.nonces(holder.address) == 1
    with boa.env.prank(spender):
        token.transferFrom(holder.address, spender, 40 * CLUB)
    assert token.balanceOf(spender) == 40 * CLUB


def test_permit_deadline_is_inclusive(token: Any, domain: Domain, holder: LocalAccount, spender: str) -> None:
    deadline = now()
    sig = sign_permit(holder, domain, spender, 1, 0, deadline)
    token.permit(holder.address, spender, 1, deadline, *sig.vrs())
    assert token.allowance(holder.address, spender) == 1


def test_permit_expired(token: Any, domain: Domain, holder: LocalAccount, spender: str) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, spender, 1, 0, deadline)
    warp(HOUR + 1)
    with boa.reverts("erc20: expired deadline"):
        token.permit(holder.address, spender, 1, deadline, *sig.vrs())
    assert token.nonces(holder.address) == 0


def test_permit_replay(token: Any, domain: Domain, holder: LocalAccount, spender: str) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, spender, 7, 0, deadline)
    token.permit(holder.address, spender, 7, deadline, *sig.vrs())
    with boa.env.prank(spender):
        token.transferFrom(holder.address, spender, 7)
    with boa.reverts(INVALID):
        token.permit(holder.address, spender, 7, deadline, *sig.vrs())
    assert token.allowance(holder.address, spender) == 0
    assert token.nonces(holder.address) == 1


def test_permit_wrong_chain_id(token: Any, domain: Domain, holder: LocalAccount, spender: str) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain.with_chain_id(domain.chain_id + 1), spender, 7, 0, deadline)
    with boa.reverts(INVALID):
        token.permit(holder.address, spender, 7, deadline, *sig.vrs())


def test_permit_signed_for_other_chain_valid_after_fork(
    token: Any, domain: Domain, holder: LocalAccount, spender: str
) -> None:
    """The domain follows chain.id: a signature for chain N+1 works once the chain id is N+1, not before."""
    deadline = now() + HOUR
    sig = sign_permit(holder, domain.with_chain_id(domain.chain_id + 1), spender, 7, 0, deadline)
    old = boa.env.evm.patch.chain_id
    boa.env.evm.patch.chain_id = old + 1
    try:
        token.permit(holder.address, spender, 7, deadline, *sig.vrs())
    finally:
        boa.env.evm.patch.chain_id = old
    assert token.allowance(holder.address, spender) == 7


def test_permit_other_token_domain(
    token: Any, deployer: str, holder: LocalAccount, spender: str, fresh_token: Any
) -> None:
    other = deploy_token(deployer)
    deadline = now() + HOUR
    sig = sign_permit(holder, Domain.of(other), spender, 7, 0, deadline)
    with boa.reverts(INVALID):
        token.permit(holder.address, spender, 7, deadline, *sig.vrs())
    other.permit(holder.address, spender, 7, deadline, *sig.vrs())
    assert other.allowance(holder.address, spender) == 7


def test_permit_wrong_signer(
    token: Any, domain: Domain, holder: LocalAccount, mallory: LocalAccount, spender: str
) -> None:
    deadline = now() + HOUR
    sig = sign_permit(mallory, domain, spender, 7, 0, deadline, owner=holder.address)
    with boa.reverts(INVALID):
        token.permit(holder.address, spender, 7, deadline, *sig.vrs())


@pytest.mark.parametrize("field", ["spender", "value", "deadline", "nonce"])
def test_permit_tampered(
    token: Any, domain: Domain, holder: LocalAccount, spender: str, bob: str, field: str
) -> None:
    deadline = now() + HOUR
    signed = {"spender": spender, "value": 7, "deadline": deadline, "nonce": 0}
    submitted = dict(signed)
    if field == "nonce":
        signed["nonce"] = 1  # signed for a future nonce
    else:
        submitted[field] = {"spender": bob, "value": 8, "deadline": deadline + 1}[field]
    sig = sign_permit(holder, domain, signed["spender"], signed["value"], signed["nonce"], signed["deadline"])
    with boa.reverts(INVALID):
        token.permit(
            holder.address, submitted["spender"], submitted["value"], submitted["deadline"], *sig.vrs()
        )


def test_permit_malleable_signature(token: Any, domain: Domain, holder: LocalAccount, spender: str) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, spender, 7, 0, deadline)
    twin = sig.malleable_twin()
    digest = permit_digest(domain, holder.address, spender, 7, 0, deadline)
    assert recover(digest, twin) == holder.address  # the twin is a valid secp256k1 signature ...
    with boa.reverts(MALLEABLE):  # ... that the token refuses
        token.permit(holder.address, spender, 7, deadline, *twin.vrs())
    token.permit(holder.address, spender, 7, deadline, *sig.vrs())
    assert token.allowance(holder.address, spender) == 7


@pytest.mark.parametrize("v", [0, 1, 26, 29, 255])
def test_permit_invalid_v(token: Any, domain: Domain, holder: LocalAccount, spender: str, v: int) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, spender, 7, 0, deadline)
    with boa.reverts("ecdsa: invalid signature"):
        token.permit(holder.address, spender, 7, deadline, v, sig.r, sig.s)


def test_permit_zero_owner(token: Any, spender: str) -> None:
    """ecrecover's failure value (the zero address) never authorises the zero address."""
    deadline = now() + HOUR
    with boa.reverts("ecdsa: invalid signature"):
        token.permit(ZERO, spender, 7, deadline, 27, b"\x00" * 32, b"\x00" * 32)
    # (r, s) that happen to recover to some non-zero address: not the zero owner either.
    with boa.reverts(INVALID):
        token.permit(ZERO, spender, 7, deadline, 28, b"\x01" * 32, b"\x01" * 32)


def test_permit_zero_spender(token: Any, domain: Domain, holder: LocalAccount) -> None:
    deadline = now() + HOUR
    sig = sign_permit(holder, domain, ZERO, 7, 0, deadline)
    with boa.reverts("erc20: approve to the zero address"):
        token.permit(holder.address, ZERO, 7, deadline, *sig.vrs())


# DELEGATE BY SIGNATURE ########################################################


def test_delegate_by_sig(token: Any, domain: Domain, holder: LocalAccount, bob: str, non_admin: str) -> None:
    expiry = now() + HOUR
    sig = sign_delegation(holder, domain, bob, 0, expiry)
    with boa.env.prank(non_admin):
        token.delegateBySig(bob, 0, expiry, *sig.vrs())
    (dc,) = events(token, "DelegateChanged")
    assert (dc.delegator, dc.fromDelegate, dc.toDelegate) == (holder.address, ZERO, bob)
    (dvc,) = events(token, "DelegateVotesChanged")
    assert (dvc.delegate, dvc.previousVotes, dvc.newVotes) == (bob, 0, 100 * CLUB)
    assert token.delegates(holder.address) == bob
    assert token.getVotes(bob) == 100 * CLUB
    assert token.nonces(holder.address) == 1
    assert token.delegates(non_admin) == ZERO


def test_delegate_by_sig_expiry_is_inclusive(token: Any, domain: Domain, holder: LocalAccount) -> None:
    expiry = now()
    sig = sign_delegation(holder, domain, holder.address, 0, expiry)
    token.delegateBySig(holder.address, 0, expiry, *sig.vrs())
    assert token.getVotes(holder.address) == 100 * CLUB


def test_delegate_by_sig_expired(token: Any, domain: Domain, holder: LocalAccount, bob: str) -> None:
    expiry = now() + 10
    sig = sign_delegation(holder, domain, bob, 0, expiry)
    warp(11)
    with boa.reverts("votes: signature expired"):
        token.delegateBySig(bob, 0, expiry, *sig.vrs())


def test_delegate_by_sig_replay(token: Any, domain: Domain, holder: LocalAccount, bob: str) -> None:
    expiry = now() + HOUR
    sig = sign_delegation(holder, domain, bob, 0, expiry)
    token.delegateBySig(bob, 0, expiry, *sig.vrs())
    with boa.env.prank(holder.address):
        token.delegate(ZERO)
    with boa.reverts("votes: invalid nonce"):
        token.delegateBySig(bob, 0, expiry, *sig.vrs())
    assert token.delegates(holder.address) == ZERO


def test_delegate_by_sig_wrong_nonce(token: Any, domain: Domain, holder: LocalAccount, bob: str) -> None:
    expiry = now() + HOUR
    sig = sign_delegation(holder, domain, bob, 1, expiry)
    with boa.reverts("votes: invalid nonce"):
        token.delegateBySig(bob, 1, expiry, *sig.vrs())
    # The signed nonce must also be the submitted one: the digest changes with it.
    good = sign_delegation(holder, domain, bob, 0, expiry)
    token.delegateBySig(bob, 0, expiry, *good.vrs())
    sig = sign_delegation(holder, domain, bob, 1, expiry)
    token.delegateBySig(bob, 1, expiry, *sig.vrs())
    assert token.nonces(holder.address) == 2


def test_delegate_by_sig_wrong_chain_id(token: Any, domain: Domain, holder: LocalAccount, bob: str) -> None:
    """A foreign-domain signature recovers to an unrelated address and never touches the holder.

    With a nonce the unrelated address has not reached, the call reverts; with
    nonce 0 it would delegate that unrelated (keyless) address, as in OpenZeppelin.
    """
    expiry = now() + HOUR
    wrong = domain.with_chain_id(domain.chain_id + 1)
    sig = sign_delegation(holder, wrong, bob, 1, expiry)
    with boa.reverts("votes: invalid nonce"):
        token.delegateBySig(bob, 1, expiry, *sig.vrs())
    sig0 = sign_delegation(holder, wrong, bob, 0, expiry)
    token.delegateBySig(bob, 0, expiry, *sig0.vrs())
    (dc,) = events(token, "DelegateChanged")
    assert dc.delegator != holder.address
    assert token.delegates(holder.address) == ZERO
    assert token.nonces(holder.address) == 0
    assert token.getVotes(bob) == 0


def test_delegate_by_sig_tampered_delegatee(
    token: Any, domain: Domain, holder: LocalAccount, bob: str, carol: str
) -> None:
    expiry = now() + HOUR
    token.delegateBySig(bob, 0, expiry, *sign_delegation(holder, domain, bob, 0, expiry).vrs())
    sig = sign_delegation(holder, domain, bob, 1, expiry)
    with boa.reverts("votes: invalid nonce"):  # recovers to someone else, whose nonce is 0
        token.delegateBySig(carol, 1, expiry, *sig.vrs())
    assert token.delegates(holder.address) == bob


def test_delegate_by_sig_malleable(token: Any, domain: Domain, holder: LocalAccount, bob: str) -> None:
    expiry = now() + HOUR
    twin = sign_delegation(holder, domain, bob, 0, expiry).malleable_twin()
    assert recover(delegation_digest(domain, bob, 0, expiry), twin) == holder.address
    with boa.reverts(MALLEABLE):
        token.delegateBySig(bob, 0, expiry, *twin.vrs())


def test_delegate_by_sig_garbage(token: Any, bob: str) -> None:
    with boa.reverts("ecdsa: invalid signature"):
        token.delegateBySig(bob, 0, now(), 27, b"\x00" * 32, b"\x00" * 32)


def test_permit_and_delegate_by_sig_share_nonce(
    token: Any, domain: Domain, holder: LocalAccount, spender: str, bob: str
) -> None:
    deadline = now() + HOUR
    permit0 = sign_permit(holder, domain, spender, 5, 0, deadline)
    delegation0 = sign_delegation(holder, domain, bob, 0, deadline)
    token.permit(holder.address, spender, 5, deadline, *permit0.vrs())
    with boa.reverts("votes: invalid nonce"):  # nonce 0 was spent by the permit
        token.delegateBySig(bob, 0, deadline, *delegation0.vrs())
    token.delegateBySig(bob, 1, deadline, *sign_delegation(holder, domain, bob, 1, deadline).vrs())
    with boa.reverts(INVALID):  # a permit signed for nonce 1 is stale now
        token.permit(
            holder.address, spender, 9, deadline, *sign_permit(holder, domain, spender, 9, 1, deadline).vrs()
        )
    token.permit(
        holder.address, spender, 9, deadline, *sign_permit(holder, domain, spender, 9, 2, deadline).vrs()
    )
    assert token.nonces(holder.address) == 3
    assert token.allowance(holder.address, spender) == 9
    assert token.delegates(holder.address) == bob


# PERMIT (EIP-1271) ############################################################


def _wallet_permit(token: Any, wallet: Any, spender: str, value: int, deadline: int) -> bytes:
    return permit_digest(
        Domain.of(token), str(wallet.address), spender, value, token.nonces(wallet.address), deadline
    )


FAKE_SIG = Signature(27, b"\x11" * 32, b"\x22" * 32)


def test_permit_contract_owner(token: Any, wallet: Any, spender: str) -> None:
    deadline = now() + HOUR
    wallet.set_approved(_wallet_permit(token, wallet, spender, 30 * CLUB, deadline), True)
    wallet.set_required_signature(FAKE_SIG.packed())  # the token must forward r || s || v
    token.permit(wallet.address, spender, 30 * CLUB, deadline, *FAKE_SIG.vrs())
    (log,) = events(token, "Approval")
    assert (log.owner, log.spender, log.value) == (wallet.address, spender, 30 * CLUB)
    assert token.nonces(wallet.address) == 1
    with boa.env.prank(spender):
        token.transferFrom(wallet.address, spender, 30 * CLUB)
    assert token.balanceOf(wallet.address) == 20 * CLUB


def test_permit_contract_owner_says_no(token: Any, wallet: Any, spender: str) -> None:
    deadline = now() + HOUR
    with boa.reverts(INVALID):
        token.permit(wallet.address, spender, 1, deadline, *FAKE_SIG.vrs())
    # Approved digest but different signature bytes than the wallet requires.
    wallet.set_approved(_wallet_permit(token, wallet, spender, 1, deadline), True)
    wallet.set_required_signature(FAKE_SIG.packed())
    other = Signature(28, FAKE_SIG.r, FAKE_SIG.s)
    with boa.reverts(INVALID):
        token.permit(wallet.address, spender, 1, deadline, *other.vrs())
    assert token.nonces(wallet.address) == 0


def test_permit_contract_owner_broken_wallet(token: Any, wallet: Any, spender: str) -> None:
    deadline = now() + HOUR
    wallet.set_approved(_wallet_permit(token, wallet, spender, 1, deadline), True)
    wallet.set_broken(True)
    with boa.reverts(INVALID):
        token.permit(wallet.address, spender, 1, deadline, *FAKE_SIG.vrs())


def test_permit_contract_owner_replay(token: Any, wallet: Any, spender: str) -> None:
    deadline = now() + HOUR
    wallet.set_approved(_wallet_permit(token, wallet, spender, 1, deadline), True)
    token.permit(wallet.address, spender, 1, deadline, *FAKE_SIG.vrs())
    with boa.reverts(INVALID):  # nonce 1: a digest the wallet never approved
        token.permit(wallet.address, spender, 1, deadline, *FAKE_SIG.vrs())


def test_permit_contract_owner_expired(token: Any, wallet: Any, spender: str) -> None:
    deadline = now() - 1
    wallet.set_approved(_wallet_permit(token, wallet, spender, 1, deadline), True)
    with boa.reverts("erc20: expired deadline"):
        token.permit(wallet.address, spender, 1, deadline, *FAKE_SIG.vrs())


def test_permit_contract_owner_rejects_eoa_signature(
    token: Any, wallet: Any, holder: LocalAccount, spender: str
) -> None:
    """An EOA's ECDSA signature over the wallet's permit is not the wallet's consent."""
    deadline = now() + HOUR
    sig = sign_permit(holder, Domain.of(token), spender, 1, 0, deadline, owner=str(wallet.address))
    with boa.reverts(INVALID):
        token.permit(wallet.address, spender, 1, deadline, *sig.vrs())


def test_permit_contract_without_erc1271(token: Any, deployer: str, spender: str) -> None:
    """A contract owner that does not implement isValidSignature cannot permit."""
    other = deploy_token(deployer)
    with boa.reverts(INVALID):
        token.permit(other.address, spender, 1, now() + HOUR, *FAKE_SIG.vrs())
