"""`ape run governance ...` against an anvil the test starts: a full proposal lifecycle and a simulation.

One anvil on a free loopback port; `ape run deploy` writes its manifest to a temporary
directory; then the governance scripts delegate, propose `Emission.set_tip(5 CLUB)`, vote
(for / against / abstain from the three vesting beneficiaries), queue, execute and show the
status table, with the test moving the chain's clock between steps. `simulate` then runs
a second action on a snapshot and must leave the chain unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from clubchat.chain import load_manifest
from clubchat.chain.anvil import Anvil
from clubchat.governance.proposals import find_proposal, travel
from clubchat.params import WAD
from tests.utils.ape_cli import ApeChain, ape_run, deployed_anvil

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApeChain]:
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        yield deployed


def ape_gov(chain: ApeChain, *args: str, ok: bool = True) -> str:
    return ape_run(chain, "governance", *args, ok=ok)


def test_full_lifecycle(chain: tuple[Anvil, Web3, Path]) -> None:
    _, w3, out = chain
    manifest = load_manifest("local", directory=out)
    emission = manifest.contract(w3, "Emission")
    gov = manifest.contract(w3, "ClubGovernor")
    assert emission.functions.tip().call() == 10 * WAD

    assert "delegated the votes" in ape_gov(chain, "delegate", "--account", "TEST::1")
    text = ape_gov(
        chain,
        "propose",
        "--account",
        "TEST::1",
        "call",
        "Emission",
        "set_tip",
        "5CLUB",
        "-d",
        "Lower the keeper tip to 5 CLUB",
    )
    assert "proposed: Emission.set_tip(5000000000000000000)" in text
    assert "voting from 20" in text and "UTC (in 1 day; unix " in text
    pid_hex = next(line.split()[-1] for line in text.splitlines() if line.startswith("proposal id:"))
    pid = int(pid_hex, 16)
    assert gov.functions.state(pid).call() == 0  # Pending
    # Restricted to its proposer by default (nobody can copy it first and cancel it).
    record = find_proposal(w3, manifest, pid)
    assert record.spec.restricted_to == record.proposer
    assert record.spec.description.startswith("Lower the keeper tip to 5 CLUB\n\n#proposer=0x")
    assert f"only {record.proposer} can create this proposal" in text

    # A second live proposal and an unknown id end in one sentence with the governor's reason.
    second = ape_gov(
        chain, "propose", "--account", "TEST::1", "call", "Emission", "set_tip", "6CLUB", ok=False
    )
    assert "governor: proposer has a live proposal" in second and "Traceback" not in second
    unknown = ape_gov(chain, "vote", "0x1234", "for", "--account", "TEST::1", ok=False)
    assert "Error: the chain refused the call: governor: unknown proposal" in unknown
    assert "Traceback" not in unknown

    # Too early to vote: a clear one-sentence error, nothing sent.
    early = ape_gov(chain, "vote", pid_hex, "for", "--account", "TEST::1", ok=False)
    assert "votes are only accepted while Active; voting opens in" in early

    travel(w3, gov.functions.votingDelay().call() + 1)
    voted = ape_gov(chain, "vote", pid_hex, "for", "--reason", "tips are too high", "--account", "TEST::1")
    assert "voted for with 150,000,000 votes" in voted
    ape_gov(chain, "vote", pid_hex, "against", "--account", "TEST::2")
    ape_gov(chain, "vote", pid_hex, "abstain", "--account", "TEST::3")
    against, for_, abstain = gov.functions.proposalVotes(pid).call()
    assert (against, for_, abstain) == (120_000_000 * WAD, 150_000_000 * WAD, 130_000_000 * WAD)
    assert "has already voted" in ape_gov(chain, "vote", pid_hex, "for", "--account", "TEST::1", ok=False)
    # An account without votes at the snapshot is accepted by the governor but warned.
    powerless = ape_gov(chain, "vote", pid_hex, "for", "--account", "TEST::6")
    assert "voted for with 0 votes" in powerless
    assert "had no voting power at the proposal's snapshot, so this vote counts 0" in powerless
    assert "only a Succeeded proposal can be queued; voting ends in" in ape_gov(
        chain, "queue", pid_hex, ok=False
    )

    travel(w3, gov.functions.proposalDeadline(pid).call() - w3.eth.get_block("latest")["timestamp"] + 1)
    queued = ape_gov(chain, "queue", pid_hex, "--account", "TEST::4")
    assert "queued; executable from 20" in queued and " UTC (in 2 days; unix " in queued
    assert "the Timelock delay has not passed" in ape_gov(chain, "execute", pid_hex, ok=False)
    travel(w3, manifest.contract(w3, "Timelock").functions.get_minimum_delay().call())
    executed = ape_gov(chain, "execute", pid_hex, "--account", "TEST::5")
    assert "proposal is Executed" in executed
    assert emission.functions.tip().call() == 5 * WAD
    assert gov.functions.state(pid).call() == 7

    status = ape_gov(chain, "status")
    assert f"{pid_hex} Executed" in status
    assert "Lower the keeper tip" in status


def test_simulate_leaves_chain_unchanged(chain: tuple[Anvil, Web3, Path]) -> None:
    _, w3, out = chain
    manifest = load_manifest("local", directory=out)
    emission = manifest.contract(w3, "Emission")
    tip_before = emission.functions.tip().call()
    block_before = w3.eth.block_number
    text = ape_gov(chain, "simulate", "call", "Emission", "set_tip", "7CLUB")
    assert "final state: Executed" in text
    assert "Emission.tip()" in text and "7000000000000000000 (7 CLUB)" in text
    assert emission.functions.tip().call() == tip_before
    assert w3.eth.block_number == block_before
