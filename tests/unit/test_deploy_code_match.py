"""The ape backend's check that an address runs the compiled contract (reuse of a manifest)."""

from __future__ import annotations

from clubchat.deploy.ape_backend import deployed_runtime_in

RUNTIME = bytes(range(1, 200))
INITCODE = b"\x60\x80\x60\x40" + RUNTIME + b"\xa1\x65"  # constructor code, runtime blob, data


def test_runtime_with_immutables_matches() -> None:
    immutables = b"\x11" * 32 * 3
    assert deployed_runtime_in(INITCODE, RUNTIME + immutables)
    assert deployed_runtime_in(INITCODE, RUNTIME)


def test_other_code_does_not_match() -> None:
    changed = bytearray(RUNTIME)
    changed[100] ^= 0xFF
    assert not deployed_runtime_in(INITCODE, bytes(changed) + b"\x11" * 32)
    # A prefix of the runtime alone (code cut short) is not the contract either.
    assert not deployed_runtime_in(INITCODE, b"\x99" * 32 * 70)
    assert not deployed_runtime_in(INITCODE, b"")
