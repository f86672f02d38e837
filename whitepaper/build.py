"""Regenerate whitepaper/whitepaper.md, whitepaper.html and figures/ (`make whitepaper`).

All content comes from `clubchat.sim.whitepaper` (installed with the project: `make setup`): the
parameters file, the model and seeded Monte Carlo runs. Options: --runs, --sweep-runs, --years,
--out (see --help). The same as `club sim whitepaper`.
"""

from clubchat.sim.whitepaper import main

if __name__ == "__main__":
    main()
