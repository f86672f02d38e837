"""Gas of ClubToken against OpenZeppelin 5 ERC20Votes and plain ERC20+Permit.

Run: `.venv/bin/python bench/bench_token_gas.py` (or `make bench`). Prints a table and writes
bench/results/token_gas.json and bench/results/token_gas.md. Not a test: nothing here asserts gas; it
fails only when a scenario cannot run or when the implementations end a scenario in different states.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _harness import (
    EVM_VERSION,
    GENESIS_TIMESTAMP,
    REPO_ROOT,
    Artifact,
    BenchError,
    Chain,
    Comparison,
    Report,
    anvil,
    compile_solidity,
    compile_vyper,
    environment,
    paragraph,
)
from web3.contract import Contract

from clubchat.chain.eip712 import Domain, sign_permit
from clubchat.deploy.plan import token_constructor_args
from clubchat.params import WAD, load

CLUB_TOKEN = REPO_ROOT / "contracts" / "token" / "ClubToken.vy"
SOLIDITY_SOURCES = ["bench/solidity/OZVotesToken.sol", "bench/solidity/OZPermitToken.sol"]
# Everything the measured bytecode is built from, for the report's source revision.
SOURCES = ("contracts/token/ClubToken.vy", "contracts/modules", "interfaces", "bench/solidity")

OZ_VOTES = "OZ ERC20Votes"
OZ_PLAIN = "OZ ERC20+Permit"
OURS = "ClubToken"

# Actors by role. anvil's mnemonic gives each its key; the deployer holds the minter role.
ACTORS = [
    "deployer",
    "delegator_a",  # self-delegated holders that transfer to each other
    "delegator_b",
    "holder_a",  # holders that never delegate
    "holder_b",
    "new_delegator",  # holds tokens, has never delegated
    "switcher",  # delegates to delegate_x, then moves to delegate_y
    "delegate_x",
    "delegate_y",
    "spender",  # gets allowances, relays the permit
    "permit_signer",  # fresh owner: nonce 0, no allowance yet
    "follower",  # holder that delegates to delegate_y (switcher -> follower moves votes x -> y)
]
HOLDERS = [a for a in ACTORS if a not in ("deployer", "spender", "permit_signer")]

HOLDING = 1_000 * WAD  # minted to every holder at set-up
AMOUNT = 1 * WAD  # moved by every transfer, mint and burn
ALLOWANCE = 1_000 * WAD
PERMIT_DEADLINE = GENESIS_TIMESTAMP + 10 * 365 * 86_400
TRANSFER_RUN = 10  # consecutive delegated transfers: ClubToken's packed checkpoints alternate in cost
SUPPLY_RUN = 4  # consecutive mints / burns (total-supply checkpoints are packed the same way)

# Reference figures for OpenZeppelin that the token's specification gave (measured by its author;
# the reports call them "issue's OZ").
ISSUE_OZ = {
    "transfer_delegated": 104_786,
    "transfer_plain_votes": 39_227,
    "transfer_plain_erc20": 34_491,
    "first_delegate": 95_610,
    "permit": 74_765,
}


@dataclass(frozen=True)
class Implementation:
    label: str
    artifact: Artifact
    votes: bool
    args: tuple[Any, ...]


def build_implementations() -> tuple[list[Implementation], Implementation | None]:
    """The two OZ baselines (always) and ClubToken (when its source exists)."""
    params = load()
    t = params.token
    oz = compile_solidity(SOLIDITY_SOURCES)
    # The OZ tokens use the same EIP-712 name and version "1" as ClubToken, so that with the same address
    # (same deployer nonce, see the harness) permit signatures, and hence calldata, are identical.
    if t.eip712_version != "1":
        raise BenchError("OZ ERC20Permit fixes the EIP-712 version to '1'; token.eip712_version differs")
    baselines = [
        Implementation(OZ_VOTES, oz["OZVotesToken"], True, (t.name, t.symbol, t.name)),
        Implementation(OZ_PLAIN, oz["OZPermitToken"], False, (t.name, t.symbol, t.name)),
    ]
    ours = None
    if CLUB_TOKEN.exists():
        ours = Implementation(OURS, compile_vyper(CLUB_TOKEN), True, token_constructor_args(params))
    return baselines, ours


# SCENARIOS #############################################################
# Each runs from the same post-set-up state and returns the receipt gas of its measured transactions.


def setup(chain: Chain, token: Contract, impl: Implementation) -> None:
    f = token.functions
    for holder in HOLDERS:
        chain.transact(f.mint(chain.address(holder), HOLDING), "deployer")
    if impl.votes:
        for actor in ("delegator_a", "delegator_b", "delegate_x", "delegate_y"):
            chain.transact(f.delegate(chain.address(actor)), actor)
        chain.transact(f.delegate(chain.address("delegate_x")), "switcher")
        chain.transact(f.delegate(chain.address("delegate_y")), "follower")


def transfer_delegated(chain: Chain, token: Contract) -> list[int]:
    """delegator_a -> delegator_b, both self-delegated with one checkpoint each, TRANSFER_RUN times."""
    to = chain.address("delegator_b")
    return [chain.gas(token.functions.transfer(to, AMOUNT), "delegator_a") for _ in range(TRANSFER_RUN)]


def transfer_delegated_offset(chain: Chain, token: Contract) -> list[int]:
    """As transfer_delegated after one unmeasured transfer gives delegator_b a second checkpoint, so the
    two delegates' checkpoint counts have opposite parity."""
    chain.transact(token.functions.transfer(chain.address("delegator_b"), AMOUNT), "holder_a")
    return transfer_delegated(chain, token)


def transfer_via_delegates(chain: Chain, token: Contract) -> list[int]:
    """switcher -> follower, who delegate to delegate_x resp. delegate_y, TRANSFER_RUN times."""
    to = chain.address("follower")
    return [chain.gas(token.functions.transfer(to, AMOUNT), "switcher") for _ in range(TRANSFER_RUN)]


def transfer_plain(chain: Chain, token: Contract) -> list[int]:
    return [chain.gas(token.functions.transfer(chain.address("holder_b"), AMOUNT), "holder_a")]


def first_delegate(chain: Chain, token: Contract) -> list[int]:
    return [chain.gas(token.functions.delegate(chain.address("new_delegator")), "new_delegator")]


def delegate_change(chain: Chain, token: Contract) -> list[int]:
    return [chain.gas(token.functions.delegate(chain.address("delegate_y")), "switcher")]


def permit(chain: Chain, token: Contract) -> list[int]:
    owner, spender = chain.address("permit_signer"), chain.address("spender")
    signer = chain.accounts["permit_signer"]
    sig = sign_permit(signer, Domain.of(token), spender, ALLOWANCE, 0, PERMIT_DEADLINE)
    call = token.functions.permit(owner, spender, ALLOWANCE, PERMIT_DEADLINE, *sig.vrs())
    return [chain.gas(call, "spender")]


def approve(chain: Chain, token: Contract) -> list[int]:
    return [chain.gas(token.functions.approve(chain.address("spender"), ALLOWANCE), "holder_a")]


def transfer_from(chain: Chain, token: Contract) -> list[int]:
    f = token.functions
    chain.transact(f.approve(chain.address("spender"), ALLOWANCE), "holder_a")
    call = f.transferFrom(chain.address("holder_a"), chain.address("holder_b"), AMOUNT)
    return [chain.gas(call, "spender")]


def mint(chain: Chain, token: Contract) -> list[int]:
    call = token.functions.mint(chain.address("holder_a"), AMOUNT)
    return [chain.gas(call, "deployer") for _ in range(SUPPLY_RUN)]


def burn(chain: Chain, token: Contract) -> list[int]:
    return [chain.gas(token.functions.burn(AMOUNT), "holder_a") for _ in range(SUPPLY_RUN)]


# name -> (scenario, runs on the plain ERC-20 baseline too)
SCENARIOS: dict[str, tuple[Callable[[Chain, Contract], list[int]], bool]] = {
    "transfer_delegated": (transfer_delegated, False),
    "transfer_delegated_offset": (transfer_delegated_offset, False),
    "transfer_via_delegates": (transfer_via_delegates, False),
    "transfer_plain": (transfer_plain, True),
    "first_delegate": (first_delegate, False),
    "delegate_change": (delegate_change, False),
    "permit": (permit, True),
    "approve": (approve, True),
    "transfer_from": (transfer_from, True),
    "mint": (mint, True),
    "burn": (burn, True),
}


def fingerprint(chain: Chain, token: Contract, votes: bool) -> dict[str, Any]:
    """The observable state after a scenario; every implementation must end in the same one.

    For the votes tokens this includes the history: votes and supply at the last measured block and at
    the block before it (one empty block is mined first, so both lie in the past).
    """
    f = token.functions
    state: dict[str, Any] = {"totalSupply": f.totalSupply().call()}
    last = chain.latest_timestamp()
    if votes:
        chain.travel(1)
        for t in (last - 1, last):
            state[f"pastTotalSupply@{t}"] = f.getPastTotalSupply(t).call()
    for actor in ACTORS:
        addr = chain.address(actor)
        state[f"balance:{actor}"] = f.balanceOf(addr).call()
        state[f"allowance:{actor}"] = f.allowance(addr, chain.address("spender")).call()
        if votes:
            state[f"votes:{actor}"] = f.getVotes(addr).call()
            state[f"delegates:{actor}"] = f.delegates(addr).call()
            for t in (last - 1, last):
                state[f"pastVotes:{actor}@{t}"] = f.getPastVotes(addr, t).call()
    return state


Gas = dict[str, dict[str, list[int]]]  # scenario -> implementation -> receipt gas of each transaction
States = dict[str, dict[str, dict[str, Any]]]  # scenario -> implementation -> fingerprint


def measure(chain: Chain, impl: Implementation, results: Gas, states: States) -> str:
    """Deploy `impl` in a snapshot, run every scenario it supports, roll back; returns the token address."""
    with chain.isolated():
        token = chain.deploy(impl.artifact, *impl.args, sender="deployer")
        setup(chain, token, impl)
        for name, (scenario, plain_too) in SCENARIOS.items():
            if not impl.votes and not plain_too:
                continue
            with chain.isolated():
                gas = scenario(chain, token)
                results.setdefault(name, {})[impl.label] = gas
                states.setdefault(name, {})[impl.label] = fingerprint(chain, token, impl.votes)
        return str(token.address)


def check_same_state(states: States) -> None:
    """Implementations must agree on every shared part of the end state of every scenario."""
    for scenario, by_impl in states.items():
        (ref_label, ref), *others = by_impl.items()
        for label, state in others:
            for k, v in state.items():
                if k in ref and ref[k] != v:
                    raise BenchError(f"{scenario}: {label} ends with {k}={v}, {ref_label} with {ref[k]}")


def compare(results: Gas, have_ours: bool) -> list[Comparison]:
    """The table: every operation against each baseline that supports it, targets from the issue."""

    def row(
        name: str, title: str, baseline: str, target: float | None = None, text: str = "", **kw: Any
    ) -> Comparison:
        ours = results[name].get(OURS) if have_ours else None
        return Comparison(title, baseline, results[name][baseline], ours, target, text, **kw)

    def oz_first(name: str) -> int:
        return results[name][OZ_VOTES][0]

    out: list[Comparison] = []
    for name, title in (
        ("transfer_delegated", "delegated transfer, same parity"),
        ("transfer_delegated_offset", "delegated transfer, opposite parity"),
    ):
        anchor = ISSUE_OZ["transfer_delegated"] if name == "transfer_delegated" else None
        constant = all(len(set(values)) == 1 for values in results[name].values())
        # A run in which every transaction costs the same for everyone is one row, not five equal ones.
        for stat in ("each",) if constant else ("first", "min", "median", "max", "mean"):
            first_anchor = anchor if stat in ("each", "first") else None
            out.append(
                row(name, title, OZ_VOTES, 89_000, "<= 89,000", issue_anchor=first_anchor, statistic=stat)
            )
    title = "transfer, each side delegates to another account"
    for stat in ("first", "min", "max", "mean"):
        out.append(row("transfer_via_delegates", title, OZ_VOTES, statistic=stat))
    title = "transfer, neither side delegates"
    out.append(
        row(
            "transfer_plain",
            title,
            OZ_PLAIN,
            34_491,
            "<= 34,491",
            issue_anchor=ISSUE_OZ["transfer_plain_erc20"],
        )
    )
    out.append(
        row(
            "transfer_plain",
            title,
            OZ_VOTES,
            34_491,
            "<= 34,491",
            issue_anchor=ISSUE_OZ["transfer_plain_votes"],
        )
    )
    out.append(
        row(
            "first_delegate",
            "first delegate (self, with balance)",
            OZ_VOTES,
            0.9 * oz_first("first_delegate"),
            "<= 0.9x OZ",
            issue_anchor=ISSUE_OZ["first_delegate"],
        )
    )
    out.append(row("delegate_change", "delegate change x -> y (with balance)", OZ_VOTES))
    title = "permit (fresh owner, nonce 0, fresh allowance)"
    out.append(
        row(
            "permit", title, OZ_VOTES, 1.0 * oz_first("permit"), "<= 1.0x OZ", issue_anchor=ISSUE_OZ["permit"]
        )
    )
    out.append(row("permit", title, OZ_PLAIN))
    for name, title in (
        ("approve", "approve (fresh allowance)"),
        ("transfer_from", "transferFrom, finite allowance, no delegates"),
    ):
        out.append(row(name, title, OZ_VOTES))
        out.append(row(name, title, OZ_PLAIN))
    for name, title in (
        ("mint", "mint to a non-delegating holder"),
        ("burn", "burn by a non-delegating holder"),
    ):
        for stat in ("min", "max", "mean"):
            out.append(row(name, title, OZ_VOTES, statistic=stat))
        out.append(row(name, title, OZ_PLAIN, statistic="mean"))
    return out


def main() -> int:
    baselines, ours = build_implementations()
    impls = [*baselines, *([ours] if ours else [])]
    results: Gas = {}
    states: States = {}
    with anvil(EVM_VERSION) as url:
        chain = Chain(url, ACTORS)
        addresses = {impl.label: measure(chain, impl, results, states) for impl in impls}
    if len(set(addresses.values())) != 1:
        raise BenchError(f"implementations were deployed at different addresses: {addresses}")
    check_same_state(states)

    report = Report(
        name="token_gas",
        script="bench/bench_token_gas.py",
        title="ClubToken vs OpenZeppelin 5: receipt gas per operation",
        ours_label=OURS,
        comparisons=compare(results, ours is not None),
        environment=environment(EVM_VERSION, [i.artifact for i in impls], SOURCES),
        runs={
            name: results[name]
            for name in (
                "transfer_delegated",
                "transfer_delegated_offset",
                "transfer_via_delegates",
                "mint",
                "burn",
            )
        },
        notes=NOTES + ([] if ours else [f"{CLUB_TOKEN.relative_to(REPO_ROOT)} does not exist yet: OZ only."]),
    )
    report.publish()
    return 0


NOTES = [
    paragraph(
        """
        Set-up (identical for every implementation): deploy, mint 1,000 CLUB to each of 9 holders; on the
        votes tokens delegator_a, delegator_b, delegate_x and delegate_y self-delegate, switcher delegates
        to delegate_x and follower to delegate_y. Every scenario then starts from a snapshot of that state;
        transfers, mints and burns move 1 CLUB, allowances are 1,000 CLUB, the permit is relayed by the
        spender. After each scenario the harness checks that all implementations agree on balances,
        allowances, delegates, current votes, and past votes and supply at the last two blocks.
        """
    ),
    paragraph(
        """
        Delegated transfers run 10 times in a row (a new block and timestamp each), so each transfer writes
        a new checkpoint for both delegates. OZ stores one checkpoint per slot, so every transfer costs the
        same. ClubToken (layout: contracts/modules/votes.vy) keeps each delegate's latest checkpoint in a
        vote-state word and moves the checkpoint it supersedes into a history packed two per slot, so every
        other push opens a fresh history slot (zero -> non-zero, 22,100 gas) and the pushes between write
        into the half-filled slot (5,000). 'same parity': delegator_a -> delegator_b, both starting with
        one checkpoint, so the first transfer opens a fresh slot for both (the expensive case) and the next
        one fills both (the cheap case), alternating. 'opposite parity': one unmeasured transfer first gives
        delegator_b a second checkpoint, so every transfer opens one slot and fills the other. Over a long
        run the mean, not the first transfer, is what holders pay. 'each side delegates to another
        account': switcher -> follower, whose votes sit with delegate_x and delegate_y (no target in the
        issue; shown because most holders of a governance token delegate to someone else).
        """
    ),
    paragraph(
        """
        Mints and burns write a total-supply checkpoint, packed the same way; four consecutive ones are
        shown. The OZ baselines mint after an immutable-address check, ClubToken after a MINTER_ROLE look-up
        (a cold SLOAD) and a cap check, so part of the mint difference is that extra check.
        """
    ),
    paragraph(
        """
        OZ baselines (bench/solidity) are minimal wrappers: ERC20 + ERC20Permit (+ ERC20Votes with a
        timestamp clock) + ERC20Burnable and a deployer-only mint. The plain ERC20+Permit transfer
        reproduces the issue's 34,491 exactly (with 1 CLUB = 1e18 wei moved). The ERC20Votes figures differ
        from the issue's by -214 to +59 gas (< 0.25 %): same hardfork (cancun) and every measured
        transaction starts cold, so the difference is the wrapper's selector dispatch (adding
        ERC20Burnable's burn/burnFrom alone moves a transfer by 45 gas; we need them to measure burn) and
        calldata: the author's accounts, amounts and, for permit, signature bytes (each zero byte costs 4
        gas, a non-zero byte 16).
        """
    ),
    paragraph(
        """
        Targets given as a ratio are applied to the OZ figure measured here, on the same EVM; 'vs issue's'
        is ClubToken divided by the issue author's OZ figure.
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main())
