"""Fetching TURN credentials from a TURN node's credential endpoint with a wallet sign-in.

`GET <endpoint>/nonce` gives a challenge; the client signs an EIP-4361 message bound to the
endpoint and that nonce and sends it in `GET <endpoint>?message=..&signature=..`; the answer is a
`turn-credentials` frame or an `error`. HTTP runs in a worker thread (stdlib urllib, with timeouts).
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from clubchat.client.relay_client import RelayError
from clubchat.protocol import messages as m
from clubchat.protocol.siwe import build_sign_in


def _get(url: str, timeout: float) -> m.Frame:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as err:
        body = err.read()
    except (urllib.error.URLError, OSError) as err:
        raise RelayError("unreachable", f"{url.split('?')[0]}: {err}") from None
    frame = m.decode_frame(body.decode())
    if isinstance(frame, m.Error):
        raise RelayError(frame.code, frame.reason)
    return frame


def fetch_sync(
    endpoint: str, account: LocalAccount, timeout: float = 10.0, ttl: int = 600
) -> m.TurnCredentials:
    challenge = _get(endpoint + "/nonce", timeout)
    if not isinstance(challenge, m.Challenge) or challenge.uri != endpoint:
        raise RelayError("malformed", f"{endpoint} answered its nonce request with something else")
    msg = build_sign_in(
        account.address,
        endpoint,
        challenge.chain_id,
        challenge.nonce,
        int(time.time()),
        min(ttl, challenge.max_ttl),
    )
    text = msg.text()
    sig = "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()
    creds = _get(endpoint + "?" + urlencode({"message": text, "signature": sig}), timeout)
    if not isinstance(creds, m.TurnCredentials):
        raise RelayError("malformed", f"{endpoint} did not answer with turn-credentials")
    return creds


async def fetch_turn_credentials(
    endpoint: str, account: LocalAccount, timeout: float = 10.0
) -> m.TurnCredentials:
    """TURN credentials for `account` from a credential endpoint (raises RelayError)."""
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(
        loop.run_in_executor(None, fetch_sync, endpoint, account, timeout), timeout + 1
    )
