"""`ape run communities ...` and `ape run disputes ...` against an anvil the test starts, as a scripted
admin or flagger would use them. Communities: create (the creation fee burns), add, info, an invite
voucher signed by the ape account and redeemed with `club community join`, ban, remove; a non-admin's
invite is refused in one sentence. Disputes: status of a dispute that does not exist, a flag against
an address that is no node and a flag against oneself, each refused in one sentence before any
transaction (the bond's approve included); a flag with `--attach --peer` writes the history evidence
and the account's signed grant to read the room, and flags with the file's URI."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak

from clubchat.chain import load_manifest
from clubchat.chain.eip712 import Signature
from clubchat.chain.tx import LocalSender, send_call
from clubchat.cli import main
from clubchat.client.history import Evidence, HistoryStore, SignedEntry
from clubchat.disputes import evidence as ev
from clubchat.protocol.history_grant import ANYONE, HistoryGrant, eoa_signer, grant_domain
from clubchat.protocol.log_entry import LogEntry, direct_room, log_domain, log_entry_signer, sign_log_entry
from tests.utils.ape_cli import ApeChain, ape_run, deployed_anvil

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ADMIN_INDEX = 3  # TEST::3: anvil and ape derive their test accounts from the same mnemonic
OTHER_INDEX = 4
NODE_INDEX = 5  # the flagged relay's operator
FLAGGER_INDEX = 6


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApeChain]:
    with deployed_anvil(tmp_path_factory.mktemp("deployments")) as deployed:
        yield deployed


def _as(index: int) -> tuple[str, str]:
    return ("--account", f"TEST::{index}")


def test_a_scripted_admin_runs_a_community(chain: ApeChain, tmp_path: Path) -> None:
    node, w3, out = chain
    manifest = load_manifest("local", directory=out)
    token, communities = manifest.contract(w3, "ClubToken"), manifest.contract(w3, "Communities")
    admin = str(w3.eth.accounts[ADMIN_INDEX])
    fee = int(communities.functions.creation_fee().call())
    ape_run(chain, "local", "fund", admin, "--club", str(fee // 10**18 + 1))
    supply = int(token.functions.totalSupply().call())

    created = ape_run(
        chain, "communities", "create", "--policy", "invite", "--account", f"TEST::{ADMIN_INDEX}"
    )
    cid = int(re.search(r"community (\d+) created \(invite\)", created).group(1))  # type: ignore[union-attr]
    assert int(token.functions.totalSupply().call()) == supply - fee  # the fee burnt
    member = Account.create().address
    added = ape_run(chain, "communities", "add", str(cid), member, *_as(ADMIN_INDEX))
    assert "added 1 member(s) in 1 transaction(s)" in added

    invitee = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": invitee.address, "value": 10**18})
    voucher = tmp_path / "voucher.json"
    signed = ape_run(
        chain, "communities", "invite", str(cid), invitee.address, "--out", str(voucher),
        *_as(ADMIN_INDEX),
    )  # fmt: skip
    assert f"voucher for {invitee.address} (nonce 1) written to {voucher}" in signed
    data = json.loads(voucher.read_text())
    assert (data["signer"], data["community_id"], data["invitee"]) == (admin, cid, invitee.address)
    joined = CliRunner().invoke(
        main,
        ["community", "join", str(cid), "--voucher", str(voucher), "--rpc-url", node.url,
         "--network", str(out / "local.json"), "--key", invitee.key.hex()],
    )  # fmt: skip
    assert joined.exit_code == 0, joined.output
    assert communities.functions.is_member(cid, invitee.address).call() is True

    refused = ape_run(
        chain,
        "communities",
        "invite",
        str(cid),
        invitee.address,
        "--account",
        f"TEST::{OTHER_INDEX}",
        ok=False,
    )
    assert f"is neither the owner nor an admin of community {cid}" in refused and "Traceback" not in refused

    info = ape_run(chain, "communities", "info", str(cid), "--of", invitee.address)
    assert f"community {cid}: invite, owner {admin}, 2 member(s)" in info
    assert f"{invitee.address}: member True" in info
    assert "banned" in ape_run(
        chain, "communities", "ban", str(cid), member, "--account", f"TEST::{ADMIN_INDEX}"
    )
    assert communities.functions.is_banned(cid, member).call() is True
    ape_run(chain, "communities", "remove", str(cid), invitee.address, *_as(ADMIN_INDEX))
    assert communities.functions.is_member(cid, invitee.address).call() is False
    assert f"community {cid}: invite, owner {admin}, 0 member(s)" in ape_run(
        chain, "communities", "info", str(cid)
    )


def test_disputes_script_refuses_in_one_sentence(chain: ApeChain) -> None:
    _, w3, _ = chain
    flagger = str(w3.eth.accounts[OTHER_INDEX])
    missing = ape_run(chain, "disputes", "status", "7", ok=False)
    assert "there is no dispute 7 (ids start at 1)" in missing and "Traceback" not in missing
    stranger = Account.create().address
    flag = ("flag", stranger, "--reason", "offline", "--evidence", "ipfs://x", *_as(OTHER_INDEX))
    nonce = w3.eth.get_transaction_count(flagger)
    refused = ape_run(chain, "disputes", *flag, ok=False)
    assert f"{stranger} is not a registered node; nothing to flag" in refused and "Traceback" not in refused
    own = ("flag", flagger, "--reason", "offline", "--evidence", "ipfs://x", *_as(OTHER_INDEX))
    assert "you cannot flag yourself" in ape_run(chain, "disputes", *own, ok=False)
    assert w3.eth.get_transaction_count(flagger) == nonce


def test_a_scripted_flagger_attaches_history_evidence_with_its_grant(chain: ApeChain, tmp_path: Path) -> None:
    """`ape run disputes flag --attach --peer`: the same evidence file as `club dispute flag --attach`
    (the latest refusal in the history store), with the ape account's EIP-712 grant to read the room;
    the flag names the file's URI."""
    _, w3, out = chain
    manifest = load_manifest("local", directory=out)
    registry, disputes = manifest.contract(w3, "NodeRegistry"), manifest.contract(w3, "Disputes")
    operator, flagger = str(w3.eth.accounts[NODE_INDEX]), str(w3.eth.accounts[FLAGGER_INDEX])
    node_key = Account.create()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": node_key.address, "value": 10**18})
    send_call(LocalSender(w3, node_key), registry.functions.approve_operator(operator))
    ape_run(chain, "local", "fund", operator, "--club", "20000")
    ape_run(chain, "local", "fund", flagger, "--club", "1000")
    ape_run(
        chain, "nodes", "register", "--kinds", "relay", "--node-key-address", node_key.address,
        "--relay-uri", "wss://relay.example", "--stake", "20000", *_as(NODE_INDEX),
    )  # fmt: skip

    # The flagger's history store: the relay signed entry 3 of its room with `peer` and, asked for
    # entries 1-2, produced neither (a refusal, kept as the client keeps it).
    peer = Account.create().address
    domain = log_domain(int(w3.eth.chain_id), disputes.address)
    room = direct_room(flagger, peer)
    prev = b"\x00" * 32
    signed = []
    for seq in (1, 2, 3):
        e = LogEntry(operator, room, seq, prev, keccak(text=f"envelope {seq}"), int(time.time()))
        signed.append(SignedEntry(e, sign_log_entry(bytes(node_key.key), domain, e).packed()))
        prev = e.struct_hash()
    store = HistoryStore(tmp_path / "history.jsonl")
    store.keep_evidence(Evidence("refusal", operator, signed[2], missing=(1, 2)))
    evidence = tmp_path / "evidence.json"
    flag = ("flag", operator, "--reason", "withholding-history", "--attach", str(evidence))
    mine = ("--store", str(store.path), *_as(FLAGGER_INDEX))

    count = int(disputes.functions.dispute_count().call())
    wrong = ape_run(chain, "disputes", *flag, *mine, "--peer", Account.create().address, ok=False)
    assert "the refused room is not your conversation with" in wrong and "Traceback" not in wrong
    offline = ("flag", operator, "--reason", "offline", "--attach", str(evidence), *mine)
    assert "it is evidence for dropping-messages and withholding-history" in ape_run(
        chain, "disputes", *offline, ok=False
    )
    no_attach = ("flag", operator, "--reason", "offline", "--peer", peer, *_as(FLAGGER_INDEX))
    assert "--peer names the room of the evidence --attach writes" in ape_run(
        chain, "disputes", *no_attach, ok=False
    )
    assert int(disputes.functions.dispute_count().call()) == count  # none of those flagged

    text = ape_run(chain, "disputes", *flag, *mine, "--peer", peer)
    assert f"evidence: the relay's signed head 3, missing 1-2, in {evidence}" in text
    assert f"grant: reviewers may read that room at {operator} until" in text
    dispute_id = int(re.search(r"dispute (\d+) opened", text).group(1))  # type: ignore[union-attr]
    assert dispute_id == count + 1
    [flagged] = disputes.events.Flagged().get_logs(
        from_block=manifest.block, argument_filters={"dispute_id": dispute_id}
    )
    assert flagged["args"]["evidence_uri"] == evidence.resolve().as_uri()

    # The file: the refusal, and the grant the ape account signed (EIP-712 through sign_message).
    got = ev.parse(evidence.read_bytes())
    assert got.grant is not None and got.peer == peer
    g = got.grant.grant
    assert (g.node, g.room, g.granter, g.grantee) == (operator, room, flagger, ANYONE)
    gdomain = grant_domain(int(w3.eth.chain_id), disputes.address)
    assert eoa_signer(g, gdomain, got.grant.signature) == flagger

    def node_signed(entry: LogEntry, sig: bytes) -> bool:
        return log_entry_signer(domain, entry, Signature(sig[64], sig[:32], sig[32:64])) == node_key.address

    def granted(grant: HistoryGrant, sig: bytes) -> bool:
        return eoa_signer(grant, gdomain, sig) == grant.granter

    window = int(disputes.functions.parameters().call()[2])
    assert "lets reviewers ask for them" in ev.check(got, operator, node_signed, window, granted_by=granted)
