"""Paid message requests at the relay: first messages from strangers to a user who set a price.

A user may set a price for first messages from strangers (`AdMarket.set_request_price`); a stranger
escrows it (`send_request`). A relay that follows AdMarket (`clubchat.node.notify_chain.AdMarketView`)
forwards or stores an envelope to such a user only when the sender is not a stranger or has paid:
- the recipient asks no price (the common case: one dict lookup);
- the sender's request to the recipient is escrowed now, or was accepted once;
- the two share a community (Communities' membership events);
- the recipient wrote to the sender first through this relay (a conversation it started).
Anything else is refused with `payment-required`, naming the price and the command that pays it.
The relay's view trails the chain by its confirmation depth, so a request escrowed a few seconds
ago may be refused once; the client retries after its `send_request` is confirmed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clubchat.amounts import format_club
from clubchat.node.notify_chain import AdMarketView

if TYPE_CHECKING:
    from clubchat.node.relay import RelayServer
    from clubchat.node.relay_conn import Conn

MAX_CONTACTS = 1_000_000  # (priced user, peer) pairs remembered; past it the oldest half is dropped


class RequestGate:
    """Decides per envelope whether a priced recipient takes it (see the module docstring)."""

    def __init__(self, view: AdMarketView) -> None:
        self.view = view
        self.contacts: dict[tuple[str, str], None] = {}  # (priced user, peer it wrote to), ordered
        self.refused = 0

    def admits(self, relay: RelayServer, conn: Conn, env: dict[str, Any], now: float) -> bool:
        """True to forward `env` (from `conn`); False after answering `payment-required`."""
        to = env["to"].lower()
        sender = conn.address
        assert sender is not None
        if sender in self.view.request_price:  # a priced user writing: its peer may answer
            self._remember(sender, to)
        price = self.view.request_price.get(to)
        if price is None or self.paid_or_known(sender, to, int(self.view.now())):
            return True
        self.refused += 1
        relay._error(
            conn,
            "payment-required",
            f"{env['to']} takes first messages from strangers as paid requests of {format_club(price)}: "
            f"`club ads request send {env['to']} --max-price …`",
            env["id"],
        )
        return False

    def paid_or_known(self, sender: str, recipient: str, now: int) -> bool:
        pair = (sender, recipient)
        view = self.view
        return (
            pair in view.escrows
            or pair in view.accepted
            or (recipient, sender) in self.contacts
            or view.share_community(sender, recipient, now)
        )

    def _remember(self, user: str, peer: str) -> None:
        key = (user, peer)
        if key in self.contacts:
            return
        if len(self.contacts) >= MAX_CONTACTS:  # bound: drop the oldest half at once (amortised O(1))
            for old in list(self.contacts)[: MAX_CONTACTS // 2]:
                del self.contacts[old]
        self.contacts[key] = None
