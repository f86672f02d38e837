"""`ape run communities ...` and `ape run disputes ...` against an anvil the test starts, as a scripted
admin or flagger would use them. Communities: create (the creation fee burns), add, info, an invite
voucher signed by the ape account and redeemed with `club community join`, ban, remove; a non-admin's
invite is refused in one sentence. Disputes: status of a dispute that does not exist, a flag against
an address that is no node and a flag against oneself, each refused in one sentence before any
transaction (the bond's approve included)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.chain import load_manifest
from clubchat.cli import main
from tests.utils.ape_cli import ApeChain, ape_run, deployed_anvil

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ADMIN_INDEX = 3  # TEST::3: anvil and ape derive their test accounts from the same mnemonic
OTHER_INDEX = 4


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
