"""Parameter types shared by `club` and `ape run`: CLUB amounts, private keys, addresses, endpoints.

Everything is checked when the command line is parsed, before any transaction is sent:

- `ClubAmount`: exact decimal CLUB (`clubchat.amounts.parse_club`), converted to wei;
- `PrivateKey`: 32 bytes of hex (a mnemonic, an address or a short key is refused in one sentence);
  `read_key_file` reads one from a file (`--key-file`);
- `Address`: a 20-byte hex address, checksummed;
- `check_endpoint(kind, uri)`: the scheme rules NodeRegistry enforces, so a wrong URI is refused
  before the approve transaction is paid for.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from clubchat.amounts import AmountError, parse_club

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
MAX_URI = 256


class ClubAmount(click.ParamType):
    """A CLUB amount typed as a decimal (`20000`, `0.5`); the value is wei."""

    name = "CLUB"

    def __init__(self, allow_zero: bool = False) -> None:
        self.allow_zero = allow_zero

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_club(value, allow_zero=self.allow_zero)
        except AmountError as exc:
            self.fail(str(exc), param, ctx)


def parse_key(text: str) -> LocalAccount:
    """The account of a hex private key; raises click.BadParameter with what was wrong."""
    raw = text.strip()
    if not _HEX_KEY.match(raw):
        if len(raw.split()) >= 12:
            hint = "that looks like a mnemonic; derive the key first (e.g. `cast wallet private-key`)"
        elif is_address(raw):
            hint = "that is an address, not a private key"
        else:
            digits = len(raw.removeprefix("0x"))
            hint = f"got {digits} characters, expected 64 hex digits (0x optional)"
        raise click.BadParameter(f"not a private key: {hint}")
    return Account.from_key(raw)


def read_key_file(path: Path) -> LocalAccount:
    """The key in a file (first line, hex); raises click.BadParameter naming the file."""
    try:
        text = path.read_text().strip().splitlines()[0] if path.read_text().strip() else ""
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_key(text)
    except click.BadParameter as exc:
        raise click.BadParameter(f"{path}: {exc.message}") from None


class PrivateKey(click.ParamType):
    """A hex private key; the value is an eth-account LocalAccount."""

    name = "KEY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> LocalAccount:
        if not isinstance(value, str):
            return value
        try:
            return parse_key(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


class Address(click.ParamType):
    """A 20-byte hex address; the value is checksummed."""

    name = "ADDRESS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not is_address(str(value)):
            self.fail(f"{value!r} is not an Ethereum address (0x and 40 hex digits)", param, ctx)
        return str(to_checksum_address(str(value)))


def _loopback(uri: str, scheme: str) -> bool:
    return uri.startswith(f"{scheme}127.0.0.1:") or uri.startswith(f"{scheme}localhost:")


# What NodeRegistry._set_endpoint accepts, per endpoint name.
_RULES = {
    "relay": (("wss://",), "ws://", "a relay endpoint must be wss://… (ws://127.0.0.1:PORT on loopback)"),
    "turn": (("turn:", "turns:"), None, "a TURN endpoint must be turn:host:port or turns:host:port"),
    "credential": (
        ("https://",),
        "http://",
        "the credential endpoint must be https://… (http:// on loopback)",
    ),
    "notify": (
        ("https://",),
        "http://",
        "a notify endpoint must be https://… (http://127.0.0.1:PORT on loopback)",
    ),
}


def check_endpoint(kind: str, uri: str) -> str:
    """`uri` if NodeRegistry accepts it for `kind` (relay, turn, credential, notify), else BadParameter."""
    prefixes, loopback_scheme, rule = _RULES[kind]
    if len(uri) > MAX_URI:
        raise click.BadParameter(f"{uri[:40]}… is longer than {MAX_URI} characters")
    if uri.startswith(prefixes) or (loopback_scheme and _loopback(uri, loopback_scheme)):
        return uri
    raise click.BadParameter(f"{uri!r}: {rule}")
