"""Deployment of the whole protocol, written once and run by three backends.

`plan.deploy_protocol` is the only description of what gets deployed, with which
constructor arguments (from the parameters file) and how roles are wired. Backends
(`backend.Backend`) run it:

- `ape_backend` against real networks (`ape run deploy`), writing the manifest;
- `boa_backend` in-process on titanoboa (tests, contracts in the loop), so the tests
  exercise the same wiring a real deployment gets;
- `web3_backend` over JSON-RPC with a local key (node and client tests on anvil).
"""
