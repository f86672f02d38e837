"""The installed package stands alone: nothing in clubchat/ imports from, or builds a path into, tests/.

Contracts in the loop, the whitepaper and the CLIs must work from an installed `clubchat`; a
module that loads tests/utils/deployer.py by file path (as `clubchat.sim.loop` once did) only
works in a checkout. Prose that names a test file (a docstring, a sentence of the whitepaper)
is not path use and is allowed.
"""

from __future__ import annotations

import ast
import re

from clubchat.params import REPO_ROOT

PACKAGE = REPO_ROOT / "clubchat"
# A path segment "tests", a dotted module under tests, or a bare repository path under tests/.
_TESTS_PATH = re.compile(r"^tests(?:$|[./]\S*$)")


def find_tests_path_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every import of `tests` and every string constant that names a path or module under tests/."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                f"{filename}:{node.lineno} import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "tests"
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests":
            found.append(f"{filename}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _TESTS_PATH.match(node.value):
            found.append(f"{filename}:{node.lineno} {node.value!r}")
    return found


def test_the_package_never_reaches_into_tests() -> None:
    uses = [
        use
        for path in sorted(PACKAGE.rglob("*.py"))
        for use in find_tests_path_uses(path.read_text(), str(path.relative_to(REPO_ROOT)))
    ]
    assert uses == []


def test_the_check_sees_a_path_built_into_tests() -> None:
    loader = 'path = REPO_ROOT / "tests" / "utils" / "deployer.py"\nname = "tests.utils.deployer"\n'
    assert len(find_tests_path_uses(loader)) == 2
    assert find_tests_path_uses("from tests.utils.deployer import deploy_all\n") != []
    assert (
        find_tests_path_uses('"""See tests/sim/test_contracts_agree.py."""\nx = "DISAGREE (see tests/sim)"\n')
        == []
    )


def _imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def test_only_the_ape_backend_imports_ape() -> None:
    """Run-time code (node, client, CLIs, sim) talks to the chain through web3.py; ape is for deploying."""
    importers = [
        str(path.relative_to(REPO_ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if any(m == "ape" or m.startswith("ape.") for m in _imported_modules(path.read_text()))
    ]
    assert importers == ["clubchat/chain/ape_sender.py", "clubchat/deploy/ape_backend.py"]


def test_contracts_import_only_interfaces_modules_and_libraries() -> None:
    """Contracts talk to each other through interfaces/; code is shared through contracts/modules/."""
    allowed = ("interfaces", "contracts.modules", "snekmate.", "ethereum.ercs")
    imports = re.compile(r"^(?:from\s+(\S+)\s+import|import\s+(\S+))", re.MULTILINE)
    outside = [
        f"{path.relative_to(REPO_ROOT)}: {module}"
        for path in sorted((REPO_ROOT / "contracts").rglob("*.vy"))
        for match in imports.finditer(path.read_text())
        if not (module := match.group(1) or match.group(2)).startswith(allowed)
    ]
    assert outside == []
