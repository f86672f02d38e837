"""AdMarket from Python: receipts users sign, and the client advertisers, users and nodes use.

- `receipts`: the EIP-712 `Receipt` (digest, signing, typed data) and the `settle` batch items.
"""

from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest, receipt_typed_data, sign_receipt

__all__ = ["Receipt", "SignedReceipt", "receipt_digest", "receipt_typed_data", "sign_receipt"]
