"""prove_equivocation: slash + jail + reporter share + burn for a fork, and every refusal."""

from __future__ import annotations

import boa
import pytest
from eth_utils import to_checksum_address

from clubchat.chain.eip712 import SECP256K1_N
from clubchat.protocol.log_entry import LogEntry, log_domain, sign_log_entry
from tests.utils.disputes import (
    commit_fork,
    commitment,
    committed_fork,
    entry,
    events,
    evidence_id,
    fork,
    next_block,
    prove,
    sign,
)
from tests.utils.registry import now
from tests.utils.signing import named_signer

WAD = 10**18


def _pool(directory, registry, node) -> int:
    n = directory.nodes(node)
    return n.bonded_assets + n.unbonding_assets


def test_fork_slashes_jails_pays_reporter_and_burns(directory, disputes, registry, token, target, reporter):
    a, sa, b, sb = committed_fork(disputes, target, reporter)
    p = disputes.parameters()
    pool = _pool(directory, registry, target.operator)
    supply = token.totalSupply()
    cut = prove(disputes, reporter, a, sa, b, sb)
    assert cut == (pool * p.equivocation_fraction + WAD - 1) // WAD  # rounds up, as NodeRegistry.slash
    assert _pool(directory, registry, target.operator) == pool - cut
    to_reporter = cut * p.reporter_share // WAD
    assert token.balanceOf(reporter) == to_reporter
    assert token.totalSupply() == supply - (cut - to_reporter)
    n = directory.nodes(target.operator)
    assert n.jailed and n.jailed_until == now() + p.jail_base_seconds and n.weight == 0
    ev = events(disputes, "EquivocationProven")[-1]
    eid = evidence_id(a.node, a.room, a.seq)
    assert (ev.node, ev.reporter, ev.evidence_id, ev.room, ev.seq, ev.cut, ev.jailed_until) == (
        target.operator,
        reporter,
        eid,
        a.room,
        a.seq,
        cut,
        n.jailed_until,
    )
    assert disputes.proven(eid) and disputes.offences(target.operator) == 1
    # The commitment is used up.
    assert disputes.commitment_of(commitment(eid, reporter, b"\x07" * 32)) == (0, 0)
    assert disputes.evidence_id(a.node, a.room, a.seq) == eid


def test_unbonding_stake_is_slashed_too(directory, disputes, registry, target, reporter, params):
    with boa.env.prank(target.operator):
        registry.unbond(target.operator, directory.shares(target.operator, target.operator) // 2)
    waiting = directory.nodes(target.operator).unbonding_assets
    a, sa, b, sb = committed_fork(disputes, target, reporter)
    prove(disputes, reporter, a, sa, b, sb)
    assert directory.nodes(target.operator).unbonding_assets == waiting - (waiting + 9) // 10


def test_digest_matches_the_python_definition(disputes, target):
    e = entry(target.operator, seq=5)
    domain = log_domain(int(disputes.eip712Domain()[3]), str(disputes.address))
    assert disputes.entry_digest(e.as_tuple()) == e.digest(domain)
    assert disputes.domain_separator() == domain.separator()


def test_graduated_jail(directory, disputes, registry, target, reporter):
    p = disputes.parameters()
    for i, seq in enumerate((1, 2, 3)):
        a, sa, b, sb = fork(disputes, target, seq=seq)
        commit_fork(disputes, reporter, a)
        next_block()
        prove(disputes, reporter, a, sa, b, sb)
        assert directory.nodes(target.operator).jailed_until == now() + min(
            p.jail_base_seconds << i, p.jail_max_seconds
        )
    assert disputes.offences(target.operator) == 3


def test_second_proof_of_the_same_fork(disputes, target, reporter, non_admin):
    a, sa, b, sb = fork(disputes, target)
    commit_fork(disputes, reporter, a)
    commit_fork(disputes, non_admin, a, salt=b"\x08" * 32)
    next_block()
    prove(disputes, reporter, a, sa, b, sb)
    with boa.reverts("disputes: already proven"):
        prove(disputes, non_admin, a, sa, b, sb, salt=b"\x08" * 32)
    # A third entry at the same place is the same (node, room, seq): slashed once.
    c = entry(target.operator, seq=1, body=b"\xcc" * 32)
    with boa.reverts("disputes: already proven"):
        prove(disputes, non_admin, a, sa, c, sign(disputes, target.key, c), salt=b"\x08" * 32)


def test_front_running_copy_earns_nothing(disputes, token, target, reporter, non_admin):
    a, sa, b, sb = committed_fork(disputes, target, reporter)
    # The attacker copies the reveal from the mempool: its own address has no commitment.
    with boa.reverts("disputes: no commitment"):
        prove(disputes, non_admin, a, sa, b, sb)
    # Committing now does not help: it must reveal in a later block, after the reporter's reveal.
    commit_fork(disputes, non_admin, a)
    with boa.reverts("disputes: reveal in the commit block"):
        prove(disputes, non_admin, a, sa, b, sb)
    prove(disputes, reporter, a, sa, b, sb)
    next_block()
    with boa.reverts("disputes: already proven"):
        prove(disputes, non_admin, a, sa, b, sb)
    assert token.balanceOf(non_admin) == 0 and token.balanceOf(reporter) > 0


def test_reveal_in_the_commit_block(disputes, target, reporter):
    a, sa, b, sb = fork(disputes, target)
    commit_fork(disputes, reporter, a)
    with boa.reverts("disputes: reveal in the commit block"):
        prove(disputes, reporter, a, sa, b, sb)


def test_reveal_without_commit(disputes, target, reporter):
    a, sa, b, sb = fork(disputes, target)
    with boa.reverts("disputes: no commitment"):
        prove(disputes, reporter, a, sa, b, sb)
    # A commitment with another salt is not this one.
    commit_fork(disputes, reporter, a, salt=b"\x01" * 32)
    next_block()
    with boa.reverts("disputes: no commitment"):
        prove(disputes, reporter, a, sa, b, sb)


def test_commitment_expires(disputes, target, reporter):
    a, sa, b, sb = fork(disputes, target)
    commit_fork(disputes, reporter, a)
    boa.env.time_travel(seconds=disputes.parameters().reveal_window_seconds + 12)
    with boa.reverts("disputes: commitment expired"):
        prove(disputes, reporter, a, sa, b, sb)


def test_same_struct_hash_twice(disputes, target, reporter):
    a, sa, _, _ = committed_fork(disputes, target, reporter)
    with boa.reverts("disputes: same entry"):
        prove(disputes, reporter, a, sa, a, sa)


@pytest.mark.parametrize("field", ["node", "room", "seq"])
def test_entries_of_different_places(disputes, target, network, reporter, field):
    a, sa, b, _ = fork(disputes, target)
    changes = {"node": {"node": network[1].operator}, "room": {"room": b"\x05" * 32}, "seq": {"seq": 2}}
    other = LogEntry(**{**b.__dict__, **changes[field]})
    commit_fork(disputes, reporter, a)
    next_block()
    with boa.reverts("disputes: not the same place"):
        prove(disputes, reporter, a, sa, other, sign(disputes, target.key, other))


def _signed_in(domain_chain: int, domain_contract: str, key, e: LogEntry) -> bytes:
    return sign_log_entry(bytes(key.key), log_domain(domain_chain, domain_contract), e).packed()


@pytest.mark.parametrize("wrong", ["contract", "chain"])
def test_wrong_domain_or_chain_id(disputes, registry, target, reporter, wrong):
    a, sa, b, _ = fork(disputes, target)
    chain = int(disputes.eip712Domain()[3])
    if wrong == "contract":
        sb = _signed_in(chain, str(registry.address), target.key, b)
    else:
        sb = _signed_in(chain + 1, str(disputes.address), target.key, b)
    commit_fork(disputes, reporter, a)
    next_block()
    # The digest differs, so the recovered signer is some unrelated address.
    with boa.reverts("disputes: not the node's key"):
        prove(disputes, reporter, a, sa, b, sb)


def test_high_s_is_refused(disputes, target, reporter):
    a, sa, b, sb = fork(disputes, target)
    s = int.from_bytes(sb[32:64], "big")
    twin = sb[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sb[64]])
    commit_fork(disputes, reporter, a)
    next_block()
    with boa.reverts("ecdsa: invalid signature `s` value"):
        prove(disputes, reporter, a, sa, b, twin)


def test_compact_or_short_signature_is_refused(disputes, target, reporter):
    a, sa, b, sb = committed_fork(disputes, target, reporter)
    with boa.reverts("disputes: signature not 65 bytes"):
        prove(disputes, reporter, a, sa, b, sb[:64])


def test_unregistered_key(disputes, target, reporter):
    stranger = named_signer("stranger")
    a, sa, b, _ = committed_fork(disputes, target, reporter)
    with boa.reverts("disputes: not the node's key"):
        prove(disputes, reporter, a, sa, b, sign(disputes, stranger, b))


def test_another_nodes_key(disputes, target, network, reporter):
    a, sa, b, _ = committed_fork(disputes, target, reporter)
    with boa.reverts("disputes: not the node's key"):
        prove(disputes, reporter, a, sa, b, sign(disputes, network[1].key, b))


def test_stale_entry(disputes, target, reporter):
    window = disputes.parameters().evidence_window_seconds
    old = now() - window - 1
    a = entry(target.operator, body=b"\xaa" * 32, time=old)
    b = entry(target.operator, body=b"\xbb" * 32)
    commit_fork(disputes, reporter, a)
    next_block()
    with boa.reverts("disputes: stale entry"):
        prove(disputes, reporter, a, sign(disputes, target.key, a), b, sign(disputes, target.key, b))


def test_rotated_key_still_counts_within_unbonding(disputes, registry, target, reporter):
    new_key = named_signer("rotated-key")
    a, sa, _, _ = fork(disputes, target)
    with boa.env.prank(to_checksum_address(new_key.address)):
        registry.approve_operator(target.operator)
    with boa.env.prank(target.operator):
        registry.set_node_key(to_checksum_address(new_key.address))
    # One entry by the old key, one by the new: both the node's.
    b = entry(target.operator, body=b"\xdd" * 32)
    commit_fork(disputes, reporter, a)
    next_block()
    assert prove(disputes, reporter, a, sa, b, sign(disputes, new_key, b)) > 0


def test_key_retired_longer_than_unbonding_ago(disputes, registry, target, reporter, params):
    old_key = target.key
    with boa.env.prank(to_checksum_address(named_signer("rotated-key").address)):
        registry.approve_operator(target.operator)
    with boa.env.prank(target.operator):
        registry.set_node_key(to_checksum_address(named_signer("rotated-key").address))
    boa.env.time_travel(seconds=registry.unbonding_seconds() + 12)
    # Fresh entries (inside the evidence window) signed with the long-retired key.
    a = entry(target.operator, body=b"\xaa" * 32)
    b = entry(target.operator, body=b"\xbb" * 32)
    commit_fork(disputes, reporter, a)
    next_block()
    with boa.reverts("disputes: key retired too long ago"):
        prove(disputes, reporter, a, sign(disputes, old_key, a), b, sign(disputes, old_key, b))


def test_leaving_the_registry_does_not_escape_a_fork_proof(directory, disputes, registry, target, reporter):
    # The attacker forks a room, unbonds everything and deregisters at once: its unbonding entries
    # are still waiting, its key is retired (not released) and the proof still slashes and jails.
    with boa.env.prank(target.operator):
        registry.unbond(target.operator, directory.shares(target.operator, target.operator))
        registry.deregister()
    assert registry.key_record(target.key.address) == (target.operator, now())
    waiting = directory.nodes(target.operator).unbonding_assets
    assert waiting > 0
    a, sa, b, sb = committed_fork(disputes, target, reporter)
    cut = prove(disputes, reporter, a, sa, b, sb)
    assert cut == (waiting + 9) // 10
    assert directory.nodes(target.operator).unbonding_assets == waiting - cut
    assert directory.nodes(target.operator).jailed
