"""Free loopback ports for processes a test starts (never a well-known default)."""

from __future__ import annotations

import random
import socket


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port_range(size: int = 1) -> int:
    """First port of `size` consecutive ports free for both TCP and UDP on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000 - size)
        if all(_free(p) for p in range(base, base + size)):
            return base
    raise RuntimeError("no free loopback port range found")
