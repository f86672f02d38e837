"""A NOTIFY node's durable store of user-signed receipts, and settling them in batches.

One row per (campaign, user, node): the highest cumulative receipt the user signed, with its
signature and settlement hints. SQLite in WAL mode with `synchronous=FULL`, one transaction per
receipt, so a receipt acknowledged to the user survives a kill -9 of the node (as the mailbox
does). A receipt is stored only if it recovers to its user (EOA signatures; a contract wallet's
receipt is stored with `verified=False` and left for the chain to judge) and only if it raises the
stored count: receipts are monotonic, a lower or equal one changes nothing.

`settle_pending` reads from the chain what each stored receipt would still pay, sends batches of at
most 100 when their value reaches the operator's minimum, and forgets receipts the chain has fully
settled (or whose campaign closed), and receipts a batch skipped for a reason that cannot change
(`PERMANENT_SKIPS`: over the cap, budget exhausted, bad signature, ...), so they do not cost gas in
every later batch. A receipt skipped for membership, a community's gate, tier or stake stays: the
user may qualify later within the settlement window. A receipt of a targeted campaign whose user
does not qualify for its target community now (`Communities.is_qualified_member`, asked before
sending: not a member, or below a TOKEN_GATE gate) is held back from the batch instead of being
sent to be skipped: the node's view does not follow CLUB balances, and a user who sells below the
gate after receipting would otherwise cost the node a skipped receipt in every batch until
settlement closes. The NOTIFY node (clubchat.node.notify) adds
the receipts its users send and may run `settle_pending` itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_typing import HexStr
from eth_utils import to_checksum_address
from web3.exceptions import BadFunctionCallOutput, ContractLogicError
from web3.logs import DISCARD

from clubchat.ads.client import MAX_BATCH, AdMarketClient
from clubchat.ads.preferences import low_s_signer
from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest
from clubchat.chain.eip712 import Domain

# ReceiptSkipped reasons that the same receipt would meet again in any later batch.
PERMANENT_SKIPS = frozenset(
    {
        "ads: wrong node",
        "ads: unknown campaign",
        "ads: settlement closed",
        "ads: over the per-user cap",
        "ads: replayed or lowered",
        "ads: budget exhausted",
        "ads: bad signature",
        "ads: bad target",
    }
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS receipts (
    campaign INTEGER NOT NULL,
    user TEXT NOT NULL,
    node TEXT NOT NULL,
    count INTEGER NOT NULL,
    signature BLOB NOT NULL,
    target INTEGER NOT NULL,
    stake_node TEXT NOT NULL,
    verified INTEGER NOT NULL,
    PRIMARY KEY (campaign, user, node)
)
"""


def signed_by_user(domain: Domain, signed: SignedReceipt) -> bool:
    """True when the 65-byte signature is a low-s ECDSA signature of the receipt by its user."""
    signer = low_s_signer(receipt_digest(domain, signed.receipt), signed.signature)
    return signer is not None and signer.lower() == signed.receipt.user.lower()


class ReceiptStore:
    """The receipts one node collected, durable in SQLite at `path`."""

    def __init__(self, path: Path | str, domain: Domain) -> None:
        self.domain = domain
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add(self, signed: SignedReceipt, *, contract_wallet: bool = False) -> bool:
        """Store `signed` if it is the user's and raises the stored count; True when stored.

        `contract_wallet`: the user is a contract (EIP-1271); its signature cannot be checked
        here and is stored unverified (the chain checks it at settlement).
        """
        verified = signed_by_user(self.domain, signed)
        if not verified and not contract_wallet:
            return False
        r = signed.receipt
        key = (r.campaign, to_checksum_address(r.user), to_checksum_address(r.node))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT count FROM receipts WHERE campaign=? AND user=? AND node=?", key
            ).fetchone()
            if row is not None and int(row[0]) >= r.count:
                self.db.execute("ROLLBACK")
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    r.count,
                    signed.signature,
                    signed.target,
                    to_checksum_address(signed.stake_node),
                    verified,
                ),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return True

    def receipts(self, node: str) -> list[SignedReceipt]:
        """Every stored receipt delivered through `node`, oldest campaign first."""
        rows = self.db.execute(
            "SELECT campaign, user, node, count, signature, target, stake_node FROM receipts "
            "WHERE node=? ORDER BY campaign, user",
            (to_checksum_address(node),),
        ).fetchall()
        return [
            SignedReceipt(Receipt(int(c), str(u), str(n), int(k)), bytes(sig), int(t), str(sn))
            for c, u, n, k, sig, t, sn in rows
        ]

    def forget(self, receipt: Receipt) -> None:
        self.db.execute(
            "DELETE FROM receipts WHERE campaign=? AND user=? AND node=? AND count<=?",
            (
                receipt.campaign,
                to_checksum_address(receipt.user),
                to_checksum_address(receipt.node),
                receipt.count,
            ),
        )


@dataclass(frozen=True)
class SettleResult:
    """What one `settle_pending` pass did."""

    batches: tuple[str, ...]  # transaction hashes
    receipts: int  # receipts sent
    value_wei: int  # what they were worth at sending time
    forgotten: int  # stored receipts dropped as fully settled or closed
    waiting_wei: int  # value left waiting for the minimum
    skipped: int = 0  # receipts the batches skipped (those skipped for good are dropped too)
    held: int = 0  # receipts kept back: their user does not qualify for the target community now

    def lines(self) -> list[str]:
        club = 10**18
        return [
            f"sent {self.receipts} receipts in {len(self.batches)} batches, "
            f"worth {self.value_wei / club:,.6f} CLUB",
            f"dropped {self.forgotten} settled or closed receipts; "
            f"{self.waiting_wei / club:,.6f} CLUB waits for the minimum",
            *(
                [f"{self.skipped} receipts were skipped by the chain (ReceiptSkipped)"]
                if self.skipped
                else []
            ),
            *(
                [f"{self.held} receipts held back: their users do not qualify for the target community now"]
                if self.held
                else []
            ),
        ]


def settle_pending(
    store: ReceiptStore, client: AdMarketClient, node: str, min_value_wei: int
) -> SettleResult:
    """Settle what `node`'s stored receipts still pay, in batches of at most 100, if worth it.

    A receipt's value is (count - settled on chain) x the campaign's price. Nothing is sent when
    the total is below `min_value_wei` (the operator's margin over the gas cost).
    """
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    market = client.market.functions
    due: list[tuple[SignedReceipt, int]] = []
    forgotten = held = 0
    prices: dict[int, tuple[int, int]] = {}
    targets: dict[int, list[int]] = {}
    communities = client.w3.eth.contract(address=market.COMMUNITIES().call(), abi=_QUALIFIED_ABI)
    for signed in store.receipts(node):
        r = signed.receipt
        if r.campaign not in prices:
            c = market.campaign(r.campaign).call()
            prices[r.campaign] = (int(c[3]), int(c[6]) + int(c[7]))  # price, settlement close
            targets[r.campaign] = [int(t) for t in market.targets(r.campaign).call()]
        price, closes = prices[r.campaign]
        settled = int(market.settled(r.campaign, r.user, r.node).call())
        if settled >= r.count or now > closes:
            store.forget(r)
            forgotten += 1
            continue
        ids = targets[r.campaign]
        if ids and signed.target < len(ids) and not _qualified(communities, ids[signed.target], r.user):
            held += 1  # kept: the user may meet the gate again before settlement closes
            continue
        due.append((signed, (r.count - settled) * price))
    value = sum(v for _, v in due)
    if not due or value < min_value_wei:
        return SettleResult((), 0, 0, forgotten, value, held=held)
    hashes = []
    skipped = 0
    for start in range(0, len(due), MAX_BATCH):
        chunk = [s for s, _ in due[start : start + MAX_BATCH]]
        tx = client.settle(node, chunk)
        hashes.append(tx)
        receipt = client.w3.eth.get_transaction_receipt(HexStr(tx))
        for ev in client.market.events.ReceiptSkipped().process_receipt(receipt, errors=DISCARD):
            skipped += 1
            a = ev["args"]
            if a["reason"] in PERMANENT_SKIPS:
                store.forget(Receipt(int(a["campaign"]), str(a["user"]), str(a["node"]), int(a["count"])))
    return SettleResult(tuple(hashes), len(due), value, forgotten, 0, skipped, held)


# Communities' `is_qualified_member`, the one call `settle_pending` makes on it.
_QUALIFIED_ABI = [
    {
        "type": "function",
        "name": "is_qualified_member",
        "stateMutability": "view",
        "inputs": [{"name": "community_id", "type": "uint256"}, {"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


def _qualified(communities: Any, community: int, user: str) -> bool:
    """Whether settlement would take `user` for `community` now (a member meeting its gate). A
    Communities deployed before the view existed cannot say: the receipt is left to the chain."""
    try:
        return bool(communities.functions.is_qualified_member(community, user).call())
    except (ContractLogicError, BadFunctionCallOutput):
        return True
