"""The commands an operator and two users run, as processes, on a private chain:
`club node register` x3, `club node run --rpc` x3 (two relay+notify nodes, one TURN node),
`club listen` (Bob) and `club call <bob> --file` (Alice), which prints its JSON report, and
`club message`. Then Bob's first rendezvous relay is killed and restarted under his listener, and a
message sent afterwards still reaches it; the listener stops cleanly on SIGTERM."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from clubchat.cli import main
from clubchat.node.localnet import free_port_range
from tests.node.chain_env import chain
from tests.node.process import REPO, NodeProcess

pytestmark = [pytest.mark.integration]

CLUB = str(Path(sys.executable).parent / "club")
alice = Account.from_key("0x" + "a1" * 32)
bob = Account.from_key("0x" + "b2" * 32)


def _lines(proc: subprocess.Popen[str], out: list[dict[str, object]]) -> threading.Thread:
    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                out.append(json.loads(line))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    return t


def test_register_run_listen_call(tmp_path: Path) -> None:
    with chain(tmp_path) as c:
        runner = CliRunner()
        rpc = c.anvil.url
        per_kind = c.registry.functions.min_self_stake_per_kind().call() // 10**18
        procs: list[NodeProcess] = []
        listener: subprocess.Popen[str] | None = None
        try:
            plans = []
            turn_uri = ""
            for i, kinds in enumerate(["relay,notify", "relay,notify", "turn"]):
                operator, key = Account.create(), Account.create()
                c.fund(operator.address, 3 * per_kind)
                c.fund(key.address, 0)
                port = free_port_range(1)
                args = ["--kinds", kinds, "--port", str(port)]
                reg = ["--kinds", kinds]
                if kinds == "turn":
                    tp = free_port_range(42)
                    args += [
                        "--turn-port",
                        str(tp),
                        "--turn-min-port",
                        str(tp + 1),
                        "--turn-max-port",
                        str(tp + 40),
                    ]  # no --allow-loopback-peers: a node on 127.0.0.1 allows loopback peers itself
                    turn_uri = f"turn:127.0.0.1:{tp}?transport=udp"
                    reg += [
                        "--turn-uri",
                        turn_uri,
                        "--credential-uri",
                        f"http://127.0.0.1:{port}/turn-credentials",
                    ]
                else:
                    reg += [
                        "--relay-uri",
                        f"ws://127.0.0.1:{port}",
                        "--notify-uri",
                        f"http://127.0.0.1:{port}",
                    ]
                result = runner.invoke(
                    main,
                    [
                        "node",
                        "register",
                        "--rpc",
                        rpc,
                        "--manifest",
                        str(c.manifest_path),
                        "--node-key",
                        "0x" + bytes(key.key).hex(),
                        "--stake",
                        str(2 * per_kind),
                        *reg,
                    ],
                    env={"CLUB_OPERATOR_KEY": "0x" + bytes(operator.key).hex()},
                )
                assert result.exit_code == 0, result.output
                assert json.loads(result.output)["operator"] == operator.address
                plans.append((tmp_path / f"node{i}", args, operator, key))
            # a registration with a bad endpoint scheme is refused with the registry's reason
            bad = runner.invoke(
                main,
                [
                    "node",
                    "register",
                    "--rpc",
                    rpc,
                    "--manifest",
                    str(c.manifest_path),
                    "--node-key-address",
                    Account.create().address,
                    "--stake",
                    "1",
                    "--kinds",
                    "relay",
                    "--relay-uri",
                    "http://x",
                ],
                env={"CLUB_OPERATOR_KEY": "0x" + "99" * 32},
            )
            assert bad.exit_code != 0 and "a relay endpoint must be wss://" in bad.output

            def start(i: int) -> NodeProcess:
                data_dir, args, operator, key = plans[i]
                node_key = "0x" + bytes(key.key).hex()
                chain_args = ("--rpc", rpc, "--manifest", str(c.manifest_path))
                return NodeProcess(
                    data_dir,
                    *args,
                    *chain_args,
                    "--operator",
                    operator.address,
                    "--node-key",
                    node_key,
                    timeout=90,
                )

            procs.extend(start(i) for i in range(len(plans)))
            assert procs[0].ready["chain"]["operator"] == plans[0][2].address
            # nodes are sampled only once their first heartbeat is on chain
            for data_dir, *_ in plans:
                for _ in range(300):
                    path = data_dir / "status.json"
                    if path.exists() and json.loads(path.read_text())["chain"]["heartbeats"] >= 1:
                        break
                    threading.Event().wait(0.1)
                else:
                    raise AssertionError(f"{data_dir} never sent a heartbeat")
            env = {**os.environ, "CLUB_KEY": "0x" + bytes(bob.key).hex()}
            listener = subprocess.Popen(
                [
                    CLUB,
                    "listen",
                    "--rpc",
                    rpc,
                    "--manifest",
                    str(c.manifest_path),
                    "--out",
                    str(tmp_path / "received"),
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            events: list[dict[str, object]] = []
            reader = _lines(listener, events)
            for _ in range(600):
                if events or listener.poll() is not None:
                    break
                threading.Event().wait(0.1)
            if not events:
                if listener.poll() is None:
                    os.killpg(listener.pid, 9)
                err = listener.communicate(timeout=10)[1][-3000:]
                raise AssertionError(f"club listen did not start: {err}")
            assert events[0]["event"] == "listening"
            data = os.urandom(200_000)
            (tmp_path / "f.bin").write_bytes(data)
            alice_env = {**os.environ, "CLUB_KEY": "0x" + bytes(alice.key).hex()}
            chain_args = ["--rpc", rpc, "--manifest", str(c.manifest_path)]

            def message(text: str) -> dict[str, object]:
                """`club message` to Bob, then wait for his listener to print it."""
                sent = subprocess.run(
                    [CLUB, "message", bob.address, text, *chain_args],
                    cwd=REPO,
                    env=alice_env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert sent.returncode == 0, sent.stderr[-3000:]
                for _ in range(300):
                    got = [e for e in events if e["event"] == "message" and e["text"] == text]
                    if got:
                        return got[0]
                    threading.Event().wait(0.1)
                raise AssertionError(f"the listener never printed {text!r}: {events}")

            call = subprocess.run(
                [CLUB, "call", bob.address, *chain_args, "--file", str(tmp_path / "f.bin"), "--seconds", "1"],
                cwd=REPO,
                env=alice_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert call.returncode == 0, call.stderr[-3000:]
            report = json.loads(call.stdout)
            assert report["connected"] is True
            assert report["relay_endpoint"] in events[0]["relays"]  # type: ignore[operator]
            assert report["turn_endpoint"] == plans[2][1][-1] or report["turn_endpoint"].startswith(
                "turn:127.0.0.1:"
            )
            assert report["turn_node"] == plans[2][2].address
            assert report["selected_candidate_types"] == ["relay", "relay"]
            assert report["file_sha256_match"] is True
            assert report["file_sha256"] == hashlib.sha256(data).hexdigest()
            assert report["audio_frames_received"] > 0
            for _ in range(300):
                if events[-1]["event"] == "bye":
                    break
                threading.Event().wait(0.1)
            kinds = [e["event"] for e in events]
            assert kinds[:2] == ["listening", "call"] and "file" in kinds and kinds[-1] == "bye", events
            got = next(e for e in events if e["event"] == "file")
            assert got["ok"] is True and got["sha256"] == hashlib.sha256(data).hexdigest()
            assert (got["name"], got["mime"]) == ("f.bin", "application/octet-stream")
            assert got["path"] == str(tmp_path / "received" / "f.bin")
            assert Path(str(got["path"])).read_bytes() == data
            assert message("hi bob")["sender"] == alice.address  # printed as text, not a repr

            # Bob's first rendezvous relay dies and comes back on the same port under his listener.
            first = str(events[0]["relays"][0])  # type: ignore[index]
            i = next(i for i, p in enumerate(procs) if p.uri == first)
            procs[i].kill()
            procs[i] = start(i)  # same data dir (mailbox) and port
            assert procs[i].uri == first
            assert message("are you still there?")["relay"] == first  # no listener restart needed
            changes = [(e["relay"], e["state"]) for e in events if e["event"] == "relay"]
            assert changes[:1] == [(first, "down")] and (first, "up") in changes, changes
            os.killpg(listener.pid, signal.SIGTERM)
            assert listener.wait(30) == 0
            reader.join(5)
            err = listener.stderr.read() if listener.stderr else ""
            assert "Task was destroyed but it is pending" not in err and "Traceback" not in err, err
            status = json.loads((plans[0][0] / "status.json").read_text())
            assert status["chain"]["heartbeats"] >= 1 and status["chain"]["registry_cache"]["rpc"] == "up"
        finally:
            if listener is not None and listener.poll() is None:
                os.killpg(listener.pid, 9)
                listener.wait(10)
            for p in procs:
                p.stop()
