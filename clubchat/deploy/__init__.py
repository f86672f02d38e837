"""Deployment of the whole protocol, written once and run by two backends.

`plan.deploy_protocol` is the only description of what gets deployed, with which
constructor arguments (from the parameters file) and how roles are wired. The ape
backend (`scripts/deploy.py`) runs it against real networks and writes the
manifest; the titanoboa backend (`tests/utils/deployer.py`) runs it in the tests,
so the tests exercise the same wiring a real deployment gets.
"""
