"""`python -m clubchat.node run ...` == `club node run ...` (tests start nodes this way)."""

from clubchat.node.cli import node

node()
