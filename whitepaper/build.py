"""Regenerate whitepaper/whitepaper.md, whitepaper.html and figures/ (`make whitepaper`).

All content comes from clubchat.sim.whitepaper: the parameters file, the model and seeded
Monte Carlo runs. Options: --runs, --sweep-runs, --years, --out (see --help).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clubchat.sim.whitepaper import main

if __name__ == "__main__":
    main()
