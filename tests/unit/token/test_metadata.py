"""ClubToken constructor, metadata views, ERC-6372 clock, EIP-712/EIP-5267 domain and ERC-165."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_utils import keccak

from tests.unit.token.helpers import (
    CAP,
    CLUB,
    DEFAULT_ADMIN_ROLE,
    MINTER_ROLE,
    ZERO,
    deploy_token,
    events,
    now,
    warp,
)
from tests.utils.signing import Domain


def test_erc20_metadata(fresh_token: Any) -> None:
    assert fresh_token.name() == "Club Token"
    assert fresh_token.symbol() == "CLUB"
    assert fresh_token.decimals() == 18
    assert fresh_token.cap() == CAP
    assert fresh_token.totalSupply() == 0


def test_constructor_grants_admin_and_minter_to_deployer(deployer: str, non_admin: str) -> None:
    token = deploy_token(deployer)
    granted = events(token, "RoleGranted")
    assert [(e.role, e.account, e.sender) for e in granted] == [
        (DEFAULT_ADMIN_ROLE, deployer, deployer),
        (MINTER_ROLE, deployer, deployer),
    ]
    assert token.hasRole(MINTER_ROLE, deployer)
    assert not token.hasRole(MINTER_ROLE, non_admin)
    assert token.MINTER_ROLE() == MINTER_ROLE
    assert token.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert token.getRoleAdmin(MINTER_ROLE) == DEFAULT_ADMIN_ROLE


@pytest.mark.parametrize("cap", [0, 2**90, 2**90 + 1, 2**96, 2**256 - 1])
def test_constructor_rejects_cap_out_of_range(deployer: str, cap: int) -> None:
    with boa.reverts("club: cap out of range"):
        deploy_token(deployer, cap=cap)


@pytest.mark.parametrize("cap", [1, 2**90 - 1])
def test_constructor_accepts_cap_bounds(deployer: str, alice: str, cap: int) -> None:
    token = deploy_token(deployer, cap=cap)
    assert token.cap() == cap
    # The whole cap can be minted and voted with: 2**90 - 1 fits the packed fields.
    with boa.env.prank(deployer):
        token.mint(alice, cap)
    with boa.env.prank(alice):
        token.delegate(alice)
    warp(1)
    with boa.env.prank(alice):
        token.transfer(deployer, cap)
    warp(1)
    assert token.getPastVotes(alice, now() - 2) == cap
    assert token.getPastVotes(alice, now() - 1) == 0
    assert token.getPastTotalSupply(now() - 1) == cap


def test_clock_is_block_timestamp(fresh_token: Any) -> None:
    assert fresh_token.clock() == now()
    warp(12_345)
    assert fresh_token.clock() == now()
    assert fresh_token.CLOCK_MODE() == "mode=timestamp"


def test_eip712_domain(fresh_token: Any) -> None:
    fields, name, version, chain_id, contract, salt, extensions = fresh_token.eip712Domain()
    assert fields == b"\x0f"  # name, version, chainId, verifyingContract
    assert (name, version) == ("Club Token", "1")
    assert chain_id == boa.env.evm.patch.chain_id
    assert contract == fresh_token.address
    assert salt == b"\x00" * 32
    assert extensions == []


def test_domain_separator_matches_python(fresh_token: Any) -> None:
    expected = Domain("Club Token", "1", boa.env.evm.patch.chain_id, str(fresh_token.address)).separator()
    assert fresh_token.DOMAIN_SEPARATOR() == expected
    assert Domain.of(fresh_token).separator() == expected


def test_domain_separator_follows_chain_id(fresh_token: Any) -> None:
    """After a fork (new chain id) the cached separator is rebuilt for the new chain."""
    old_chain = boa.env.evm.patch.chain_id
    boa.env.evm.patch.chain_id = old_chain + 1
    try:
        expected = Domain("Club Token", "1", old_chain + 1, str(fresh_token.address)).separator()
        assert fresh_token.DOMAIN_SEPARATOR() == expected
        assert fresh_token.eip712Domain()[3] == old_chain + 1
    finally:
        boa.env.evm.patch.chain_id = old_chain


def test_domain_separator_depends_on_name_and_version(deployer: str) -> None:
    token = deploy_token(deployer, name="Other", version="2")
    chain_id = boa.env.evm.patch.chain_id
    assert token.DOMAIN_SEPARATOR() == Domain("Other", "2", chain_id, str(token.address)).separator()
    assert token.DOMAIN_SEPARATOR() != Domain("Club Token", "1", chain_id, str(token.address)).separator()


def _interface_id(*signatures: str) -> bytes:
    x = 0
    for sig in signatures:
        x ^= int.from_bytes(keccak(text=sig)[:4], "big")
    return x.to_bytes(4, "big")


def test_supports_interface(fresh_token: Any) -> None:
    erc165 = _interface_id("supportsInterface(bytes4)")
    access_control = _interface_id(
        "hasRole(bytes32,address)",
        "getRoleAdmin(bytes32)",
        "grantRole(bytes32,address)",
        "revokeRole(bytes32,address)",
        "renounceRole(bytes32,address)",
    )
    assert erc165 == bytes.fromhex("01ffc9a7")
    assert access_control == bytes.fromhex("7965db0b")
    assert fresh_token.supportsInterface(erc165)
    assert fresh_token.supportsInterface(access_control)
    assert not fresh_token.supportsInterface(b"\xff\xff\xff\xff")
    assert not fresh_token.supportsInterface(b"\x00\x00\x00\x00")


def test_deployed_protocol_token(token: Any, protocol: Any, params: Any, deployer: str) -> None:
    """The plan's token: genesis supply minted, deployer's minting right renounced, Emission can mint.

    Who ends up with DEFAULT_ADMIN_ROLE (deployer or Timelock) is the plan's
    hand-over and tested with it; here only the token's own genesis facts.
    """
    g = params.genesis
    genesis = g.treasury_wei + g.liquidity_wei + g.vesting_total_wei
    assert token.totalSupply() == genesis
    assert token.cap() == params.token.cap_wei == CAP
    assert token.name() == params.token.name
    assert token.symbol() == params.token.symbol
    assert not token.hasRole(MINTER_ROLE, deployer)
    assert token.hasRole(MINTER_ROLE, protocol["Emission"].address)
    assert token.balanceOf(protocol.treasury) == g.treasury_wei + g.liquidity_wei
    with boa.env.prank(deployer), boa.reverts("access_control: account is missing role"):
        token.mint(deployer, CLUB)
    assert token.balanceOf(ZERO) == 0
