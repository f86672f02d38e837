"""Differential fuzz: ClubToken's hand-written ERC-20 core against snekmate's erc20, op for op.

ClubToken packs each balance with its delegate in one slot, so its ERC-20 core is
its own code rather than snekmate's module. This test runs the same random
sequences of mints, transfers, approvals, transferFroms, permits (valid and
broken EOA signatures), burns and burnFroms on ClubToken and on an unmodified
snekmate erc20 (tests/utils/contracts/SnekmateERC20.vy) and requires identical
return values, revert reasons, Transfer/Approval events (same order, same
fields), balances, allowances, total supply and nonces.

Votes must not change ERC-20 behaviour, so each example also draws who delegates
on ClubToken (nobody, or a random mix of self-, cross- and no delegation) and
interleaves ClubToken-only `delegate` calls; ClubToken's extra
DelegateChanged/DelegateVotesChanged events are not compared.

Known, intended differences that the test encodes explicitly:
- minting rights: snekmate's `is_minter` ("erc20: access is denied") versus
  ClubToken's MINTER_ROLE ("access_control: account is missing role");
- the cap: amounts stay far below it here (the cap has its own unit tests);
- the burn-from function is `burn_from` in snekmate and `burnFrom` in ClubToken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boa
from boa.contracts.base_evm_contract import BoaError
from eth_abi import decode
from eth_account.signers.local import LocalAccount
from hypothesis import given, settings
from hypothesis import strategies as st

from clubchat.deploy.backend import EVM_VERSION
from tests.unit.token.helpers import CLUB, MAX_UINT256, MISSING_ROLE, ZERO, deploy_token, now
from tests.utils.signing import Domain, Signature, named_signer, sign_permit

REFERENCE_SOURCE = Path(__file__).parents[1] / "utils" / "contracts" / "SnekmateERC20.vy"
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
N_ACTORS = 4
ACTOR_NAMES = tuple(f"erc20-actor-{i}" for i in range(N_ACTORS))
PERMIT_FLAWS = (
    "none",
    "none",
    "wrong_signer",
    "expired",
    "wrong_nonce",
    "malleable",
    "wrong_chain",
    "bad_v",
    "tampered_value",
)

_factory_cache: dict[str, Any] = {}


def reference_factory() -> Any:
    if "ref" not in _factory_cache:
        _factory_cache["ref"] = boa.load_partial(
            str(REFERENCE_SOURCE), compiler_args={"evm_version": EVM_VERSION}
        )
    return _factory_cache["ref"]


def revert_reason(err: BoaError) -> str | None:
    """The Error(string) payload of a revert, or None for a bare revert / panic."""
    frame = err.stack_trace.last_frame
    vm_error = getattr(frame, "vm_error", None)
    if vm_error is None or not vm_error.args:
        return None
    raw = vm_error.args[0]
    if isinstance(raw, bytes) and raw[:4] == ERROR_SELECTOR:
        return str(decode(["string"], raw[4:])[0])
    return None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any  # the return value, or the revert reason
    events: tuple[tuple[Any, ...], ...]


def run(contract: Any, fn: str, sender: str, *args: Any) -> Outcome:
    with boa.env.prank(sender):
        try:
            ret = getattr(contract, fn)(*args)
        except BoaError as err:
            return Outcome(False, revert_reason(err), ())
    logs = []
    for e in contract.get_logs():
        name = type(e).__name__
        if name == "Transfer":
            logs.append((name, e.sender, e.receiver, e.value))
        elif name == "Approval":
            logs.append((name, e.owner, e.spender, e.value))
    return Outcome(True, ret, tuple(logs))


# Operations: tuples drawn by hypothesis, resolved against the current state when run.
actor = st.integers(0, N_ACTORS - 1)
target = st.integers(0, N_ACTORS)  # N_ACTORS stands for the zero address
# None = the drawn (owner, spender); an int = pick among the pairs that have an allowance.
pick = st.one_of(st.none(), st.integers(0, 10**6))
share = st.one_of(st.integers(0, 100), st.just(101), st.just(1000))  # % of what is available; >100 overdraws
ops = st.one_of(
    st.tuples(st.just("mint"), st.sampled_from([True, True, True, False]), target, st.integers(0, 10**24)),
    st.tuples(st.just("transfer"), actor, target, share),
    st.tuples(st.just("approve"), actor, target, st.one_of(st.integers(0, 10**24), st.just(MAX_UINT256))),
    st.tuples(st.just("transferFrom"), actor, actor, target, share, pick),
    st.tuples(st.just("burn"), actor, share),
    st.tuples(st.just("burnFrom"), actor, actor, share, pick),
    st.tuples(
        st.just("permit"),
        actor,
        target,
        st.one_of(st.integers(0, 10**24), st.just(MAX_UINT256)),
        st.sampled_from(PERMIT_FLAWS),
    ),
    st.tuples(st.just("delegate"), actor, target),
    st.tuples(st.just("wait"), st.sampled_from([0, 1, 3600])),
)
# Sequence length follows the hypothesis profile: ~40 ops under `ci`, ~110 under `deep`.
MAX_OPS = max(40, settings().stateful_step_count + 10)
# Per actor: index of its delegate on ClubToken (N_ACTORS = does not delegate).
no_delegation = st.just((N_ACTORS,) * N_ACTORS)
some_delegation = st.tuples(*[target] * N_ACTORS)


class Pair:
    """The reference token and ClubToken side by side, with the same actors."""

    def __init__(self, minter: str, non_minter: str, actors: list[LocalAccount]) -> None:
        self.minter, self.non_minter = minter, non_minter
        self.actors = actors
        self.addresses = [a.address for a in actors]
        with boa.env.prank(minter):
            self.ref = reference_factory().deploy("Club Token", "CLUB", 18, "Club Token", "1")
        self.club = deploy_token(minter)

    def addr(self, i: int) -> str:
        return self.addresses[i] if i < len(self.addresses) else ZERO

    def both(self, fn: str, sender: str, *args: Any, club_fn: str | None = None) -> tuple[Outcome, Outcome]:
        return run(self.ref, fn, sender, *args), run(self.club, club_fn or fn, sender, *args)

    def available(self, owner: str, spender: str | None = None) -> int:
        bal = self.ref.balanceOf(owner)
        return bal if spender is None else min(bal, self.ref.allowance(owner, spender))

    def pair(self, owner: int, spender: int, choice: int | None) -> tuple[str, str]:
        """(owner, spender) as drawn, or, when `choice` is set, a pair with a reference allowance."""
        if choice is not None:
            approved = [(o, sp) for o in self.addresses for sp in self.addresses if self.ref.allowance(o, sp)]
            if approved:
                return approved[choice % len(approved)]
        return self.addr(owner), self.addr(spender)

    def permit_args(self, token: Any, owner_i: int, spender: str, value: int, flaw: str) -> tuple[Any, ...]:
        owner = self.actors[owner_i]
        domain = Domain.of(token)
        nonce = token.nonces(owner.address)
        deadline = now() - 1 if flaw == "expired" else now() + 3600
        signer = self.actors[(owner_i + 1) % len(self.actors)] if flaw == "wrong_signer" else owner
        if flaw == "wrong_nonce":
            nonce += 1
        if flaw == "wrong_chain":
            domain = domain.with_chain_id(domain.chain_id + 1)
        sig = sign_permit(signer, domain, spender, value, nonce, deadline, owner=owner.address)
        if flaw == "malleable":
            sig = sig.malleable_twin()
        if flaw == "bad_v":
            sig = Signature(0, sig.r, sig.s)
        submitted = value
        if flaw == "tampered_value":
            submitted = value + 1 if value < MAX_UINT256 else value - 1
        return (owner.address, spender, submitted, deadline, *sig.vrs())

    def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        a = self.addr
        if kind == "mint":
            _, by_minter, to, amount = op
            sender = self.minter if by_minter else self.non_minter
            ref, club = self.both("mint", sender, a(to), amount)
            if not by_minter:
                assert (ref.ok, ref.value) == (False, "erc20: access is denied")
                assert (club.ok, club.value) == (False, MISSING_ROLE)
                return
        elif kind == "transfer":
            _, sender, to, pct = op
            amount = self.available(a(sender)) * pct // 100
            ref, club = self.both("transfer", a(sender), a(to), amount)
        elif kind == "approve":
            _, owner, spender, amount = op
            ref, club = self.both("approve", a(owner), a(spender), amount)
        elif kind == "transferFrom":
            _, spender_i, owner_i, to, pct, choice = op
            owner, spender = self.pair(owner_i, spender_i, choice)
            amount = self.available(owner, spender) * pct // 100
            ref, club = self.both("transferFrom", spender, owner, a(to), amount)
        elif kind == "burn":
            _, who, pct = op
            ref, club = self.both("burn", a(who), self.available(a(who)) * pct // 100)
        elif kind == "burnFrom":
            _, spender_i, owner_i, pct, choice = op
            owner, spender = self.pair(owner_i, spender_i, choice)
            amount = self.available(owner, spender) * pct // 100
            ref, club = self.both("burn_from", spender, owner, amount, club_fn="burnFrom")
        elif kind == "permit":
            _, owner, spender, value, flaw = op
            ref = run(
                self.ref, "permit", self.minter, *self.permit_args(self.ref, owner, a(spender), value, flaw)
            )
            club = run(
                self.club, "permit", self.minter, *self.permit_args(self.club, owner, a(spender), value, flaw)
            )
            if flaw != "none":
                assert not ref.ok, flaw
        elif kind == "delegate":
            # ClubToken only: votes may move, ERC-20 state must not.
            _, who, to = op
            with boa.env.prank(a(who)):
                self.club.delegate(a(to))
            self.compare_state()
            return
        else:
            if op[1]:
                boa.env.time_travel(seconds=op[1])
            return
        assert ref == club, (op, ref, club)
        self.compare_state()

    def compare_state(self) -> None:
        assert self.ref.totalSupply() == self.club.totalSupply()
        for x in self.addresses:
            assert self.ref.balanceOf(x) == self.club.balanceOf(x), x

    def compare_everything(self) -> None:
        self.compare_state()
        assert self.ref.balanceOf(ZERO) == self.club.balanceOf(ZERO) == 0
        for owner in self.addresses:
            assert self.ref.nonces(owner) == self.club.nonces(owner), owner
            for spender in [*self.addresses, ZERO]:
                assert self.ref.allowance(owner, spender) == self.club.allowance(owner, spender)


@given(
    delegation=st.one_of(no_delegation, some_delegation),
    seed_mints=st.lists(st.integers(0, 10**22), min_size=N_ACTORS, max_size=N_ACTORS),
    sequence=st.lists(ops, min_size=10, max_size=MAX_OPS),
)
def test_club_token_matches_snekmate_erc20(
    deployer: str, non_admin: str, delegation: tuple[int, ...], seed_mints: list[int], sequence: list[tuple]
) -> None:
    actors = [named_signer(n) for n in ACTOR_NAMES]
    pair = Pair(deployer, non_admin, actors)
    assert pair.ref.name() == pair.club.name()
    assert pair.ref.symbol() == pair.club.symbol()
    assert pair.ref.decimals() == pair.club.decimals()
    assert pair.ref.eip712Domain()[:4] == pair.club.eip712Domain()[:4]
    for i, d in enumerate(delegation):
        if d < N_ACTORS:
            with boa.env.prank(pair.addr(i)):
                pair.club.delegate(pair.addr(d))
    for i, amount in enumerate(seed_mints):
        pair.step(("mint", True, i, amount))
    for op in sequence:
        pair.step(op)
    pair.compare_everything()
    # Votes stay consistent with the balances that ERC-20 ops moved around.
    delegated = sum(pair.club.balanceOf(x) for x in pair.addresses if pair.club.delegates(x) != ZERO)
    assert sum(pair.club.getVotes(x) for x in pair.addresses) == delegated


def test_revert_reason_helper_reads_error_strings(deployer: str, alice: str) -> None:
    """The comparison above is only as good as the reason extraction: check it on known reverts."""
    pair = Pair(deployer, alice, [named_signer(n) for n in ACTOR_NAMES])
    ref, club = pair.both("transfer", alice, ZERO, 1)
    assert ref == club == Outcome(False, "erc20: transfer to the zero address", ())
    ref, club = pair.both("transfer", alice, deployer, 1)
    assert ref == club == Outcome(False, "erc20: transfer amount exceeds balance", ())
    ok = run(pair.club, "approve", alice, deployer, 5 * CLUB)
    assert ok == Outcome(True, True, (("Approval", alice, deployer, 5 * CLUB),))
