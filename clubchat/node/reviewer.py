"""The node software's reviewer: it watches Disputes and does its part of every dispute by itself.

`club node run --rpc-url ...` starts `Reviewer.run` next to its heartbeats. Every `poll` seconds it
reads new `Flagged` events and looks at each dispute that is not over:

- flagged, seed block mined: it draws the panel (`draw_panel` is permissionless; every node draws,
  so nobody can hold a draw back for 256 blocks to re-arm it);
- its operator drawn, commit phase: it probes the flagged node through the registered endpoints
  (clubchat.disputes.probe: relay sign-in and envelope round trip, TURN credentials + allocation,
  NOTIFY store + fetch), appends what it saw to `<data-dir>/reviews.jsonl`, and commits the verdict
  (kick when a registered service failed) with its node key; the salt stays in `<data-dir>/votes`.
  A flag for dropping messages or withholding history is answered with the flag's evidence too
  (clubchat.disputes.evidence: the relay's signed entries the flagger holds, fetched from the flag's
  evidence URI and checked against the node's keys), a history probe of a room of its own and, when
  the evidence carries the flagger's grant (clubchat.protocol.history_grant; its signature checked
  here, by key recovery or the wallet's EIP-1271 `isValidSignature`, and for a community room the
  granter's membership now, `Communities.is_member`), a `history` (direct room) or `room-history`
  (community room) request for the flagger's room itself: kick when a service fails, or when the
  evidence holds and the relay drops or withholds in either room.
  A flag for settling forged ad receipts is answered from the chain instead: the batches AdMarket
  settled for the node up to the dispute's seed block, kick iff one held a receipt its user never
  signed (`audit_ad_receipts`);
- committed, reveal phase: it reveals;
- reveal phase over and nobody finalised: it finalises;
- a rejected flag it voted on: it collects its share of the bond (`claim_share`).

At start it enlists its operator once (`Disputes.enlist`: pre-pays the per-node word so panel
seats and offences cost the drawer less). All state is on chain or in the salt files, so a
restarted node picks up where it was. A failed transaction (e.g. another node drew first) is
logged and retried at the next poll when it still applies. The heartbeats are sent with the same
node key from another thread: every `LocalSender` of one key takes its nonce under that key's lock
(clubchat.chain.tx), so neither takes the other's nonce.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from web3 import Web3

from clubchat.chain.cli import chain_options, open_deployment
from clubchat.chain.eip712 import Signature
from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import LocalSender, send_call
from clubchat.cli_errors import one_line_errors
from clubchat.cli_params import Address
from clubchat.client.history import registry_keys
from clubchat.disputes.client import FORGED_AD_RECEIPTS, HISTORY_REASONS, DisputesClient, DisputeStatus
from clubchat.disputes.evidence import granter_signed
from clubchat.disputes.probe import (
    LOG_RANGE,
    Endpoints,
    ProbeReport,
    audit_ad_receipts,
    endpoints_of,
    probe,
    review_history,
)
from clubchat.protocol.history_grant import HistoryGrant, grant_domain
from clubchat.protocol.log_entry import LogEntry, log_domain, log_entry_signer

log = logging.getLogger("clubchat.node.reviewer")

FLAGGED, DRAWN = 1, 2
HistoryProber = Callable[
    [
        Endpoints,
        str,
        Callable[[LogEntry, bytes], bool],
        int,
        Callable[[HistoryGrant, bytes], bool],
        Callable[[int, str], bool],
    ],
    Awaitable[ProbeReport],
]
POLL_SECONDS = 1.0


class Reviewer:
    """One node's reviewing: `run()` until cancelled; `step()` is one poll (tests call it)."""

    def __init__(
        self,
        w3: Web3,
        manifest: Manifest,
        operator: str,
        key: LocalAccount,
        data_dir: Path,
        prober: Callable[[Endpoints], Awaitable[ProbeReport]] = probe,
        history_prober: HistoryProber = review_history,
        poll: float = POLL_SECONDS,
        may_send: Callable[[], bool] = lambda: True,
    ) -> None:
        # Nothing is sent before the node's first heartbeat landed: until then it is not eligible
        # to review, and its enlisting would only wait behind the heartbeat for the key's lock.
        self.may_send = may_send
        self.w3, self.operator, self.key, self.poll = w3, Web3.to_checksum_address(operator), key, poll
        self.manifest = manifest
        self.client = DisputesClient(w3, manifest, LocalSender(w3, key), data_dir / "votes")
        self.disputes = self.client.disputes
        self.prober = prober
        self.history_prober = history_prober
        self.node_keys = registry_keys(self.client.registry)
        self.log_domain = log_domain(int(w3.eth.chain_id), self.disputes.address)
        self.journal = data_dir / "reviews.jsonl"
        self.next_block = manifest.block
        self.open: set[int] = set()
        self.actions: list[tuple[int, str]] = []  # (dispute id, what this node did), for status
        self.last_error: str | None = None
        self.enlisted = False

    # -- chain reads and writes run in a worker thread (web3 is synchronous) ----------------------

    async def _io(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def _enlist(self) -> bool:
        if self.disputes.functions.enlisted(self.operator).call():
            return False
        send_call(self.client.sender, self.disputes.functions.enlist())
        return True

    def _new_disputes(self) -> None:
        head = int(self.w3.eth.block_number)
        while self.next_block <= head:
            end = min(head, self.next_block + LOG_RANGE - 1)
            for ev in self.disputes.events.Flagged().get_logs(from_block=self.next_block, to_block=end):
                self.open.add(int(ev["args"]["dispute_id"]))
            self.next_block = end + 1

    def _now(self) -> int:
        """The chain's time as the next block will see it (a local chain may lag the wall clock)."""
        return max(int(self.w3.eth.get_block("latest")["timestamp"]), int(time.time()))

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the chain may be briefly away; retry at the next poll
                self.last_error = str(exc)
                log.warning("reviewer poll failed: %s", exc)
            await asyncio.sleep(self.poll)

    async def step(self) -> None:
        if not self.may_send():
            return
        if not self.enlisted:
            # Retried every poll until it lands (the heartbeat may take the key's nonce first).
            if await self._io(self._enlist):
                log.info("enlisted %s as a reviewer", self.operator)
            self.enlisted = True
        await self._io(self._new_disputes)
        for dispute_id in sorted(self.open):
            try:
                done = await self._advance(dispute_id)
            except Exception as exc:
                self.last_error = f"dispute {dispute_id}: {exc}"
                log.warning("dispute %d: %s", dispute_id, exc)
                continue
            if done:
                self.open.discard(dispute_id)

    async def _advance(self, dispute_id: int) -> bool:
        """Does what this node should do now in `dispute_id`; True when the dispute is over."""
        d = await self._io(self.client.status, dispute_id)
        if d.status == "flagged":
            if int(self.w3.eth.block_number) > d.draw_block:
                panel = await self._io(self.client.draw, dispute_id, 0.0)
                self._did(dispute_id, f"drew the panel ({len(panel)} reviewers)")
            return False
        mine = self.operator in d.panel
        if d.status != "voting":
            if d.status == "rejected" and mine and d.panel.index(self.operator) in d.revealed_seats:
                # A rejected flag's bond is shared by the reviewers who voted: collect this one's.
                paid, _ = await self._io(self.client.claim_share, dispute_id, self.operator)
                self._did(dispute_id, f"collected its share of the bond: {paid} wei")
            return True
        now = await self._io(self._now)
        committed = await self._io(self.client.has_committed, dispute_id, self.operator)
        if mine and now <= d.commit_deadline and not committed:
            report = await self.review(d)
            self._journal(dispute_id, report)
            await self._io(self.client.commit_vote, dispute_id, self.operator, report.kick)
            self._did(dispute_id, f"probed {d.node} and committed {'kick' if report.kick else 'keep'}")
        elif mine and d.commit_deadline < now <= d.reveal_deadline and committed:
            kick, _ = await self._io(self.client.reveal_vote, dispute_id, self.operator)
            self._did(dispute_id, f"revealed {'kick' if kick else 'keep'}")
        elif now > d.reveal_deadline + 1:
            outcome, _ = await self._io(self.client.finalize, dispute_id)
            self._did(dispute_id, f"finalised: {outcome}")
        return False

    async def review(self, d: DisputeStatus) -> ProbeReport:
        """What this node finds about the flagged node: AdMarket's settled batches for a flag of
        forged ad receipts, probes of its registered services for every other reason."""
        if d.reason == FORGED_AD_RECEIPTS:
            return await self._io(self._audit_receipts, d.node, d.draw_block)
        endpoints = await self._io(endpoints_of, self.client.registry, d.node)
        if d.reason in HISTORY_REASONS:
            uri = await self._io(self.client.evidence_uri, d.dispute_id)
            window = int(await self._io(lambda: self.disputes.functions.parameters().call()[2]))
            await self._io(self.node_keys.keys, d.node)  # its current key, read here, not in the probe
            return await self.history_prober(
                endpoints, uri, self._signed_by, window, self._granted_by, self._member_of
            )
        return await self.prober(endpoints)

    def _signed_by(self, entry: LogEntry, sig: bytes) -> bool:
        """Whether `sig` over `entry` is by a node key of `entry.node` (a rotated one too). Called
        from the probe's event loop: the registry is read once per operator and key (NodeKeys)."""
        if len(sig) != 65:
            return False
        try:
            signer = log_entry_signer(self.log_domain, entry, Signature(sig[64], sig[:32], sig[32:64]))
        except ValueError:
            return False
        return self.node_keys.signs_for(entry.node, signer)

    def _granted_by(self, grant: HistoryGrant, sig: bytes) -> bool:
        """Whether `sig` over `grant` is its granter's (a chain read for a contract wallet: called
        from a worker thread)."""
        domain = grant_domain(self.log_domain.chain_id, self.log_domain.verifying_contract)
        return granter_signed(self.w3, domain, grant, sig)

    def _member_of(self, community: int, account: str) -> bool:
        """Whether `account` is a member of `community` now (`Communities.is_member`; a deployment
        without Communities has none). Called from a worker thread."""
        if "Communities" not in self.manifest.contracts:
            return False
        communities = self.manifest.contract(self.w3, "Communities")
        return bool(communities.functions.is_member(community, Web3.to_checksum_address(account)).call())

    def _audit_receipts(self, node: str, to_block: int) -> ProbeReport:
        has_market = "AdMarket" in self.manifest.contracts
        market = self.manifest.contract(self.w3, "AdMarket") if has_market else None
        return audit_ad_receipts(market, node, self.manifest.block, to_block)

    def _did(self, dispute_id: int, what: str) -> None:
        self.actions.append((dispute_id, what))
        del self.actions[:-20]
        log.info("dispute %d: %s", dispute_id, what)

    def _journal(self, dispute_id: int, report: ProbeReport) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with self.journal.open("a") as fh:
            fh.write(json.dumps({"dispute_id": dispute_id, **report.to_json()}) + "\n")

    def status(self) -> dict[str, Any]:
        return {
            "open_disputes": sorted(self.open),
            "recent": [{"dispute_id": i, "action": a} for i, a in self.actions[-5:]],
            "last_error": self.last_error,
        }


def reviewing_relay_args(port: int, rpc: str, network: str, operator: str, key: LocalAccount) -> list[str]:
    """`club node run` arguments of a loopback relay node on a chain: it heartbeats and reviews."""
    return [
        "--kinds",
        "relay",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--rpc-url",
        rpc,
        "--network",
        network,
        "--operator",
        operator,
        "--node-key",
        "0x" + bytes(key.key).hex(),
    ]


@click.command("probe")
@click.argument("node", type=Address())
@chain_options
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per step of each check.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
@one_line_errors
def probe_command(node: str, rpc_url: str, network: str, timeout: float, as_json: bool) -> None:
    """Probe NODE through its registered endpoints as a reviewer's node does, and print the verdict."""
    w3, m = open_deployment(rpc_url, network)
    ep = endpoints_of(m.contract(w3, "NodeRegistry"), node)
    if ep.kinds == 0:
        raise click.ClickException(f"{node} is not a registered node")
    report = asyncio.run(probe(ep, timeout))
    click.echo(json.dumps(report.to_json()) if as_json else "\n".join(report.lines()))
