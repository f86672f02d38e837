"""clubchat.governance.proposals: the `#proposer=` suffix that stops a copied proposal (finding 8)."""

from __future__ import annotations

import boa
import pytest

from clubchat.governance import actions as act
from clubchat.governance.proposals import (
    GovernanceError,
    ProposalSpec,
    proposer_in_suffix,
    with_proposer_suffix,
)
from tests.utils.governance import CANCELED, PENDING, Proposal, events

ALICE = "0x00000000000000000000000000000000000A11cE"


def test_suffix_is_the_governors_52_byte_tail():
    text = with_proposer_suffix("Lower the tip", ALICE)
    assert text == "Lower the tip\n\n#proposer=" + ALICE.lower()
    assert len(text.encode()[-52:]) == 52 and text.encode()[-52:].startswith(b"#proposer=0x")
    assert proposer_in_suffix(text) == ALICE
    assert with_proposer_suffix(text, ALICE.lower()) == text  # already restricted to ALICE: unchanged


def test_suffix_for_another_proposer_is_refused():
    text = with_proposer_suffix("Lower the tip", ALICE)
    other = "0x" + "22" * 20
    with pytest.raises(GovernanceError, match=f"restricted to {ALICE}"):
        with_proposer_suffix(text, other)


@pytest.mark.parametrize(
    "text",
    ["plain text", "#proposer=0x" + "g" * 40, "x" * 60, "#proposer=" + "1" * 42, "#proposer=0x" + "1" * 39],
)
def test_text_without_a_valid_suffix_is_unrestricted(text):
    assert proposer_in_suffix(text) is None


def test_copied_proposal_is_refused(manifest, governor, emission, voters):
    """The library's spec can only be created by its proposer; a copier gets another id and no block."""
    victim, griefer = voters["carol"], voters["bob"]
    base = ProposalSpec((act.call(manifest, "Emission", "set_tip", "5CLUB"),), "Lower the keeper tip")
    spec = base.for_proposer(victim)
    assert spec.restricted_to == victim and base.restricted_to is None
    p = Proposal(spec.targets, spec.values, spec.calldatas, spec.description)
    # The griefer copies the victim's transaction from the mempool: refused.
    with boa.env.prank(griefer), boa.reverts("governor: restricted proposer"):
        governor.propose(spec.targets, spec.values, spec.calldatas, spec.description)
    # The griefer's own restricted copy is another proposal; cancelling it blocks nothing.
    copy = base.for_proposer(griefer)
    assert copy.id != spec.id
    with boa.env.prank(griefer):
        assert governor.propose(copy.targets, copy.values, copy.calldatas, copy.description) == copy.id
        governor.cancel(copy.targets, copy.values, copy.calldatas, copy.description_hash)
    assert governor.state(copy.id) == CANCELED
    with boa.env.prank(victim):
        assert governor.propose(*p.args()[:3], p.description) == spec.id
    (ev,) = events(governor, "ProposalCreated")
    assert ev.description.endswith("#proposer=" + victim.lower())
    assert governor.state(spec.id) == PENDING
