"""Governance tooling: build proposals from named actions, run them through ClubGovernor, report, simulate.

- `actions`: named actions (set a parameter, grant/revoke a role, approve/revoke a client
  release, move treasury funds, raw calls) encoded from the deployment manifest's ABIs;
- `proposals`: proposal ids exactly as OZ's `hashProposal`, finding a proposal's actions
  from its `ProposalCreated` log, and the lifecycle steps (delegate, propose, vote, queue, execute);
- `status`: a table of every proposal with its state, votes, quorum progress and time left;
- `simulate`: the whole lifecycle of a proposal on a throw-away chain (an anvil fork or a
  snapshot of a local anvil), impersonating the largest delegates, before anything is sent.

`scripts/governance.py` (`ape run governance ...`) and `club gov` are thin front ends.
"""

from clubchat.chain.tx import Sender, Web3Sender
from clubchat.governance.actions import Action, ActionError
from clubchat.governance.proposals import (
    STATE_NAMES,
    ProposalSpec,
    Support,
    find_proposal,
    proposal_id,
)

__all__ = [
    "STATE_NAMES",
    "Action",
    "ActionError",
    "ProposalSpec",
    "Sender",
    "Support",
    "Web3Sender",
    "find_proposal",
    "proposal_id",
]
