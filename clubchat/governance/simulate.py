"""Dry-run a proposal's whole lifecycle on a throw-away chain before anything is sent for real.

Curve's vote-simulation practice: on an anvil fork of the target network (or a snapshot of a
local anvil, reverted afterwards), impersonate the largest delegates, propose, vote For
until the proposal passes, travel through the voting period and the Timelock delay,
execute, and show the state that changed. Nothing persists: a fork is thrown away, a
local chain is reverted to its snapshot.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from clubchat.chain.anvil import anvil_binary, free_port, is_listening
from clubchat.chain.manifest import Manifest
from clubchat.chain.rpc import connect
from clubchat.chain.tx import Web3Sender
from clubchat.governance.proposals import (
    ACTIVE,
    PENDING,
    QUEUED,
    STATE_NAMES,
    SUCCEEDED,
    GovernanceError,
    ProposalSpec,
    Support,
    execute,
    governor,
    propose,
    queue,
    travel,
    vote,
)
from clubchat.timefmt import when


@dataclass(frozen=True)
class Check:
    """A view to read before and after: `Contract.function(args...)`."""

    contract: str
    function: str
    args: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        inner = ", ".join(str(a) for a in self.args)
        return f"{self.contract}.{self.function}({inner})"


@dataclass
class SimulationReport:
    """What happened: each step, the final state and the checked values before/after."""

    proposal_id: int = 0
    steps: list[tuple[str, str]] = field(default_factory=list)
    final_state: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def executed(self) -> bool:
        return self.final_state == "Executed"


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in response:
        raise GovernanceError(f"{method} failed ({response['error']}); simulation needs an anvil node")
    return response.get("result")


def derived_checks(manifest: Manifest, spec: ProposalSpec) -> list[Check]:
    """For each `set_x`/`setX` call to a manifest contract, the getter `x` when it exists."""
    by_address = {r.address.lower(): name for name, r in manifest.contracts.items()}
    checks: list[Check] = []
    for action in spec.actions:
        name = by_address.get(action.target.lower())
        if name is None or len(action.calldata) < 4:
            continue
        abi = manifest.contracts[name].abi
        handle = Web3().eth.contract(abi=abi)
        try:
            fn, _ = handle.decode_function_input(action.calldata)
        except ValueError:
            continue
        fname = fn.fn_name
        getter = ""
        if fname.startswith("set_"):
            getter = fname[4:]
        elif fname.startswith("set") and len(fname) > 3:
            getter = fname[3].lower() + fname[4:]
        views = {e["name"] for e in abi if e.get("type") == "function" and not e.get("inputs")}
        if getter in views:
            checks.append(Check(name, getter))
    return checks


def _read(w3: Web3, manifest: Manifest, check: Check) -> Any:
    return getattr(manifest.contract(w3, check.contract).functions, check.function)(*check.args).call()


def top_delegates(w3: Web3, manifest: Manifest, limit: int = 20) -> list[tuple[str, int]]:
    """The accounts with the most current votes, from the token's DelegateVotesChanged logs."""
    token = manifest.contract(w3, "ClubToken")
    start = manifest.contracts["ClubToken"].block
    seen = {
        str(to_checksum_address(log["args"]["delegate"]))
        for log in token.events.DelegateVotesChanged().get_logs(from_block=start)
    }
    votes = [(a, int(token.functions.getVotes(a).call())) for a in seen]
    votes = [(a, v) for a, v in votes if v > 0]
    return sorted(votes, key=lambda x: -x[1])[:limit]


def _impersonate(w3: Web3, address: str) -> Web3Sender:
    _rpc(w3, "anvil_impersonateAccount", address)
    _rpc(w3, "anvil_setBalance", address, hex(10**20))
    return Web3Sender(w3, address)


def run_simulation(
    w3: Web3, manifest: Manifest, spec: ProposalSpec, checks: list[Check] | None = None
) -> SimulationReport:
    """Propose, vote, queue and execute `spec` with impersonated delegates on `w3` (an anvil)."""
    gov = governor(w3, manifest)
    checks = list(checks or []) or derived_checks(manifest, spec)
    before = [_read(w3, manifest, c) for c in checks]
    holders = top_delegates(w3, manifest)
    if not holders:
        raise GovernanceError("nobody has delegated CLUB votes on this chain; delegate first")
    now = int(w3.eth.get_block("latest")["timestamp"])
    threshold = int(gov.functions.proposalThreshold().call())
    live = (PENDING, ACTIVE, SUCCEEDED, QUEUED)

    def can_propose(address: str) -> bool:
        if int(gov.functions.getVotes(address, now - 1).call()) < threshold:
            return False
        latest = int(gov.functions.latestProposalId(address).call())
        return latest == 0 or int(gov.functions.state(latest).call()) not in live

    proposer = next((a for a, _ in holders if can_propose(a)), None)
    if proposer is None:
        raise GovernanceError(
            "no delegate above the proposal threshold is free to propose (one live proposal each); "
            "delegate CLUB to another account"
        )
    # Restricted to the proposer, as `propose` does by default: the id includes the suffix.
    spec = spec.for_proposer(proposer)
    report = SimulationReport(proposal_id=spec.id)
    propose(w3, manifest, _impersonate(w3, proposer), spec)
    report.steps.append(("propose", f"by {proposer} (largest delegate free to propose)"))
    travel(w3, int(gov.functions.votingDelay().call()) + 1)
    snapshot = int(gov.functions.proposalSnapshot(spec.id).call())
    quorum = int(gov.functions.quorum(snapshot).call())
    counted = 0
    for address, _ in holders:
        weight = vote(w3, manifest, _impersonate(w3, address), spec.id, Support.FOR, "simulation")
        counted += weight
        report.steps.append(("vote For", f"{address} with {weight / 1e18:,.0f} votes"))
        if counted >= quorum:
            break
    if counted < quorum:
        raise GovernanceError(f"all delegates together ({counted / 1e18:,.0f}) stay below quorum")
    deadline = int(gov.functions.proposalDeadline(spec.id).call())
    travel(w3, deadline - int(w3.eth.get_block("latest")["timestamp"]) + 1)
    keeper = _impersonate(w3, holders[0][0])
    eta = queue(w3, manifest, keeper, spec.id)
    report.steps.append(("queue", f"eta {when(eta, int(w3.eth.get_block('latest')['timestamp']))}"))
    travel(w3, eta - int(w3.eth.get_block("latest")["timestamp"]))
    value = sum(spec.values)
    execute(w3, manifest, keeper, spec.id, value=value)
    report.steps.append(("execute", "through the Timelock"))
    report.final_state = STATE_NAMES[int(gov.functions.state(spec.id).call())]
    report.changes = [(c.label, b, _read(w3, manifest, c)) for c, b in zip(checks, before, strict=True)]
    return report


def simulate_on(
    w3: Web3, manifest: Manifest, spec: ProposalSpec, checks: list[Check] | None = None
) -> SimulationReport:
    """Run the simulation inside an anvil snapshot and revert it, leaving the chain as it was."""
    snap = _rpc(w3, "evm_snapshot")
    try:
        return run_simulation(w3, manifest, spec, checks)
    finally:
        _rpc(w3, "evm_revert", snap)


@contextmanager
def forked_anvil(fork_url: str) -> Iterator[Web3]:
    """A private anvil forking `fork_url` on a free loopback port, stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [str(anvil_binary()), "--fork-url", fork_url, "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not is_listening("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise GovernanceError(f"anvil could not fork {fork_url}; check the RPC URL")
            time.sleep(0.2)
        yield connect(f"http://127.0.0.1:{port}", timeout=60)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
