"""AdMarket paid message requests: price, escrow, accept (with burn), decline, reclaim after timeout."""

from __future__ import annotations

import boa
import pytest

from tests.utils.ads import WAD, events, give, now


@pytest.fixture
def recipient() -> str:
    return str(boa.env.generate_address("request_recipient"))


@pytest.fixture
def stranger(token, market, governance) -> str:
    who = str(boa.env.generate_address("request_stranger"))
    give(token, governance, who, 100 * WAD, market)
    return who


@pytest.fixture
def priced(market, recipient) -> str:
    with boa.env.prank(recipient):
        market.set_request_price(5 * WAD)
    return recipient


@pytest.fixture
def pending(market, priced, stranger) -> int:
    with boa.env.prank(stranger):
        market.send_request(priced, 5 * WAD)
    return market.request(stranger, priced)[1]


def test_set_price(market, recipient):
    with boa.env.prank(recipient):
        market.set_request_price(3)
    (event,) = events(market, "RequestPriceSet")
    assert (event.account, event.price) == (recipient, 3)
    assert market.request_price(recipient) == 3


def test_price_too_large(market, recipient):
    with boa.env.prank(recipient), boa.reverts("ads: amount too large"):
        market.set_request_price(2**96)


def test_send_escrows_the_price(market, token, priced, stranger):
    with boa.env.prank(stranger):
        assert market.send_request(priced, 6 * WAD) == 5 * WAD
    (event,) = events(market, "RequestSent")
    expires = now() + market.request_timeout_seconds()
    assert (event.sender, event.recipient, event.amount, event.expires) == (
        stranger,
        priced,
        5 * WAD,
        expires,
    )
    assert market.request(stranger, priced) == (5 * WAD, expires)
    assert token.balanceOf(stranger) == 95 * WAD
    assert token.balanceOf(market.address) == 5 * WAD


def test_send_to_someone_taking_none(market, recipient, stranger):
    with boa.env.prank(stranger), boa.reverts("ads: recipient takes no paid requests"):
        market.send_request(recipient, 10 * WAD)


def test_price_raised_in_front(market, priced, stranger):
    with boa.env.prank(stranger), boa.reverts("ads: price above max_price"):
        market.send_request(priced, 5 * WAD - 1)


def test_send_to_self(market, token, governance, priced):
    give(token, governance, priced, 10 * WAD, market)
    with boa.env.prank(priced), boa.reverts("ads: request to self"):
        market.send_request(priced, 5 * WAD)


def test_one_pending_request_per_pair(market, pending, priced, stranger):
    with boa.env.prank(stranger), boa.reverts("ads: request already pending"):
        market.send_request(priced, 5 * WAD)


def test_send_without_allowance(market, priced, non_admin):
    with boa.env.prank(non_admin), boa.reverts("erc20: insufficient allowance"):
        market.send_request(priced, 5 * WAD)


def test_accept_earns_minus_burn(market, pending, priced, stranger):
    with boa.env.prank(priced):
        assert market.accept_request(stranger) == 4_500_000_000_000_000_000
    (event,) = events(market, "RequestAccepted")
    assert (event.sender, event.recipient, event.amount, event.burned) == (
        stranger,
        priced,
        5 * WAD,
        WAD // 2,
    )
    assert market.balances(priced) == 9 * WAD // 2
    assert market.burn_pending() == WAD // 2
    assert market.request(stranger, priced) == (0, 0)


def test_accept_nothing(market, priced, stranger):
    with boa.env.prank(priced), boa.reverts("ads: no pending request"):
        market.accept_request(stranger)


def test_accept_twice(market, pending, priced, stranger):
    with boa.env.prank(priced):
        market.accept_request(stranger)
        with boa.reverts("ads: no pending request"):
            market.accept_request(stranger)


def test_accept_after_expiry(market, pending, priced, stranger):
    boa.env.time_travel(seconds=pending - now())
    with boa.env.prank(priced), boa.reverts("ads: request expired"):
        market.accept_request(stranger)


def test_accept_just_before_expiry(market, pending, priced, stranger):
    boa.env.time_travel(seconds=pending - now() - 1)
    with boa.env.prank(priced):
        market.accept_request(stranger)


def test_someone_else_cannot_accept(market, pending, stranger, non_admin):
    with boa.env.prank(non_admin), boa.reverts("ads: no pending request"):
        market.accept_request(stranger)


def test_decline_refunds_now(market, token, pending, priced, stranger):
    with boa.env.prank(priced):
        assert market.decline_request(stranger) == 5 * WAD
    (event,) = events(market, "RequestRefunded")
    assert (event.sender, event.recipient, event.amount) == (stranger, priced, 5 * WAD)
    assert token.balanceOf(stranger) == 100 * WAD
    with boa.env.prank(priced), boa.reverts("ads: no pending request"):
        market.decline_request(stranger)


def test_reclaim_before_timeout(market, pending, priced, stranger):
    boa.env.time_travel(seconds=pending - now() - 1)
    with boa.env.prank(stranger), boa.reverts("ads: request not expired"):
        market.reclaim_request(priced)


def test_reclaim_after_timeout(market, token, pending, priced, stranger):
    boa.env.time_travel(seconds=pending - now())
    with boa.env.prank(stranger):
        assert market.reclaim_request(priced) == 5 * WAD
        assert token.balanceOf(stranger) == 100 * WAD
        with boa.reverts("ads: no pending request"):
            market.reclaim_request(priced)
    # A new request may follow.
    with boa.env.prank(stranger):
        market.send_request(priced, 5 * WAD)


def test_reclaim_accepted_request(market, pending, priced, stranger):
    with boa.env.prank(priced):
        market.accept_request(stranger)
    boa.env.time_travel(seconds=pending - now())
    with boa.env.prank(stranger), boa.reverts("ads: no pending request"):
        market.reclaim_request(priced)


def test_price_change_does_not_touch_pending(market, pending, priced, stranger):
    with boa.env.prank(priced):
        market.set_request_price(50 * WAD)
        assert market.accept_request(stranger) == 9 * WAD // 2
