"""ClientReleases: publish, revoke, latest, lookup by hash; only the Timelock writes."""

from __future__ import annotations

import hashlib

import boa
import pytest

from tests.utils.governance import events


def h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def publish(releases, timelock, platform, version, digest, uri="ipfs://build"):
    with boa.env.prank(timelock.address):
        releases.publish(platform, version, digest, uri)


def test_roles_held_by_timelock_only(releases, timelock, deployer):
    role = releases.RELEASE_MANAGER_ROLE()
    assert releases.hasRole(role, timelock.address)
    assert releases.hasRole(releases.DEFAULT_ADMIN_ROLE(), timelock.address)
    assert not releases.hasRole(role, deployer)
    assert not releases.hasRole(releases.DEFAULT_ADMIN_ROLE(), deployer)


def test_publish_and_lookup(releases, timelock):
    digest = h("club-1.0.0-linux")
    publish(releases, timelock, "linux-x86_64", "1.0.0", digest, "https://example.org/club-1.0.0")
    (ev,) = events(releases, "ReleasePublished")
    assert (ev.platform, ev.version, ev.artifact_hash) == ("linux-x86_64", "1.0.0", digest)
    r = releases.release(digest)
    assert (r.platform, r.version, r.artifact_hash, r.uri, r.revoked) == (
        "linux-x86_64",
        "1.0.0",
        digest,
        "https://example.org/club-1.0.0",
        False,
    )
    assert r.published_at == boa.env.evm.patch.timestamp
    assert releases.is_approved(digest)
    assert releases.latest("linux-x86_64").version == "1.0.0"
    assert releases.release_at("linux-x86_64", 0).artifact_hash == digest


def test_latest_skips_revoked_and_is_per_platform(releases, timelock):
    publish(releases, timelock, "android", "1.0.0", h("a1"))
    publish(releases, timelock, "android", "1.1.0", h("a2"))
    publish(releases, timelock, "web", "2.0.0", h("w1"))
    assert releases.latest("android").version == "1.1.0"
    assert releases.latest("web").version == "2.0.0"
    with boa.env.prank(timelock.address):
        releases.revoke(h("a2"))
    (ev,) = events(releases, "ReleaseRevoked")
    assert (ev.artifact_hash, ev.version) == (h("a2"), "1.1.0")
    assert releases.latest("android").version == "1.0.0"
    assert not releases.is_approved(h("a2"))
    assert releases.release(h("a2")).revoked
    with boa.env.prank(timelock.address):
        releases.revoke(h("a1"))
    with boa.reverts("releases: no release for platform"):
        releases.latest("android")
    with boa.reverts("releases: no release for platform"):
        releases.latest("ios")


@pytest.mark.parametrize(
    ("platform", "version", "digest", "reason"),
    [
        ("", "1.0", h("x"), "releases: empty platform"),
        ("linux", "", h("x"), "releases: empty version"),
        ("linux", "1.0", b"\x00" * 32, "releases: empty hash"),
    ],
)
def test_publish_bad_input_reverts(releases, timelock, platform, version, digest, reason):
    with boa.env.prank(timelock.address), boa.reverts(reason):
        releases.publish(platform, version, digest, "uri")


def test_duplicate_hash_reverts(releases, timelock):
    publish(releases, timelock, "linux", "1.0", h("x"))
    with boa.env.prank(timelock.address), boa.reverts("releases: hash already published"):
        releases.publish("web", "9.9", h("x"), "uri")


def test_revoke_errors(releases, timelock):
    with boa.env.prank(timelock.address), boa.reverts("releases: unknown hash"):
        releases.revoke(h("nope"))
    publish(releases, timelock, "linux", "1.0", h("x"))
    with boa.env.prank(timelock.address):
        releases.revoke(h("x"))
    with boa.env.prank(timelock.address), boa.reverts("releases: already revoked"):
        releases.revoke(h("x"))


def test_lookup_errors(releases):
    with boa.reverts("releases: unknown hash"):
        releases.release(h("nope"))
    assert not releases.is_approved(h("nope"))
    with boa.reverts("releases: index out of range"):
        releases.release_at("linux", 0)


def test_only_release_manager_writes(releases, deployer, non_admin, timelock):
    for who in (deployer, non_admin):
        with boa.env.prank(who), boa.reverts("access_control: account is missing role"):
            releases.publish("linux", "1.0", h("x"), "uri")
    publish(releases, timelock, "linux", "1.0", h("x"))
    with boa.env.prank(non_admin), boa.reverts("access_control: account is missing role"):
        releases.revoke(h("x"))


def test_release_approved_by_vote(releases, governor, voters, params):
    """The intended path: a governance proposal publishes a build."""
    from tests.utils.governance import Proposal, pass_and_queue

    digest = h("club-2.0.0")
    p = Proposal(
        [str(releases.address)],
        [0],
        [releases.publish.prepare_calldata("linux-x86_64", "2.0.0", digest, "ipfs://bafy")],
        "Approve client 2.0.0 for linux",
    )
    pass_and_queue(governor, voters["carol"], [voters["alice"]], p)
    boa.env.time_travel(seconds=params.governance.timelock_delay_seconds)
    governor.execute(*p.args())
    assert releases.latest("linux-x86_64").artifact_hash == digest
