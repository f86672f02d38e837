"""What the person deploying chooses, validated without ape: beneficiaries of the vesting allocations.

Kept apart from the ape backend so the rules are unit-tested without starting ape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from eth_utils import is_address, to_checksum_address

from clubchat.params import Parameters

# Environment variable naming the beneficiary of vesting allocation NAME on live networks.
BENEFICIARY_ENV = "CLUBCHAT_BENEFICIARY_{}"


class DeployError(RuntimeError):
    """A deployment cannot proceed; the message says what to fix."""


def parse_beneficiaries(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`("team=0xabc…", …)` from the command line into a checksummed mapping."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, address = pair.partition("=")
        if not sep or not name or not is_address(address):
            raise DeployError(f"--beneficiary takes NAME=0xADDRESS (e.g. team=0x…), got {pair!r}")
        result[name.strip()] = str(to_checksum_address(address))
    return result


def resolve_beneficiaries(
    params: Parameters,
    given: Mapping[str, str],
    *,
    is_dev: bool,
    test_accounts: list[str],
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Beneficiary of every vesting allocation in the parameters file.

    On a local chain the allocations go to distinct test accounts (1, 2, 3, …;
    account 0 deploys) unless given. On live networks each must be given with
    `--beneficiary NAME=0x…` or `CLUBCHAT_BENEFICIARY_<NAME>`: a deployment never
    silently vests tokens to a placeholder.
    """
    names = [a.name for a in params.genesis.vesting]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise DeployError(
            f"--beneficiary {unknown[0]} is not a vesting allocation of the parameters file "
            f"(allocations: {', '.join(names)})"
        )
    result: dict[str, str] = {}
    for index, name in enumerate(names):
        env_name = BENEFICIARY_ENV.format(name.upper())
        if name in given:
            result[name] = given[name]
        elif env_name in environ:
            result[name] = parse_beneficiaries([f"{name}={environ[env_name]}"])[name]
        elif is_dev and index + 1 < len(test_accounts):
            result[name] = test_accounts[index + 1]
        else:
            raise DeployError(
                f"no beneficiary for the {name!r} vesting allocation: pass --beneficiary {name}=0x… "
                f"or set {env_name}"
            )
    return result
