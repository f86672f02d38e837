"""Evidence that a NOTIFY node submitted forged ad receipts, for a flag in Disputes.

`AdMarket.settle` skips a receipt whose signature is not its user's with
`ReceiptSkipped(campaign, user, node, count, "ads: bad signature")`; only the node (or its key)
sends batches for that node, so each such event shows the node claimed views of a user who never
signed for them. The evidence document lists those events by transaction and log index:

    {"kind": "clubchat/ads-forged-receipts/v1", "chainId": 1, "market": "0x…", "node": "0x…",
     "receipts": [{"tx": "0x…", "logIndex": 3, "campaign": 1, "user": "0x…", "count": 9}, …]}

as canonical JSON (sorted keys, no spaces). `evidence_uri` names it by content, `keccak256:0x…`
(it fits Disputes' 256-character evidence URI); a reviewer who is given the document checks its
hash and re-reads every event from the chain with `verify`. Other skip reasons (over the cap,
replayed, not a member, ...) are races or stale caches, not evidence, and are never listed.

Nor is a bad-signature skip of a user that is a contract (it had code in the block of the batch):
a contract wallet answers EIP-1271 as it likes at settlement time (its owner rotated a key, or it
withdrew its approval on purpose to get an honest node flagged), so the node may have held a
receipt the wallet accepted when it was signed. Only a receipt of an account without code, whose
ECDSA signature cannot change, shows forgery. `find_forged` leaves them out; `verify` refuses them.

A flag for it takes Disputes reason 7 ("forged-ad-receipts"); the reviewers' node software runs
`find_forged` on the flagged node's settled batches itself (clubchat.disputes.probe.audit_ad_receipts)
and `verify` checks a document a flagger hands out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address

KIND = "clubchat/ads-forged-receipts/v1"
FORGED_REASON = "ads: bad signature"


@dataclass(frozen=True)
class ForgedReceipt:
    """One `ReceiptSkipped` event with the bad-signature reason."""

    tx: str  # transaction hash, 0x-hex
    log_index: int
    campaign: int
    user: str
    count: int

    def as_json(self) -> dict[str, Any]:
        return {
            "tx": self.tx,
            "logIndex": self.log_index,
            "campaign": self.campaign,
            "user": self.user,
            "count": self.count,
        }


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


def find_forged(
    market: Any, node: str, from_block: int, to_block: int | str = "latest"
) -> list[ForgedReceipt]:
    """The bad-signature skips of batches settled for `node` (a web3.py AdMarket contract)."""
    logs = market.events.ReceiptSkipped.get_logs(
        argument_filters={"node": to_checksum_address(node)}, from_block=from_block, to_block=to_block
    )
    w3 = market.w3
    return [
        ForgedReceipt(
            _hex(ev["transactionHash"]),
            int(ev["logIndex"]),
            int(ev["args"]["campaign"]),
            to_checksum_address(ev["args"]["user"]),
            int(ev["args"]["count"]),
        )
        for ev in logs  # bound: the block range asked for
        if ev["args"]["reason"] == FORGED_REASON
        and not _is_contract(w3, ev["args"]["user"], ev["blockNumber"])
    ]


def _is_contract(w3: Any, account: str, block: int) -> bool:
    """True when `account` had code in `block` (a contract wallet: its EIP-1271 answer may change)."""
    return bool(w3.eth.get_code(to_checksum_address(account), block_identifier=int(block)))


def evidence_json(chain_id: int, market: str, node: str, receipts: list[ForgedReceipt]) -> str:
    """The canonical evidence document."""
    doc = {
        "kind": KIND,
        "chainId": chain_id,
        "market": to_checksum_address(market),
        "node": to_checksum_address(node),
        "receipts": [r.as_json() for r in receipts],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def evidence_uri(document: str) -> str:
    """The content name of `document` for `Disputes.flag`'s evidence URI."""
    return "keccak256:0x" + keccak(text=document).hex()


def verify(w3: Any, market: Any, document: str, uri: str | None = None) -> list[ForgedReceipt]:
    """Check `document` against the chain (and `uri`, when given); returns its receipts or raises
    ValueError saying what does not hold."""
    if uri is not None and evidence_uri(document) != uri:
        raise ValueError("the document does not hash to the evidence URI")
    doc = json.loads(document)
    if doc.get("kind") != KIND or int(doc["chainId"]) != int(w3.eth.chain_id):
        raise ValueError("not forged-receipt evidence for this chain")
    if to_checksum_address(doc["market"]) != to_checksum_address(market.address):
        raise ValueError("the evidence names another AdMarket")
    node = to_checksum_address(doc["node"])
    found = []
    for item in doc["receipts"]:  # bound: the document's list
        claimed = ForgedReceipt(
            item["tx"], int(item["logIndex"]), int(item["campaign"]), item["user"], int(item["count"])
        )
        receipt = w3.eth.get_transaction_receipt(claimed.tx)
        events = [
            e
            for e in market.events.ReceiptSkipped().process_receipt(receipt)
            if int(e["logIndex"]) == claimed.log_index
        ]
        if not events:
            raise ValueError(f"no ReceiptSkipped at {claimed.tx} log {claimed.log_index}")
        a = events[0]["args"]
        seen = (
            int(a["campaign"]),
            to_checksum_address(a["user"]),
            to_checksum_address(a["node"]),
            int(a["count"]),
        )
        if seen != (claimed.campaign, to_checksum_address(claimed.user), node, claimed.count):
            raise ValueError(f"the event at {claimed.tx} log {claimed.log_index} says otherwise")
        if a["reason"] != FORGED_REASON:
            raise ValueError(
                f"the receipt at {claimed.tx} log {claimed.log_index} was skipped for {a['reason']!r}"
            )
        if _is_contract(w3, claimed.user, int(receipt["blockNumber"])):
            raise ValueError(
                f"the user at {claimed.tx} log {claimed.log_index} is a contract wallet: its EIP-1271 "
                "answer may have changed since it signed, so a bad signature is not evidence"
            )
        found.append(claimed)
    return found
