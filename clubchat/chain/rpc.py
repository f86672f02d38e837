"""Connecting web3.py to a JSON-RPC endpoint, with a timeout and a clear error when nothing answers."""

from __future__ import annotations

from web3 import HTTPProvider, Web3

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEFAULT_TIMEOUT_SECONDS = 10.0


class ChainConnectionError(ConnectionError):
    """The RPC endpoint did not answer; the message says which URL and what to do."""


def connect(url: str = DEFAULT_RPC_URL, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Web3:
    """A Web3 on `url` whose every request gives up after `timeout` seconds.

    Raises ChainConnectionError when the endpoint does not answer `eth_chainId`.
    """
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - a cheap request that every node answers
    except Exception as exc:  # requests' and web3's errors alike mean "not reachable"
        raise ChainConnectionError(
            f"no Ethereum JSON-RPC node answers at {url} ({type(exc).__name__}); start one or pass its URL"
        ) from None
    return w3
