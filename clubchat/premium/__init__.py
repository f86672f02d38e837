"""Premium from Python: `PremiumClient` (subscribe, gift, lock, unlock, settle, status).

Tiers and their limits are read from the contract; relays read them from the log-fed
`clubchat.communities.cache.TierCache`.
"""

from clubchat.premium.client import PremiumClient, PremiumError, PremiumStatus, Tier

__all__ = ["PremiumClient", "PremiumError", "PremiumStatus", "Tier"]
