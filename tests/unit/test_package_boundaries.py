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
