"""Premium from Python: `PremiumClient` (subscribe, gift, lock, unlock, settle, status) and
`split_payment`, the contract's burn/node split of a payment.

Tiers and their limits are read from the contract; relays read them from the log-fed
`clubchat.communities.cache.TierCache`.
"""

from clubchat.premium.client import PremiumClient, PremiumError, PremiumStatus, Tier
from clubchat.premium.split import split_payment, subscription_cost

__all__ = ["PremiumClient", "PremiumError", "PremiumStatus", "Tier", "split_payment", "subscription_cost"]
