"""clubchat.governance without a node: actions encoded from manifest ABIs, ids, argument parsing, checks."""

from __future__ import annotations

import boa
import pytest
from eth_utils import keccak

from clubchat.governance import actions as act
from clubchat.governance.proposals import GovernanceError, ProposalSpec, Support
from clubchat.governance.simulate import Check, derived_checks
from tests.utils.governance import FOR, Proposal, pass_and_queue


def test_call_encodes_with_abi_types(manifest, emission):
    a = act.call(manifest, "Emission", "set_tip", "5CLUB")
    assert a.target == emission.address
    assert a.calldata == emission.set_tip.prepare_calldata(5 * 10**18)
    assert a.summary == "Emission.set_tip(5000000000000000000)"


@pytest.mark.parametrize(
    ("abi_type", "text", "value"),
    [
        ("uint256", "1_000", 1000),
        ("uint256", "0x10", 16),
        ("uint256", "1e18", 10**18),
        ("uint256", "2.5CLUB", 25 * 10**17),
        ("uint256[]", "1,2,3", [1, 2, 3]),
        ("uint256[]", "[4, 5]", [4, 5]),
        ("bool", "true", True),
        ("bytes32", "0x" + "ab" * 32, b"\xab" * 32),
        ("string", "linux", "linux"),
    ],
)
def test_parse_arg(abi_type, text, value):
    assert act.parse_arg(abi_type, text) == value


@pytest.mark.parametrize(
    ("abi_type", "text", "message"),
    [
        ("uint256", "ten", "is not a number"),
        ("uint256", "1.5", "is not a whole number"),
        ("address", "0x123", "is not an address"),
        ("bool", "maybe", "is not a bool"),
        ("bytes32", "0xabcd", "has 2 bytes, bytes32 needs 32"),
    ],
)
def test_parse_arg_errors(abi_type, text, message):
    with pytest.raises(act.ActionError, match=message):
        act.parse_arg(abi_type, text)


def test_unknown_contract_function_and_arity(manifest):
    with pytest.raises(act.ActionError, match="no contract 'Nope'"):
        act.call(manifest, "Nope", "x")
    with pytest.raises(act.ActionError, match="Emission has no function 'set_tipp'; state-changing ones:"):
        act.call(manifest, "Emission", "set_tipp", "1")
    with pytest.raises(act.ActionError, match="takes 1 arguments, got 2"):
        act.call(manifest, "Emission", "set_tip", "1", "2")


def test_from_words_kinds(manifest, releases, token, alice):
    digest = "0x" + keccak(text="build").hex()
    grant = act.from_words(manifest, ["grant-role", "Emission", "PARAMETER_ROLE", alice])
    assert grant.calldata[:4] == keccak(text="grantRole(bytes32,address)")[:4]
    assert grant.calldata[4:36] == keccak(text="PARAMETER_ROLE")
    rel = act.from_words(manifest, ["release", "linux", "1.0.0", digest, "ipfs://x"])
    assert rel.target == releases.address
    assert rel.calldata == releases.publish.prepare_calldata(
        "linux", "1.0.0", bytes.fromhex(digest[2:]), "ipfs://x"
    )
    pay = act.from_words(manifest, ["transfer", alice, "2500CLUB"])
    assert pay.calldata == token.transfer.prepare_calldata(alice, 2500 * 10**18)
    eth = act.from_words(manifest, ["transfer-eth", alice, "1e18"])
    assert (eth.target, eth.value, eth.calldata) == (alice, 10**18, b"")
    raw = act.from_words(manifest, ["raw", alice, "0x1234", "7"])
    assert (raw.value, raw.calldata) == (7, b"\x12\x34")
    assert act.role_id("DEFAULT_ADMIN_ROLE") == b"\x00" * 32
    with pytest.raises(act.ActionError, match="usage: release"):
        act.from_words(manifest, ["release", "linux"])
    with pytest.raises(act.ActionError, match="unknown action 'frobnicate'"):
        act.from_words(manifest, ["frobnicate"])
    with pytest.raises(act.ActionError, match="name an action"):
        act.from_words(manifest, [])


def test_spec_runs_on_the_governor(manifest, governor, emission, voters, params):
    """A ProposalSpec built by the package has the governor's id and executes as intended."""
    spec = ProposalSpec((act.call(manifest, "Emission", "set_tip", "3CLUB"),), "package-built")
    assert spec.id == governor.hashProposal(spec.targets, spec.values, spec.calldatas, spec.description_hash)
    p = Proposal(spec.targets, spec.values, spec.calldatas, spec.description)
    pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    governor.execute(*p.args())
    assert emission.tip() == 3 * 10**18
    assert FOR == Support.FOR


def test_derived_checks(manifest):
    spec = ProposalSpec(
        (
            act.call(manifest, "Emission", "set_tip", "1"),
            act.call(manifest, "ClubGovernor", "setVotingDelay", "60"),
            act.from_words(manifest, ["transfer", "0x" + "11" * 20, "1"]),
        ),
        "x",
    )
    assert derived_checks(manifest, spec) == [Check("Emission", "tip"), Check("ClubGovernor", "votingDelay")]


def test_support_parse():
    assert Support.parse(" For ") == Support.FOR
    with pytest.raises(GovernanceError, match="use for, against or abstain"):
        Support.parse("yes")
