"""`club demo` (`make demo`): the protocol deployed to a local anvil, shown chapter by chapter.

`run` holds the command and the chapter list, `context` what every chapter gets and the
formatting helpers, and each other module one chapter (deployment, allocations, emission,
vesting, supply, governance, nodes, calls, communities). Feature packages never import from here.
"""

from clubchat.demo.run import CHAPTERS, demo, run_demo

__all__ = ["CHAPTERS", "demo", "run_demo"]
