"""Node kinds as NodeRegistry encodes them: one bit each in a `kinds` mask."""

from __future__ import annotations

import enum


class RegistryError(RuntimeError):
    """A registry action cannot succeed as asked; the message says what to do."""


class Kind(enum.IntFlag):
    """The services a node offers (a registered node declares one or more)."""

    RELAY = 1
    TURN = 2
    NOTIFY = 4


# The members as plain ints, which is what the ABI encoder and the endpoint maps take (an IntFlag
# iterates over its members, and web3.py would encode it as a list).
RELAY, TURN, NOTIFY = int(Kind.RELAY), int(Kind.TURN), int(Kind.NOTIFY)
# `endpoint(node, 8)`: the registry keeps a TURN node's credential service as a pseudo-kind endpoint.
TURN_CREDENTIAL = 8
# Lower-case names in bit order, as the command lines spell them.
KIND_NAMES: dict[str, int] = {k.name.lower(): int(k) for k in Kind if k.name}


def parse_kinds(text: str) -> int:
    """'relay,turn' -> 3 (RELAY | TURN). Raises RegistryError on an unknown name or none."""
    mask = 0
    for word in (w.strip().lower() for w in text.split(",") if w.strip()):
        if word not in KIND_NAMES:
            raise RegistryError(f"unknown node kind {word!r}; use relay, turn and/or notify")
        mask |= KIND_NAMES[word]
    if not mask:
        raise RegistryError("declare at least one kind: relay, turn or notify")
    return mask


def kind_names(mask: int) -> list[str]:
    """The names of the kinds set in `mask`, in bit order."""
    return [name for name, kind in KIND_NAMES.items() if mask & kind]
