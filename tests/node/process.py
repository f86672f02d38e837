"""Tests start nodes with clubchat.node.process (re-exported here for the existing imports)."""

from clubchat.node.process import NodeProcess
from clubchat.params import REPO_ROOT as REPO

__all__ = ["REPO", "NodeProcess"]
