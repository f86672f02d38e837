"""Named governance actions: what a proposal asks the Timelock to call, encoded from the manifest's ABIs.

Every builder returns an `Action` (target, wei value, calldata, a one-line summary). The
contract and function names are checked against the manifest, and command-line argument
strings are converted with the function's ABI types, so a typo fails here, not in a vote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from eth_utils import is_address, keccak, to_checksum_address
from web3 import Web3

from clubchat.chain.manifest import Manifest, ManifestError
from clubchat.params import WAD


class ActionError(ValueError):
    """An action cannot be built; the message says which input to fix."""


@dataclass(frozen=True)
class Action:
    """One call the Timelock makes when the proposal executes."""

    target: str
    value: int
    calldata: bytes
    summary: str


def _function_abi(manifest: Manifest, contract: str, function: str) -> dict[str, Any]:
    try:
        abi = manifest.contracts[contract].abi
    except KeyError:
        known = ", ".join(sorted(manifest.contracts))
        raise ActionError(f"no contract {contract!r} in the manifest; choose one of: {known}") from None
    matches = [e for e in abi if e.get("type") == "function" and e.get("name") == function]
    if not matches:
        writable = sorted(
            e["name"]
            for e in abi
            if e.get("type") == "function" and e.get("stateMutability") in ("nonpayable", "payable")
        )
        raise ActionError(
            f"{contract} has no function {function!r}; state-changing ones: {', '.join(writable)}"
        )
    return matches[0]


def parse_arg(abi_type: str, text: str) -> Any:
    """Convert a command-line string to a value of ABI type `abi_type`.

    Integers accept `1_000`, `0x10`, `1e18` and a `CLUB` suffix (whole tokens, times 1e18);
    arrays are JSON (`[1,2]`) or comma-separated; bytes are 0x-hex.
    """
    text = text.strip()
    if abi_type.endswith("[]"):
        inner = abi_type[:-2]
        items = json.loads(text) if text.startswith("[") else [t for t in text.split(",") if t.strip()]
        return [parse_arg(inner, str(item)) for item in items]
    if abi_type.startswith(("uint", "int")):
        scale = 1
        if text.upper().endswith("CLUB"):
            scale, text = WAD, text[:-4].strip()
        try:
            if text.lower().startswith("0x"):
                return int(text, 16) * scale
            value = Decimal(text.replace("_", "")) * scale
        except (InvalidOperation, ValueError):
            raise ActionError(f"{text!r} is not a number (expected {abi_type})") from None
        if value != value.to_integral_value():
            raise ActionError(f"{text!r} is not a whole number of the smallest unit (expected {abi_type})")
        return int(value)
    if abi_type == "address":
        if not is_address(text):
            raise ActionError(f"{text!r} is not an address")
        return to_checksum_address(text)
    if abi_type == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise ActionError(f"{text!r} is not a bool (true/false)")
        return text.lower() in ("true", "1")
    if abi_type.startswith("bytes"):
        try:
            raw = bytes.fromhex(text[2:] if text.startswith("0x") else text)
        except ValueError:
            raise ActionError(f"{text!r} is not hex bytes (expected {abi_type})") from None
        if abi_type != "bytes" and len(raw) != int(abi_type[5:]):
            raise ActionError(f"{text!r} has {len(raw)} bytes, {abi_type} needs {abi_type[5:]}")
        return raw
    if abi_type == "string":
        return text
    raise ActionError(f"arguments of type {abi_type} are not supported on the command line")


def call(manifest: Manifest, contract: str, function: str, *args: Any, value: int = 0) -> Action:
    """Call any function of a deployed contract (e.g. set a parameter: `Emission set_tip 5CLUB`).

    String arguments are parsed with the ABI types; other values are used as given.
    """
    fn = _function_abi(manifest, contract, function)
    inputs = fn.get("inputs", [])
    if len(args) != len(inputs):
        sig = ", ".join(f"{i['type']} {i['name']}" for i in inputs)
        raise ActionError(f"{contract}.{function}({sig}) takes {len(inputs)} arguments, got {len(args)}")
    values = [parse_arg(i["type"], a) if isinstance(a, str) else a for i, a in zip(inputs, args, strict=True)]
    handle = Web3().eth.contract(abi=manifest.contracts[contract].abi)
    calldata = bytes.fromhex(handle.encode_abi(function, args=values)[2:])
    shown = ", ".join(_show(v) for v in values)
    return Action(manifest.address(contract), value, calldata, f"{contract}.{function}({shown})")


def role_id(role: str) -> bytes:
    """bytes32 of a role name (DEFAULT_ADMIN_ROLE is zero, as in access_control)."""
    return b"\x00" * 32 if role == "DEFAULT_ADMIN_ROLE" else keccak(text=role)


def grant_role(manifest: Manifest, contract: str, role: str, account: str) -> Action:
    """Grant `role` (by name, e.g. PARAMETER_ROLE) of `contract` to `account`."""
    action = call(manifest, contract, "grantRole", role_id(role), parse_arg("address", account))
    return Action(action.target, 0, action.calldata, f"{contract}.grantRole({role}, {account})")


def revoke_role(manifest: Manifest, contract: str, role: str, account: str) -> Action:
    """Revoke `role` of `contract` from `account`."""
    action = call(manifest, contract, "revokeRole", role_id(role), parse_arg("address", account))
    return Action(action.target, 0, action.calldata, f"{contract}.revokeRole({role}, {account})")


def approve_release(manifest: Manifest, platform: str, version: str, sha256_hex: str, uri: str) -> Action:
    """Approve a client build in ClientReleases."""
    return call(manifest, "ClientReleases", "publish", platform, version, sha256_hex, uri)


def revoke_release(manifest: Manifest, sha256_hex: str) -> Action:
    """Withdraw a client build's approval."""
    return call(manifest, "ClientReleases", "revoke", sha256_hex)


def transfer_treasury(manifest: Manifest, to: str, amount: str, *, eth: bool = False) -> Action:
    """Pay `amount` (CLUB by default, e.g. `2500CLUB` or wei; ETH with `eth=True`) from the treasury."""
    if eth:
        wei = parse_arg("uint256", amount)
        return Action(parse_arg("address", to), wei, b"", f"send {Decimal(wei) / WAD} ETH to {to}")
    action = call(manifest, "ClubToken", "transfer", to, amount)
    wei = parse_arg("uint256", amount)
    return Action(action.target, 0, action.calldata, f"treasury pays {Decimal(wei) / WAD} CLUB to {to}")


def raw(target: str, calldata_hex: str, value: int = 0) -> Action:
    """Any call: a target address and hex calldata."""
    data = parse_arg("bytes", calldata_hex)
    return Action(parse_arg("address", target), value, data, f"raw call to {target} ({len(data)} bytes)")


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


__all__ = [
    "Action",
    "ActionError",
    "ManifestError",
    "approve_release",
    "call",
    "from_words",
    "grant_role",
    "parse_arg",
    "raw",
    "revoke_release",
    "revoke_role",
    "role_id",
    "transfer_treasury",
]


# The command-line form shared by `propose` and `simulate`: KIND followed by its words.
ACTION_USAGE = {
    "call": "CONTRACT FUNCTION [ARGS...]   any function, e.g. call Emission set_tip 5CLUB",
    "grant-role": "CONTRACT ROLE ACCOUNT",
    "revoke-role": "CONTRACT ROLE ACCOUNT",
    "release": "PLATFORM VERSION SHA256 URI   approve a client build",
    "revoke-release": "SHA256",
    "transfer": "TO AMOUNT   pay CLUB from the treasury (AMOUNT in wei or e.g. 2500CLUB)",
    "transfer-eth": "TO WEI   pay ETH from the treasury",
    "raw": "TARGET CALLDATA [VALUE]",
}


def from_words(manifest: Manifest, words: list[str]) -> Action:
    """Build an action from its command-line words, e.g. `["call", "Emission", "set_tip", "5CLUB"]`."""
    if not words:
        raise ActionError("name an action: " + ", ".join(ACTION_USAGE))
    kind, rest = words[0], list(words[1:])

    def need(n: int, at_most: int | None = None) -> None:
        if len(rest) < n or (at_most is not None and len(rest) > at_most):
            raise ActionError(f"usage: {kind} {ACTION_USAGE[kind]}")

    if kind == "call":
        need(2)
        return call(manifest, rest[0], rest[1], *rest[2:])
    if kind in ("grant-role", "revoke-role"):
        need(3, 3)
        build = grant_role if kind == "grant-role" else revoke_role
        return build(manifest, rest[0], rest[1], rest[2])
    if kind == "release":
        need(4, 4)
        return approve_release(manifest, *rest)
    if kind == "revoke-release":
        need(1, 1)
        return revoke_release(manifest, rest[0])
    if kind == "transfer":
        need(2, 2)
        return transfer_treasury(manifest, rest[0], rest[1])
    if kind == "transfer-eth":
        need(2, 2)
        return transfer_treasury(manifest, rest[0], rest[1], eth=True)
    if kind == "raw":
        need(2, 3)
        return raw(rest[0], rest[1], parse_arg("uint256", rest[2]) if len(rest) == 3 else 0)
    raise ActionError(f"unknown action {kind!r}; choose one of: {', '.join(ACTION_USAGE)}")
