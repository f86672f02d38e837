"""Ad notification frames between NOTIFY nodes and clients (clubchat.node.notify delivers them;
receipts and preferences: clubchat.ads).

  node -> client  notification, ad-preference-set, receipted
  client -> node  ad-preference, ad-receipt
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clubchat.protocol.codec import spec
from clubchat.protocol.wire import ADDRESS_PATTERN, BYTES32_PATTERN, HEX_SIGNATURE_PATTERN

MAX_CREATIVE_URI = 256  # AdMarket's creative URI limit
MAX_AD_TEXT = 1_024  # characters of a creative's text a notification carries
UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class AdPreference:
    """client -> NOTIFY node: the user's signed ad setting, EIP-712
    `AdPreference(address user,bool enabled,uint256 issued)` in the AdMarket domain. The node keeps
    the one with the highest `issued` (unix seconds) per user, so an old opt-in cannot be replayed
    over a newer opt-out; the user must be the signed-in address."""

    TYPE: ClassVar[str] = "ad-preference"
    user: str = spec(pattern=ADDRESS_PATTERN)
    enabled: bool = spec()
    issued: int = spec(minimum=0, maximum=2**53)
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


@dataclass(frozen=True)
class AdPreferenceSet:
    """NOTIFY node -> client: the setting the node now holds for the signed-in user."""

    TYPE: ClassVar[str] = "ad-preference-set"
    enabled: bool = spec()
    issued: int = spec(minimum=0, maximum=2**53)


@dataclass(frozen=True)
class Notification:
    """NOTIFY node -> client: one notification of an AdMarket campaign. `count` is how many of the
    campaign's notifications this node has delivered to the user (the count its receipt names);
    `node` the node's registry address; the client checks keccak256(text) == `creative_hash`."""

    TYPE: ClassVar[str] = "notification"
    campaign: int = spec(minimum=1, maximum=2**53)
    node: str = spec(pattern=ADDRESS_PATTERN)
    count: int = spec(minimum=1, maximum=2**53)
    creative_hash: str = spec(key="creativeHash", pattern=BYTES32_PATTERN)
    creative_uri: str = spec(key="creativeUri", max_len=MAX_CREATIVE_URI)
    text: str = spec(max_len=MAX_AD_TEXT)


@dataclass(frozen=True)
class AdReceipt:
    """client -> NOTIFY node: the signed-in user's cumulative EIP-712 `Receipt` for `count`
    notifications of `campaign` through `node` (clubchat.ads.receipts)."""

    TYPE: ClassVar[str] = "ad-receipt"
    campaign: int = spec(minimum=1, maximum=2**53)
    node: str = spec(pattern=ADDRESS_PATTERN)
    count: int = spec(minimum=1, maximum=2**53)
    signature: str = spec(pattern=HEX_SIGNATURE_PATTERN)


@dataclass(frozen=True)
class Receipted:
    """NOTIFY node -> client: the receipt is stored durably (it survives a crash of the node)."""

    TYPE: ClassVar[str] = "receipted"
    campaign: int = spec(minimum=1, maximum=2**53)
    count: int = spec(minimum=1, maximum=2**53)


AD_FRAMES = (AdPreference, AdPreferenceSet, Notification, AdReceipt, Receipted)
AD_CLIENT_FRAMES = ("ad-preference", "ad-receipt")
AD_ERROR_CODES = {
    "bad-ad-preference": "the ad preference is not the signed-in user's, or older than the one held",
    "bad-receipt": "the receipt is not the signed-in user's, names another node, or counts too many",
    "payment-required": "the recipient takes first messages from strangers only as paid requests",
}
