"""One-line errors for the command line: known failures become one sentence, `--debug` keeps the traceback.

`@one_line_errors` wraps a click command: an error a user can cause (a revert, an unreachable RPC, a
manifest of another chain, a busy port, a refused amount, key or URI) ends the command with
`Error: <one sentence>` and exit code 1. With `club --debug …` (or `CLUB_DEBUG=1`) the exception is
re-raised with its traceback.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def debug_enabled() -> bool:
    """True under `club --debug` or with CLUB_DEBUG set to anything but 0/empty."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
        return True
    return os.environ.get("CLUB_DEBUG", "") not in ("", "0")


def one_sentence(exc: BaseException) -> str | None:
    """The sentence for an error a user can cause, None for a bug (which keeps its traceback)."""
    from web3.exceptions import ContractLogicError, Web3RPCError

    from clubchat.ads.client import AdsError
    from clubchat.amounts import AmountError
    from clubchat.chain.local import LocalChainError
    from clubchat.chain.manifest import ManifestError
    from clubchat.chain.rpc import ChainConnectionError
    from clubchat.chain.tx import TransactionFailed, revert_reason
    from clubchat.communities.client import CommunityError
    from clubchat.communities.merkle import MerkleError
    from clubchat.crypto.keystore import KeystoreError
    from clubchat.disputes.client import DisputeError
    from clubchat.premium.client import PremiumError
    from clubchat.registry.kinds import RegistryError

    known = (
        TransactionFailed,
        RegistryError,
        ChainConnectionError,
        ManifestError,
        AmountError,
        LocalChainError,
        CommunityError,
        PremiumError,
        MerkleError,
        AdsError,
        DisputeError,
        KeystoreError,
    )
    if isinstance(exc, known):
        return str(exc)
    if isinstance(exc, ContractLogicError | Web3RPCError):
        return f"the chain refused the call: {revert_reason(exc)}"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"a port is already in use ({exc.strerror}); pick another port or stop the process using it"
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"{type(exc).__name__}: {exc}; check the URL and that the service runs"
    return None


def one_line_errors(fn: F) -> F:
    """Decorate a click command so that known errors end it in one sentence (see the module doc)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            sentence = one_sentence(exc)
            if sentence is None or debug_enabled():
                raise
            raise click.ClickException(sentence) from None

    return wrapper  # type: ignore[return-value]


def call_in_one_sentence(fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn(*args)`; an error a user can cause becomes a click error of one sentence (for the
    `ape run` scripts, whose commands cannot take `one_line_errors`' context)."""
    try:
        return fn(*args)
    except click.ClickException:
        raise
    except Exception as exc:
        sentence = one_sentence(exc)
        if sentence is None:
            raise
        raise click.ClickException(sentence) from None
