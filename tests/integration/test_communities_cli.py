"""`club community …` and `club premium …` against the whole protocol on a private anvil.

The deploy plan puts every contract on anvil through the web3 backend (the deployer is named
treasury, so it can fund the actors); the commands run through click's runner with the shared
`--rpc-url`/`--network`/`--key` options, exactly as a user types them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3

from clubchat.chain import Manifest
from clubchat.chain.anvil import Anvil, free_port
from clubchat.chain.tx import send_tx
from clubchat.cli import main
from clubchat.deploy.plan import deploy_protocol
from clubchat.deploy.web3_backend import Web3Backend
from clubchat.params import WAD, load

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

# anvil's first default account (mnemonic "test test ... junk"); a well-known test key.
DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _key(name: str) -> Account:
    return Account.from_key(Web3.keccak(text=f"clubchat-cli-test:{name}"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("communities")
    node = Anvil(free_port(), log_path=tmp / "anvil.log")
    w3 = node.start()
    try:
        deployer = Account.from_key(DEPLOYER_KEY)
        backend = Web3Backend(w3, deployer)
        dep = deploy_protocol(backend, load(), treasury=deployer.address)
        manifest = Manifest(
            network="local",
            chain_id=int(w3.eth.chain_id),
            block=min(r.block for r in backend.records.values()),
            contracts=backend.records,
            parameters={},
            deployer=deployer.address,
            treasury=deployer.address,
            genesis_time=dep.genesis_time,
        )
        path = tmp / "local.json"
        manifest.save(path)
        actors = {n: _key(n) for n in ("owner", "alice", "bob", "mallory")}
        for acct in actors.values():
            w3.provider.make_request("anvil_setBalance", [acct.address, hex(10**20)])
            send_tx(w3, deployer, dep["ClubToken"].functions.transfer(acct.address, 100_000 * WAD))
        yield {"url": node.url, "manifest": str(path), "actors": actors, "tmp": tmp, "w3": w3, "dep": dep}
    finally:
        node.stop()


def club(env: dict, *args: str, who: str | None = None) -> str:
    chain = ["--rpc-url", env["url"], "--network", env["manifest"]]
    key = ["--key", "0x" + env["actors"][who].key.hex()] if who else []
    result = CliRunner().invoke(main, [*args, *chain, *key], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def club_fails(env: dict, *args: str, who: str | None = None) -> str:
    chain = ["--rpc-url", env["url"], "--network", env["manifest"]]
    key = ["--key", "0x" + env["actors"][who].key.hex()] if who else []
    result = CliRunner().invoke(main, [*args, *chain, *key])
    assert result.exit_code == 1, result.output
    return result.output


def test_allowlist_community_lifecycle(env: dict) -> None:
    a = env["actors"]
    out = club(env, "community", "create", "--policy", "allowlist", "--membership-days", "30", who="owner")
    cid = out.split()[1]
    assert "created (allowlist)" in out
    club(env, "community", "add", cid, a["alice"].address, a["bob"].address, who="owner")
    info = club(env, "community", "info", cid, "--account", a["alice"].address)
    assert "2 member(s)" in info and "member True" in info
    club(env, "community", "ban", cid, a["bob"].address, who="owner")
    info = club(env, "community", "info", cid, "--account", a["bob"].address)
    assert "member False" in info and "1 member(s)" in info  # counted from the logs: bans count out
    err = club_fails(env, "community", "add", cid, a["bob"].address, who="owner")
    assert "is banned from community" in err
    err = club_fails(env, "community", "join", cid, who="mallory")
    assert "admits by allowlist only" in err
    club(env, "community", "remove", cid, a["alice"].address, who="owner")
    assert "member False" in club(env, "community", "info", cid, "--account", a["alice"].address)


def test_invite_voucher(env: dict, tmp_path: Path) -> None:
    a = env["actors"]
    cid = club(env, "community", "create", "--policy", "invite", who="owner").split()[1]
    voucher = tmp_path / "voucher.json"
    club(env, "community", "invite", cid, a["alice"].address, "--out", str(voucher), who="owner")
    err = club_fails(env, "community", "invite", cid, a["alice"].address, who="mallory")
    assert f"{a['mallory'].address} is neither the owner nor an admin of community {cid}" in err
    assert json.loads(voucher.read_text())["invitee"] == a["alice"].address
    err = club_fails(env, "community", "join", cid, "--voucher", str(voucher), who="bob")
    assert "this voucher invites" in err
    assert "joined community" in club(env, "community", "join", cid, "--voucher", str(voucher), who="alice")
    err = club_fails(env, "community", "join", cid, "--voucher", str(voucher), who="alice")
    assert "already used" in err


def test_multisig_owned_community_invites_through_its_owners(env: dict, tmp_path: Path) -> None:
    """A 2-of-3 multisig owns an INVITE community: anyone writes the voucher's request, the owners
    sign it one by one on their own machines, the signatures are combined and the invitee redeems."""
    a = env["actors"]
    owners = sorted((_key(f"safe-owner-{i}") for i in range(3)), key=lambda o: int(o.address, 16))
    deployer = Account.from_key(DEPLOYER_KEY)
    wallet = Web3Backend(env["w3"], deployer).deploy("MultisigWallet", [o.address for o in owners], 2)
    out = club(env, "community", "create", "--policy", "invite", "--owner", wallet.address, who="owner")
    cid = out.split()[1]
    assert f"owner {wallet.address}" in out

    def owner_runs(i: int, *args: str) -> str:
        return club(env, *args, "--key", "0x" + owners[i].key.hex())

    req, sig = tmp_path / "request.json", [tmp_path / f"owner{i}.json" for i in range(3)]
    voucher = tmp_path / "voucher.json"
    out = club(
        env, "community", "invite", cid, a["alice"].address, "--wallet", wallet.address, "--out", str(req)
    )
    assert "2 of the 3 owners of wallet" in out
    request = json.loads(req.read_text())
    assert (request["wallet"], request["threshold"], request["nonce"]) == (wallet.address, 2, 1)
    assert owner_runs(2, "community", "sign-invite", str(req), "--out", str(sig[2])).startswith(
        owners[2].address
    )
    # One owner is not enough: refused before anything reaches the chain, naming who signed.
    err = club_fails(
        env, "community", "combine-invite", str(req), str(sig[2]), str(sig[2]), "--out", str(voucher)
    )
    assert f"needs 2 of its 3 owners' signatures; 1 signed ({owners[2].address})" in err
    assert not voucher.exists()
    # Someone who is not an owner cannot sign, and a request edited after the fact is not signed.
    err = club_fails(env, "community", "invite", cid, a["bob"].address, "--wallet", a["mallory"].address)
    assert "has no code: --wallet names a contract wallet" in err
    err = club_fails(env, "community", "sign-invite", str(req), who="mallory")
    assert f"{a['mallory'].address} is not an owner of wallet {wallet.address}" in err
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**request, "invitee": a["mallory"].address}))
    err = club_fails(env, "community", "sign-invite", str(forged), "--key", "0x" + owners[0].key.hex())
    assert "refusing to sign" in err
    # A second owner signs; the signatures are given out of order and combined in the wallet's order.
    owner_runs(0, "community", "sign-invite", str(req), "--out", str(sig[0]))
    relabelled = tmp_path / "relabelled.json"  # owner 0's signature passed off as owner 1's
    relabelled.write_text(json.dumps({**json.loads(sig[0].read_text()), "owner": owners[1].address}))
    err = club_fails(env, "community", "combine-invite", str(req), str(sig[2]), str(relabelled))
    assert f"the signature said to be {owners[1].address}'s was made by another key" in err
    out = club(env, "community", "combine-invite", str(req), str(sig[2]), str(sig[0]), "--out", str(voucher))
    assert f"signed by wallet {wallet.address}" in out
    combined = json.loads(voucher.read_text())
    assert combined["signer"] == wallet.address
    assert combined["signature"] == "0x" + "".join(
        json.loads(sig[i].read_text())["signature"].removeprefix("0x") for i in (0, 2)
    )
    err = club_fails(env, "community", "join", cid, "--voucher", str(voucher), who="bob")
    assert "this voucher invites" in err
    assert "joined community" in club(env, "community", "join", cid, "--voucher", str(voucher), who="alice")
    assert "member True" in club(env, "community", "info", cid, "--account", a["alice"].address)
    err = club_fails(env, "community", "join", cid, "--voucher", str(voucher), who="alice")
    assert "already used" in err


def test_merkle_allowlist(env: dict, tmp_path: Path) -> None:
    a = env["actors"]
    cid = club(env, "community", "create", "--policy", "merkle", who="owner").split()[1]
    members = tmp_path / "members.csv"
    members.write_text("address\n" + "\n".join(a[n].address for n in ("alice", "bob")) + "\n")
    tree = tmp_path / "tree.json"
    out = club(env, "community", "merkle", str(members), "--out", str(tree), "--set-root", cid, who="owner")
    assert "now admits this list" in out
    assert "joined community" in club(env, "community", "join", cid, "--tree", str(tree), who="bob")
    err = club_fails(env, "community", "join", cid, "--tree", str(tree), who="mallory")
    assert "not on this allowlist" in err


def test_premium_commands(env: dict) -> None:
    a = env["actors"]
    out = club(env, "premium", "subscribe", "1", "--periods", "2", "--for", a["bob"].address, who="alice")
    assert f"{a['bob'].address}: tier 1" in out
    out = club(env, "premium", "lock", "20000", who="mallory")
    assert "20,000 CLUB locked; tier 2" in out
    status = club(env, "premium", "status", a["mallory"].address)
    assert "tier 2" in status and "calls <= 86,400 s" in status
    out = club(env, "premium", "unlock", "--request", who="mallory")
    assert "unlock requested" in out
    assert "tier 0" in club(env, "premium", "status", a["mallory"].address)
    err = club_fails(env, "premium", "unlock", who="mallory")
    assert "try again after that" in err
    err = club_fails(env, "premium", "subscribe", "9", who="alice")
    assert "tier 9 does not exist" in err
