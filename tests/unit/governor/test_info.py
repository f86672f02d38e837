"""ClubGovernor read-only surface: OZ-compatible metadata, hashProposal, ERC-165, clock, quorum."""

from __future__ import annotations

import boa
from eth_utils import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.utils.governance import proposal_id


def test_metadata(governor, token, timelock, params):
    assert governor.name() == "ClubGovernor"
    assert governor.version() == "1"
    assert governor.COUNTING_MODE() == "support=bravo&quorum=for,abstain"
    assert governor.CLOCK_MODE() == "mode=timestamp"
    assert governor.clock() == boa.env.evm.patch.timestamp == token.clock()
    assert governor.token() == token.address
    assert governor.timelock() == timelock.address
    assert governor.quorumDenominator() == params.governance.quorum_denominator
    assert governor.quorumNumerator() == params.governance.quorum_numerator
    assert governor.GRACE_PERIOD() == params.governance.grace_period_seconds == timelock.GRACE_PERIOD()
    assert governor.proposalNeedsQueuing(1)
    assert governor.BALLOT_TYPEHASH() == keccak(
        text="Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"
    )


def test_supports_interface(governor):
    assert governor.supportsInterface(bytes.fromhex("01ffc9a7"))  # ERC-165
    assert governor.supportsInterface(bytes.fromhex("65455a86"))  # OZ 5.1 IGovernor
    assert not governor.supportsInterface(bytes.fromhex("ffffffff"))


def test_unknown_proposal_views_are_zero(governor):
    assert governor.proposalSnapshot(1) == 0
    assert governor.proposalDeadline(1) == 0
    assert governor.proposalProposer(1) == "0x0000000000000000000000000000000000000000"
    assert governor.proposalEta(1) == 0


def test_quorum_and_votes_read_the_token(governor, token, voters):
    t = boa.env.evm.patch.timestamp - 1
    assert governor.quorum(t) == token.getPastTotalSupply(t) * 4 // 100
    assert governor.getVotes(voters["alice"], t) == token.getPastVotes(voters["alice"], t)
    assert governor.getVotesWithParams(voters["alice"], t, b"x") == token.getPastVotes(voters["alice"], t)


addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(
    actions=st.lists(
        st.tuples(addresses, st.integers(0, 2**256 - 1), st.binary(max_size=300)), min_size=1, max_size=16
    ),
    description_hash=st.binary(min_size=32, max_size=32),
)
def test_hash_proposal_matches_oz_encoding(governor, actions, description_hash):
    """hashProposal equals keccak256(abi.encode(targets, values, calldatas, descriptionHash)) in Python."""
    targets = [a[0] for a in actions]
    values = [a[1] for a in actions]
    calldatas = [a[2] for a in actions]
    assert governor.hashProposal(targets, values, calldatas, description_hash) == proposal_id(
        targets, values, calldatas, description_hash
    )


def test_hash_proposal_known_vector(governor):
    """A fixed vector, so a change in the Python helper cannot hide a change in the contract."""
    targets = ["0x" + "11" * 20]
    got = governor.hashProposal(targets, [0], [b"\x12\x34"], b"\x00" * 32)
    encoded = (
        (0x80).to_bytes(32, "big")  # offset of targets
        + (0xC0).to_bytes(32, "big")  # offset of values
        + (0x100).to_bytes(32, "big")  # offset of calldatas
        + b"\x00" * 32  # description hash
        + (1).to_bytes(32, "big")
        + bytes.fromhex("00" * 12 + "11" * 20)
        + (1).to_bytes(32, "big")
        + (0).to_bytes(32, "big")
        + (1).to_bytes(32, "big")  # calldatas length
        + (0x20).to_bytes(32, "big")  # offset of element 0
        + (2).to_bytes(32, "big")
        + bytes.fromhex("1234")
        + b"\x00" * 30
    )
    assert got == int.from_bytes(keccak(encoded), "big")
