"""AdMarket from Python: receipts users sign, and the client advertisers, users and nodes use.

- `receipts`: the EIP-712 `Receipt` (digest, signing, typed data) and the `settle` batch items;
- `client`: `AdMarketClient`, one method per action (campaigns, earnings, settlement, paid
  message requests), `CampaignSpec` and the typed `CampaignStatus`;
- `cli`: `club ads …`.

web3.py over the deployment manifest (no ape at run time); transactions go through a
`clubchat.chain.Sender`.
"""

from clubchat.ads.client import AdMarketClient, AdsError, CampaignSpec, CampaignStatus
from clubchat.ads.receipts import Receipt, SignedReceipt, receipt_digest, receipt_typed_data, sign_receipt

__all__ = [
    "AdMarketClient",
    "AdsError",
    "CampaignSpec",
    "CampaignStatus",
    "Receipt",
    "SignedReceipt",
    "receipt_digest",
    "receipt_typed_data",
    "sign_receipt",
]
