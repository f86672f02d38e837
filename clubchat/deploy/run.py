"""Running `ape run deploy` as a subprocess, the way `club demo` and the integration tests do.

The environment ape needs is set here once: anvil from node_modules/.bin on PATH,
vvm pointed at the vyper the lock file installed (`.venv/vvm`, no download), and
`APE_FOUNDRY_HOST` so ape's foundry provider attaches to the given anvil.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path

from clubchat.params import REPO_ROOT

LOCAL_NETWORK = "ethereum:local:foundry"


class ApeDeployError(RuntimeError):
    """`ape run deploy` failed; the message carries the end of its output."""


def ape_executable() -> Path:
    """The `ape` of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "ape"
    if not candidate.exists():
        raise ApeDeployError(f"ape is not installed next to {sys.executable}; run `make setup`")
    return candidate


def add_repository_tools(env: MutableMapping[str, str]) -> None:
    """Point ape at the repository's anvil (PATH) and vyper (VVM_BINARY_PATH) in `env`.

    `scripts/deploy.py` applies it to its own process too, so a plain `ape run deploy` from an
    activated virtualenv finds both without exports (vvm reads the variable when it compiles).
    """
    bin_dirs = [str(REPO_ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent)]
    path = env.get("PATH", "")
    missing = [d for d in bin_dirs if d not in path.split(os.pathsep)]
    env["PATH"] = os.pathsep.join([*missing, path]) if path else os.pathsep.join(missing)
    vvm = REPO_ROOT / ".venv" / "vvm"
    if vvm.is_dir() and not env.get("VVM_BINARY_PATH"):
        env["VVM_BINARY_PATH"] = str(vvm)


def ape_environment(rpc_url: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for an ape subprocess attached to the anvil at `rpc_url` (None: ape's own choice)."""
    env = dict(os.environ if base is None else base)
    add_repository_tools(env)
    if rpc_url is not None:
        env["APE_FOUNDRY_HOST"] = rpc_url
    # ape imports ~1,500 modules; let them be cached as bytecode (halves the start-up time).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # pydantic-settings warns about a forward reference inside ape-vyper's config on every start.
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning")
    return env


def contract_sources_digest(root: Path = REPO_ROOT) -> str:
    """SHA-256 over every contract and interface source and ape-config.yaml (paths and bytes)."""
    digest = hashlib.sha256()
    files = sorted(
        [*root.glob("contracts/**/*.vy"), *root.glob("interfaces/**/*.vyi"), root / "ape-config.yaml"]
    )
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_compiled(
    base_env: dict[str, str] | None = None, *, root: Path = REPO_ROOT, timeout: float = 600.0
) -> bool:
    """Make ape's `.build` in `root` match the contract sources; return True when it compiled.

    Two ape processes compiling one checkout at once (parallel tests, a demo beside a test) can
    leave `.build` with a contract's new source text but its old ABI; ape then trusts the source
    checksum and deploys or calls the old interface. So compilation happens here, once, under a
    file lock: when the sources' digest differs from the one recorded after the last compile,
    `.build` is removed and `ape compile` rebuilds it before any `ape run` starts. The lock
    (`.build.lock`) and the digest (`.build.sources`) live beside `.build`, so removing it keeps both.
    """
    build, stamp_file = root / ".build", root / ".build.sources"
    lock_file = root / ".build.lock"
    lock_file.touch()
    with lock_file.open("r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = contract_sources_digest(root)
        stamp = stamp_file.read_text().strip() if stamp_file.exists() else ""
        if stamp == digest and build.is_dir():
            return False
        shutil.rmtree(build, ignore_errors=True)
        stamp_file.unlink(missing_ok=True)
        proc = subprocess.run(
            [str(ape_executable()), "compile"],
            cwd=root,
            env=ape_environment(None, base_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
            raise ApeDeployError(f"`ape compile` exited with code {proc.returncode}:\n{tail}")
        stamp_file.write_text(digest + "\n")
        return True


def run_ape_deploy(
    rpc_url: str | None,
    *,
    network: str = LOCAL_NETWORK,
    extra_args: Sequence[str] = (),
    on_line: Callable[[str], None] | None = None,
    timeout: float = 600.0,
    base_env: dict[str, str] | None = None,
) -> list[str]:
    """Run `ape run deploy --network <network>` in the repository; return its output lines.

    `on_line` sees each output line as it arrives; `base_env` replaces os.environ as the
    environment the ape settings are added to. Raises ApeDeployError (with the
    last lines of output) when ape exits non-zero or runs longer than `timeout` s.
    """
    ensure_compiled(base_env)
    command = [str(ape_executable()), "run", "deploy", "--network", network, *extra_args]
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=ape_environment(rpc_url, base_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        # A watchdog kills ape after `timeout` s; reading its output then ends.
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            for raw in process.stdout:
                line = raw.rstrip("\n")
                lines.append(line)
                if on_line is not None:
                    on_line(line)
            process.wait()
        except BaseException:
            process.kill()
            raise
        finally:
            timed_out = not watchdog.is_alive() and process.returncode != 0
            watchdog.cancel()
    if timed_out:
        raise ApeDeployError(f"`ape run deploy` did not finish within {timeout:.0f} s and was stopped")
    if process.returncode != 0:
        tail = "\n".join(lines[-25:])
        raise ApeDeployError(f"`ape run deploy` exited with code {process.returncode}:\n{tail}")
    return lines
