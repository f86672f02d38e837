# pragma version 0.4.3
# pragma nonreentrancy on
"""
@title ClientReleases
@custom:contract-name ClientReleases
@license GNU Affero General Public License v3.0 only
@notice The registry of DAO-approved Club Chat client builds. Per platform
        (e.g. "linux-x86_64", "android", "web") it lists the published
        versions with the SHA-256 of the artifact and a URI; a release can be
        revoked. `latest(platform)` is the newest release that is not revoked;
        `release(artifact_hash)` looks a build up by its hash, so a client can check
        its own package. Publishing and revoking need RELEASE_MANAGER_ROLE,
        which after deployment only the Timelock holds.
@custom:security The registry only vouches for hashes; fetching and hashing the
                 artifact is the client's job. A revoked release stays listed
                 (with `revoked = True`) so clients can refuse it explicitly.
"""


from ethereum.ercs import IERC165
implements: IERC165


from snekmate.auth import access_control
initializes: access_control


# @dev `set_role_admin` is left out on purpose: DEFAULT_ADMIN_ROLE administers
# RELEASE_MANAGER_ROLE and the hierarchy needs no governance knob.
exports: (
    access_control.supportsInterface,
    access_control.hasRole,
    access_control.getRoleAdmin,
    access_control.grantRole,
    access_control.revokeRole,
    access_control.renounceRole,
    access_control.DEFAULT_ADMIN_ROLE,
)


# @dev Role that may publish and revoke releases (the Timelock).
RELEASE_MANAGER_ROLE: public(constant(bytes32)) = keccak256("RELEASE_MANAGER_ROLE")

# @dev Longest platform name, version string and URI, in bytes.
MAX_PLATFORM: constant(uint256) = 32
MAX_VERSION: constant(uint256) = 32
MAX_URI: constant(uint256) = 256

# @dev How far `latest` walks back over revoked releases of one platform.
MAX_LOOKBACK: constant(uint256) = 64


# @dev One published build.
struct Release:
    platform: String[MAX_PLATFORM]
    version: String[MAX_VERSION]
    artifact_hash: bytes32
    uri: String[MAX_URI]
    published_at: uint256
    revoked: bool


# @dev artifact SHA-256 => its release (`published_at == 0` for unknown hashes).
_releases: HashMap[bytes32, Release]

# @dev keccak256(platform) => index => artifact SHA-256, in publication order.
_history: HashMap[bytes32, HashMap[uint256, bytes32]]

# @dev keccak256(platform) => number of releases ever published for it.
release_count: public(HashMap[bytes32, uint256])


# @dev A build was approved for `platform`.
event ReleasePublished:
    platform_key: indexed(bytes32)
    artifact_hash: indexed(bytes32)
    platform: String[MAX_PLATFORM]
    version: String[MAX_VERSION]
    uri: String[MAX_URI]

# @dev A build's approval was withdrawn.
event ReleaseRevoked:
    platform_key: indexed(bytes32)
    artifact_hash: indexed(bytes32)
    version: String[MAX_VERSION]


@deploy
def __init__():
    """
    @dev The deployer gets DEFAULT_ADMIN_ROLE and RELEASE_MANAGER_ROLE; the deploy
         plan hands both to the Timelock and renounces them.
    """
    access_control.__init__()
    access_control._grant_role(RELEASE_MANAGER_ROLE, msg.sender)


@external
def publish(platform: String[MAX_PLATFORM], version: String[MAX_VERSION], artifact_hash: bytes32, uri: String[MAX_URI]):
    """
    @notice Approve a build: its platform, version, artifact SHA-256 and download URI.
            RELEASE_MANAGER_ROLE only; a hash can be published once.
    @param platform Platform name, e.g. "linux-x86_64".
    @param version Version string, e.g. "1.4.0".
    @param artifact_hash SHA-256 of the artifact.
    @param uri Where to download it.
    """
    access_control._check_role(RELEASE_MANAGER_ROLE, msg.sender)
    assert len(platform) != 0, "releases: empty platform"
    assert len(version) != 0, "releases: empty version"
    assert artifact_hash != empty(bytes32), "releases: empty hash"
    assert self._releases[artifact_hash].published_at == 0, "releases: hash already published"
    key: bytes32 = keccak256(platform)
    count: uint256 = self.release_count[key]
    self._releases[artifact_hash] = Release(
        platform=platform, version=version, artifact_hash=artifact_hash, uri=uri, published_at=block.timestamp, revoked=False
    )
    self._history[key][count] = artifact_hash
    self.release_count[key] = count + 1
    log ReleasePublished(platform_key=key, artifact_hash=artifact_hash, platform=platform, version=version, uri=uri)


@external
def revoke(artifact_hash: bytes32):
    """
    @notice Withdraw the approval of a published build. RELEASE_MANAGER_ROLE only.
    @param artifact_hash SHA-256 of the artifact.
    """
    access_control._check_role(RELEASE_MANAGER_ROLE, msg.sender)
    release: Release = self._releases[artifact_hash]
    assert release.published_at != 0, "releases: unknown hash"
    assert not release.revoked, "releases: already revoked"
    self._releases[artifact_hash].revoked = True
    log ReleaseRevoked(platform_key=keccak256(release.platform), artifact_hash=artifact_hash, version=release.version)


@external
@view
def release(artifact_hash: bytes32) -> Release:
    """
    @notice The release with this artifact hash (reverts for unknown hashes).
    @param artifact_hash SHA-256 of the artifact.
    @return Release Platform, version, hash, URI, publication time, revoked flag.
    """
    release: Release = self._releases[artifact_hash]
    assert release.published_at != 0, "releases: unknown hash"
    return release


@external
@view
def is_approved(artifact_hash: bytes32) -> bool:
    """
    @notice Whether this artifact hash is a published, non-revoked build.
    @param artifact_hash SHA-256 of the artifact.
    @return bool Approved or not.
    """
    release: Release = self._releases[artifact_hash]
    return release.published_at != 0 and not release.revoked


@external
@view
def latest(platform: String[MAX_PLATFORM]) -> Release:
    """
    @notice The newest non-revoked release of `platform` (reverts if there is none
            among the last MAX_LOOKBACK releases).
    @param platform Platform name.
    @return Release The release.
    """
    key: bytes32 = keccak256(platform)
    count: uint256 = self.release_count[key]
    # Loop bound: MAX_LOOKBACK releases, newest first.
    for i: uint256 in range(MAX_LOOKBACK):
        if i >= count:
            break
        release: Release = self._releases[self._history[key][count - 1 - i]]
        if not release.revoked:
            return release
    raise "releases: no release for platform"


@external
@view
def release_at(platform: String[MAX_PLATFORM], index: uint256) -> Release:
    """
    @notice The `index`-th release ever published for `platform` (0 = first).
    @param platform Platform name.
    @param index Position in publication order.
    @return Release The release.
    """
    key: bytes32 = keccak256(platform)
    assert index < self.release_count[key], "releases: index out of range"
    return self._releases[self._history[key][index]]
