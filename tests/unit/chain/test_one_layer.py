"""The package has one chain-client layer: each of these is defined once, in the place named here."""

from __future__ import annotations

import re
from pathlib import Path

from clubchat.params import REPO_ROOT

PACKAGE = REPO_ROOT / "clubchat"


def _sources(*roots: Path) -> dict[str, str]:
    """Python sources under `roots`; this file is left out (its patterns would match themselves)."""
    here = Path(__file__).resolve()
    return {
        str(p.relative_to(REPO_ROOT)): p.read_text()
        for root in roots
        for p in sorted(root.rglob("*.py"))
        if p.resolve() != here
    }


def _where(pattern: str, *roots: Path) -> list[str]:
    rx = re.compile(pattern, re.MULTILINE)
    return [path for path, text in _sources(*roots).items() if rx.search(text)]


def test_one_sender_protocol_and_one_receipt_wait() -> None:
    assert _where(r"^class Sender\(Protocol\)", PACKAGE) == ["clubchat/chain/tx.py"]
    assert _where(r"wait_for_transaction_receipt\(", PACKAGE, REPO_ROOT / "scripts") == [
        "clubchat/chain/tx.py"
    ]
    # Only the senders put transactions on the wire.
    sends = r"\.(send_transaction|send_raw_transaction)\(|\.transact\(\{"
    assert _where(sends, PACKAGE, REPO_ROOT / "scripts") == ["clubchat/chain/tx.py"]


def test_one_permit_helper() -> None:
    assert _where(r'"Permit"|Permit\(address owner', PACKAGE, REPO_ROOT / "tests", REPO_ROOT / "bench") == [
        "clubchat/chain/eip712.py"
    ]


def test_node_kinds_are_declared_once() -> None:
    declared = r"^\s*(RELAY\s*(:\s*int\s*)?=\s*1\b|RELAY,\s*TURN,\s*NOTIFY\s*=\s*1)|class Kind\("
    assert _where(declared, PACKAGE, REPO_ROOT / "scripts", REPO_ROOT / "tests") == [
        "clubchat/registry/kinds.py"
    ]


def test_no_node_beside_nodes_and_no_feature_package_imports_the_demo() -> None:
    assert not list((PACKAGE / "nodes").glob("**/*.py"))  # an old checkout may keep the directory
    importers = _where(r"^\s*from clubchat\.demo\b|^\s*import clubchat\.demo\b", PACKAGE)
    # the `club` command wires `club demo`; the demo's own modules import each other
    assert [p for p in importers if not p.startswith("clubchat/demo/")] == ["clubchat/cli.py"]


REGISTRY_ACTIONS = (
    "approve_operator|register|stake|stake_with_permit|delegate|unbond|rebond|withdraw|claim|set_node_key"
    "|deregister|heartbeat|set_commission|set_endpoint|set_metadata|unjail|finalize_epoch|record_epoch_seed|poke"
)


def test_each_registry_action_is_defined_once() -> None:
    """NodeRegistry's operator actions are sent only by `RegistryActions` (web3.py and titanoboa alike):
    no web3.py call of them elsewhere in the package or the scripts, and the sim loop does not call
    the boa contract's own methods."""
    direct = rf"^(?!.*\.call\().*(registry|\"NodeRegistry\"\))\.functions\.({REGISTRY_ACTIONS})\("
    assert _where(direct, PACKAGE, REPO_ROOT / "scripts") == []
    sent = rf'_send\(\s*"({REGISTRY_ACTIONS})"'
    assert _where(sent, PACKAGE) == ["clubchat/registry/client.py"]
    assert _where(rf"\bregistry\.({REGISTRY_ACTIONS})\(", PACKAGE / "sim") == []
