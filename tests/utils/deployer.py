"""The titanoboa deploy backend for the tests: re-exported from `clubchat.deploy.boa_backend`."""

from clubchat.deploy.boa_backend import BoaBackend, deploy_all, deployer_for

__all__ = ["BoaBackend", "deploy_all", "deployer_for"]
