"""Premium's governance setters: set_tier and set_terms, their role and their bounds."""

from __future__ import annotations

import boa

from tests.utils.communities import WAD, events

ROLE_MISSING = "access_control: account is missing role"


def test_only_governance_sets(premium, non_admin):
    with boa.env.prank(non_admin), boa.reverts(ROLE_MISSING):
        premium.set_tier(1, [1, 1, 1, 1], 1, 0)
    with boa.env.prank(non_admin), boa.reverts(ROLE_MISSING):
        premium.set_terms(3600, 0, 0)


def test_set_tier_adds_and_changes_tiers(premium, governance):
    count = premium.tier_count()
    with boa.env.prank(governance):
        premium.set_tier(count + 1, [1, 2, 3, 4], 5 * WAD, 6 * WAD)
    assert events(premium, "TierChanged") == [
        {
            "tier": count + 1,
            "max_message_bytes": 1,
            "max_file_bytes": 2,
            "max_call_seconds": 3,
            "mailbox_quota_bytes": 4,
            "price_per_period": 5 * WAD,
            "lock_amount": 6 * WAD,
        }
    ]
    assert premium.tier_count() == count + 1
    with boa.env.prank(governance):
        premium.set_tier(0, [10, 20, 60, 40], 0, 0)  # e.g. a demo's short free call
    assert premium.tiers(0).max_call_seconds == 60 and premium.tier_count() == count + 1


def test_set_tier_bounds(premium, governance):
    count = premium.tier_count()
    with boa.env.prank(governance):
        with boa.reverts("premium: no such tier"):
            premium.set_tier(count + 2, [1, 1, 1, 1], 1, 0)
        with boa.reverts("premium: the free tier has no price or lock"):
            premium.set_tier(0, [1, 1, 1, 1], 1, 0)
        with boa.reverts("premium: the free tier has no price or lock"):
            premium.set_tier(0, [1, 1, 1, 1], 0, 1)
        with boa.reverts("premium: tier needs a price or a lock"):
            premium.set_tier(1, [1, 1, 1, 1], 0, 0)
        with boa.reverts("premium: price too high"):
            premium.set_tier(1, [1, 1, 1, 1], 10**27 + 1, 0)
        for tier in range(count + 1, 8):
            premium.set_tier(tier, [1, 1, 1, 1], 1, 0)
        with boa.reverts("premium: no such tier"):
            premium.set_tier(8, [1, 1, 1, 1], 1, 0)  # MAX_TIER is 7


def test_set_terms(premium, governance):
    with boa.env.prank(governance):
        premium.set_terms(7 * 86400, 2500, 3600)
    assert events(premium, "TermsChanged") == [
        {"period_seconds": 7 * 86400, "burn_bps": 2500, "unlock_delay_seconds": 3600}
    ]
    assert (premium.period_seconds(), premium.burn_bps(), premium.unlock_delay_seconds()) == (
        7 * 86400,
        2500,
        3600,
    )
    with boa.env.prank(governance):
        for period in (3599, 365 * 86400 + 1):
            with boa.reverts("premium: period out of range"):
                premium.set_terms(period, 0, 0)
        with boa.reverts("premium: burn share above 100%"):
            premium.set_terms(3600, 10_001, 0)
        with boa.reverts("premium: unlock delay too long"):
            premium.set_terms(3600, 0, 365 * 86400 + 1)


def test_constructor_checks(token, registry, deployer):
    from clubchat.deploy.boa_backend import deployer_for

    factory = deployer_for("Premium")
    with boa.env.prank(deployer), boa.reverts("premium: zero registry"):
        factory.deploy(token.address, "0x0000000000000000000000000000000000000000", 3600, 0, 0, [1, 1, 1, 1])
    with boa.env.prank(deployer), boa.reverts("premium: period out of range"):
        factory.deploy(token.address, registry.address, 10, 0, 0, [1, 1, 1, 1])
