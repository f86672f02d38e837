"""The user's side of ad notifications on a relay connection to a NOTIFY node.

`AdInbox.attach(client, key, domain)` takes over a signed-in `RelayClient`'s ad frames:
- `set_preference(enabled)` signs an EIP-712 `AdPreference` (clubchat.ads.preferences) and waits
  for the node's `ad-preference-set`;
- each `notification` is checked (the creative's keccak256 must be its `creative_hash`, the count
  must not be below what this user already receipted for that campaign and node, and at most the
  user's own cap `max_per_campaign`) and, when the user is opted in, kept and answered with a signed
  cumulative `ad-receipt` (clubchat.ads.receipts; the same count again when the node hands out a
  notification whose receipt it lost); an opted-out inbox signs nothing;
- `receipted` frames confirm what the node stored.

A contract-wallet user (EIP-1271) whose wallet wants something other than its owner's plain ECDSA
signature of the EIP-712 digest sets `sign_digest` (digest -> the 65 bytes the wallet's
`isValidSignature` accepts; AdMarket hands the wallet exactly r || s || v); without it, `key`
signs the digest. `WalletAccount` is such a user for a wallet that accepts its owner's plain ECDSA
signature of the hash it is asked about: the owner's key signs the sign-in, the settings and the
receipts, in the wallet's name (what `club ads opt-in --wallet` uses).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from clubchat.ads.preferences import AdPreference, preference_digest, sign_preference
from clubchat.ads.receipts import Receipt, receipt_digest, sign_receipt
from clubchat.chain.eip712 import Domain
from clubchat.client.relay_client import RelayClient, RelayError
from clubchat.protocol import messages as m


@dataclass
class AdInbox:
    """Ad notifications received on one relay connection, and the receipts signed for them."""

    client: RelayClient
    key: bytes  # the user's private key (signs preferences and receipts)
    domain: Domain  # the AdMarket EIP-712 domain
    enabled: bool = False
    issued: int = 0  # `issued` of the last setting sent
    max_per_campaign: int = 1_000  # never sign for more notifications of one campaign than this
    shown: list[m.Notification] = field(default_factory=list)  # accepted, in arrival order
    rejected: list[tuple[m.Notification, str]] = field(default_factory=list)
    counts: dict[tuple[int, str], int] = field(default_factory=dict)  # (campaign, node) -> receipted
    confirmed: dict[int, int] = field(default_factory=dict)  # campaign -> count the node stored
    errors: list[m.Error] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set on every new frame
    sign_digest: Callable[[bytes], bytes] | None = None  # a contract wallet's signer (see the module)

    @classmethod
    def attach(cls, client: RelayClient, key: bytes, domain: Domain, enabled: bool = False) -> AdInbox:
        """Route `client`'s ad frames here (call right after `RelayClient.connect`, before any await,
        so notifications handed out at sign-in are not missed)."""
        inbox = cls(client, key, domain, enabled)
        client.on_other = inbox._on_frame
        return inbox

    async def set_preference(self, enabled: bool, issued: int | None = None) -> m.AdPreferenceSet:
        """Sign and send the setting; raises RelayError when the node refuses it."""
        if issued is None:  # strictly after this inbox's last setting (two changes in one second)
            issued = max(int(time.time()), self.issued + 1)
        self.issued = issued
        pref = AdPreference(self.client.address, enabled, issued)
        if self.sign_digest is not None:
            sig = self.sign_digest(preference_digest(self.domain, pref))
        else:
            sig = sign_preference(self.key, self.domain, pref)
        self.enabled = enabled  # from now on: sign nothing when opted out
        start = len(self.errors)
        frame = m.AdPreference(
            user=pref.user, enabled=enabled, issued=pref.issued, signature="0x" + sig.hex()
        )
        self._answer: asyncio.Future[m.AdPreferenceSet] = asyncio.get_running_loop().create_future()
        await self.client._send(m.encode(frame))
        try:
            return await asyncio.wait_for(self._answer, self.client.timeout)
        except TimeoutError:
            if len(self.errors) > start:
                err = self.errors[-1]
                raise RelayError(err.code, err.reason) from None
            raise

    async def wait(self, condition: Any, timeout: float = 10.0) -> None:
        """Wait until `condition()` holds (checked after every ad frame)."""
        async with asyncio.timeout(timeout):
            while not condition():
                self.arrived.clear()
                await self.arrived.wait()

    async def _on_frame(self, frame: Any) -> None:
        try:
            if isinstance(frame, m.Notification):
                await self._notification(frame)
            elif isinstance(frame, m.Receipted):
                self.confirmed[frame.campaign] = max(self.confirmed.get(frame.campaign, 0), frame.count)
            elif isinstance(frame, m.AdPreferenceSet):
                answer = getattr(self, "_answer", None)
                if answer is not None and not answer.done():
                    answer.set_result(frame)
            elif isinstance(frame, m.Error):
                self.errors.append(frame)
                answer = getattr(self, "_answer", None)
                refused = frame.code in ("bad-ad-preference", "not-offered")
                if refused and answer is not None and not answer.done():
                    answer.set_exception(RelayError(frame.code, frame.reason))
        finally:
            self.arrived.set()

    def _check(self, n: m.Notification) -> str | None:
        if not self.enabled:
            return "opted out"
        if "0x" + keccak(n.text.encode()).hex() != n.creative_hash.lower():
            return "the text does not match the creative hash"
        done = self.counts.get((n.campaign, n.node.lower()), 0)
        if n.count < done:
            return "below what was receipted"
        if n.count > self.max_per_campaign:
            return "above this user's own cap"
        return None

    async def _notification(self, n: m.Notification) -> None:
        problem = self._check(n)
        if problem is not None:
            self.rejected.append((n, problem))
            return
        if n.count > self.counts.get((n.campaign, n.node.lower()), 0):
            self.shown.append(n)  # else: handed out again (the node lost our receipt): sign it again
        receipt = Receipt(n.campaign, self.client.address, n.node, n.count)
        if self.sign_digest is not None:
            sig = self.sign_digest(receipt_digest(self.domain, receipt))
        else:
            sig = sign_receipt(self.key, self.domain, receipt).packed()
        self.counts[(n.campaign, n.node.lower())] = n.count
        frame = m.AdReceipt(campaign=n.campaign, node=n.node, count=n.count, signature="0x" + sig.hex())
        await self.client._send(m.encode(frame))


def notify_uris(discovery: Any, user: str, k: int = 3) -> list[str]:
    """The WebSocket URIs of the NOTIFY nodes `user` is drawn to (its rendezvous sample of NOTIFY
    nodes; a NOTIFY node registers its relay endpoint's http(s) form, served on the same port)."""
    from clubchat.registry import NOTIFY
    from clubchat.registry.discovery import address_seed

    uris = []
    for node in discovery.sample(NOTIFY, address_seed(user), k):  # bound: k nodes
        endpoint = discovery.endpoint(node, NOTIFY)
        if endpoint.startswith(("http://", "https://")):
            uris.append("ws" + endpoint.removeprefix("http"))
    return uris


@dataclass(frozen=True)
class WalletAccount:
    """A contract wallet (EIP-1271) whose owner's key signs for it: what `RelayClient.connect`,
    `AdInbox` and `send_preference` need of an account (an address, a key, `sign_message`). The
    node checks each signature with the wallet's `isValidSignature`, so this works only for a
    wallet that accepts its owner's ECDSA signature of the hash itself (EIP-191 for the sign-in,
    the EIP-712 digest for settings and receipts); other wallets set `AdInbox.sign_digest`."""

    address: str
    owner: Any  # a LocalAccount

    @property
    def key(self) -> bytes:
        return bytes(self.owner.key)

    def sign_message(self, message: Any) -> Any:
        return self.owner.sign_message(message)


async def send_preference(
    uris: list[str], account: Any, domain: Domain, enabled: bool, timeout: float = 10.0
) -> list[tuple[str, str]]:
    """Sign in to each NOTIFY node and send the signed setting; (uri, "ok" or why not) per node."""
    issued = int(time.time())
    results = []
    for uri in uris:  # bound: the nodes given
        try:
            client = await RelayClient.connect(uri, account, timeout=timeout)  # an EOA or a WalletAccount
        except (OSError, TimeoutError, RelayError) as exc:
            results.append((uri, f"not reached: {exc}"))
            continue
        try:
            inbox = AdInbox.attach(client, bytes(account.key), domain, enabled)
            await inbox.set_preference(enabled, issued)
            results.append((uri, "ok"))
        except (RelayError, TimeoutError) as exc:
            results.append((uri, f"refused: {exc}"))
        finally:
            await client.close()
    return results
