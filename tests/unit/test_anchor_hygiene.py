"""The test harness itself: a contract deployed inside an anchor (a test, a hypothesis example) is
forgotten when the anchor ends, so a later contract at the reused address renders its reverts with
its own storage layout (tests/conftest.py, `_anchor_forgetting_contracts`)."""

from __future__ import annotations

import boa

WITH_MAPPING = """
m: HashMap[address, uint256]

@external
def put(who: address):
    self.m[who] = 1
"""

WITH_INTEGER = """
x: uint256

@external
def refuse():
    self.x = 1
    raise "refused"
"""


def test_a_reused_address_renders_reverts_with_its_own_layout():
    with boa.env.anchor():
        first = boa.loads(WITH_MAPPING)
        first.put(boa.env.eoa)
        address = first.address
    assert boa.env.lookup_contract(address) is None
    assert address not in boa.env.sstore_trace
    with boa.env.anchor():
        second = boa.loads(WITH_INTEGER)
        assert second.address == address  # the anchor gave the deployer's nonce back
        with boa.reverts("refused"):
            second.refuse()
