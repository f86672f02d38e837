"""`python -m clubchat.sim.whitepaper`: regenerate the whitepaper (see `--help`)."""

from clubchat.sim.whitepaper import main

main()
