"""Disputes client: prove a relay's fork (commit, wait a block, reveal), flag a node, draw, vote, finalise.

Transactions go through the one `Sender` of clubchat.chain.tx (`LocalSender` for `club`,
`ApeSender` for `ape run disputes`). Evidence is a pair of signed `LogEntry`s (clubchat.protocol.log_entry);
it is checked locally first (same place, different entries, low-s signatures in this deployment's
domain) so a user learns what is wrong before paying gas. Vote salts are random and kept in a small
JSON file per (chain, dispute, reviewer) until the reveal.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_typing import HexStr
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from clubchat.chain.eip712 import Signature
from clubchat.chain.manifest import Manifest
from clubchat.chain.tx import Sender, send_call
from clubchat.protocol.log_entry import LogEntry, log_domain, log_entry_signer

# Reason codes of `flag` (Disputes' MAX_REASON = 7). Reviewers probe the node's services for 1-6
# and read AdMarket's settled batches for 7 (clubchat.node.reviewer).
REASONS = {
    "offline": 1,
    "refusing-service": 2,
    "dropping-messages": 3,
    "turn-not-relaying": 4,
    "mailbox-losing-mail": 5,
    "withholding-history": 6,
    "forged-ad-receipts": 7,
}
FORGED_AD_RECEIPTS = REASONS["forged-ad-receipts"]
# Reasons a reviewer answers with the flag's evidence and a history probe (clubchat.disputes.evidence).
HISTORY_REASONS = (REASONS["dropping-messages"], REASONS["withholding-history"])
STATUS_NAMES = {0: "none", 1: "flagged", 2: "voting", 3: "kicked", 4: "rejected", 5: "dismissed"}
MAX_PANEL = 14


class DisputeError(ValueError):
    """A dispute action the user asked for cannot work; the message says what to do."""


@dataclass(frozen=True)
class SignedEntry:
    """A relay-log entry with the relay's 65-byte r || s || v signature."""

    entry: LogEntry
    signature: bytes

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SignedEntry:
        try:
            sig = bytes.fromhex(str(raw["signature"]).removeprefix("0x"))
        except (KeyError, ValueError):
            raise DisputeError('a signed entry needs "signature": 0x + 130 hex digits') from None
        if len(sig) != 65:
            raise DisputeError(f"signature is {len(sig)} bytes; a relay-log signature is 65 (r || s || v)")
        return cls(LogEntry.from_json(raw.get("entry", raw)), sig)

    @classmethod
    def load(cls, path: Path) -> SignedEntry:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise DisputeError(f"{path} is not JSON ({exc.msg}); give a signed entry file") from None

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry.to_json(), "signature": "0x" + self.signature.hex()}

    def signer(self, chain_id: int, disputes: str) -> str:
        sig = Signature(self.signature[64], self.signature[:32], self.signature[32:64])
        try:
            return log_entry_signer(log_domain(chain_id, disputes), self.entry, sig)
        except ValueError as exc:
            raise DisputeError(str(exc)) from None


@dataclass(frozen=True)
class ReportResult:
    node: str
    cut_wei: int
    reporter_wei: int
    jailed_until: int
    commit_tx: str
    prove_tx: str


@dataclass(frozen=True)
class DisputeStatus:
    dispute_id: int
    node: str
    flagger: str
    status: str
    reason: int
    bond_wei: int
    draw_block: int
    panel: tuple[str, ...]
    weights: tuple[int, ...]
    revealed_weight: int
    kick_weight: int
    panel_weight: int
    revealed_seats: tuple[int, ...]
    commit_deadline: int
    reveal_deadline: int

    def lines(self) -> list[str]:
        out = [
            f"dispute {self.dispute_id}: {self.status} (reason {self.reason}) against {self.node}",
            f"flagger {self.flagger}, bond {self.bond_wei / 10**18:,.2f} CLUB, seed block {self.draw_block}",
        ]
        if self.panel:
            out.append(f"commit until {self.commit_deadline}, reveal until {self.reveal_deadline} (unix)")
            out.append(
                f"weight revealed {self.revealed_weight} / {self.panel_weight} CLUB, "
                f"for a kick {self.kick_weight}"
            )
            for seat, (reviewer, w) in enumerate(zip(self.panel, self.weights, strict=True)):
                mark = "revealed" if seat in self.revealed_seats else "-"
                out.append(f"  seat {seat}: {reviewer} weight {w} CLUB {mark}")
        return out


def evidence_id(node: str, room: bytes, seq: int) -> bytes:
    return keccak(encode(["address", "bytes32", "uint64"], [node, room, seq]))


def evidence_commitment(evidence: bytes, reporter: str, salt: bytes) -> bytes:
    return keccak(encode(["bytes32", "address", "bytes32"], [evidence, reporter, salt]))


def vote_commitment(dispute_id: int, reviewer: str, kick: bool, salt: bytes) -> bytes:
    return keccak(encode(["uint256", "address", "bool", "bytes32"], [dispute_id, reviewer, kick, salt]))


def default_salt_dir() -> Path:
    return Path(os.environ.get("CLUB_DISPUTES_DIR", Path.home() / ".clubchat" / "disputes"))


class DisputesClient:
    """Disputes (and the registry and CLUB it pays through) for one sender."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender, salt_dir: Path | None = None) -> None:
        self.w3 = w3
        self.manifest = manifest
        self.sender = sender
        self.disputes: Contract = manifest.contract(w3, "Disputes")
        self.registry: Contract = manifest.contract(w3, "NodeRegistry")
        self.token: Contract = manifest.contract(w3, "ClubToken")
        self.salt_dir = salt_dir or default_salt_dir()

    def _wait_past(self, block: int, seconds: float) -> bool:
        """Wait until the chain is past `block`; False if it is not within `seconds`."""
        deadline = time.monotonic() + seconds
        while self.w3.eth.block_number <= block:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)
        return True

    def _receipt(self, tx: str) -> Any:
        return self.w3.eth.get_transaction_receipt(HexStr(tx))

    # -- equivocation ---------------------------------------------------------------------------

    def check_fork(self, a: SignedEntry, b: SignedEntry) -> str:
        """The node the two entries prove a fork of; DisputeError saying what is wrong otherwise."""
        ea, eb = a.entry, b.entry
        if (ea.node.lower(), ea.room, ea.seq) != (eb.node.lower(), eb.room, eb.seq):
            raise DisputeError("the two entries are not of the same (node, room, seq): they prove no fork")
        if ea.struct_hash() == eb.struct_hash():
            raise DisputeError("the two entries are the same entry: a fork needs two different ones")
        chain_id, addr = int(self.w3.eth.chain_id), str(self.disputes.address)
        for which, signed in (("first", a), ("second", b)):
            operator, _retired = self.registry.functions.key_record(signed.signer(chain_id, addr)).call()
            if operator.lower() != ea.node.lower():
                raise DisputeError(
                    f"the {which} signature is not by a key of {ea.node} "
                    "in this deployment's relay-log domain"
                )
        if self.disputes.functions.proven(evidence_id(ea.node, ea.room, ea.seq)).call():
            raise DisputeError("this fork was already proven (each place is slashed once)")
        return to_checksum_address(ea.node)

    def report(self, a: SignedEntry, b: SignedEntry, wait_seconds: float = 30.0) -> ReportResult:
        """Commit to the fork, wait for a later block, reveal it; returns the slash."""
        node = self.check_fork(a, b)
        salt = secrets.token_bytes(32)
        ev = evidence_id(node, a.entry.room, a.entry.seq)
        commit_tx = send_call(
            self.sender,
            self.disputes.functions.commit_evidence(evidence_commitment(ev, self.sender.address, salt)),
        )
        committed_in = int(self._receipt(commit_tx)["blockNumber"])
        # The reveal must land (and be estimated) in a later block than the commit.
        if not self._wait_past(committed_in, wait_seconds):
            raise DisputeError(
                f"committed in block {committed_in} (tx {commit_tx}) but no later block came within "
                f"{wait_seconds:.0f} s; on a chain that mines on demand mine one, then run report again"
            )
        prove_tx = send_call(
            self.sender,
            self.disputes.functions.prove_equivocation(
                a.entry.as_tuple(), a.signature, b.entry.as_tuple(), b.signature, salt
            ),
        )
        receipt = self._receipt(prove_tx)
        [proven] = self.disputes.events.EquivocationProven().process_receipt(receipt, errors=DISCARD)
        slashed = self.registry.events.Slashed().process_receipt(receipt, errors=DISCARD)
        return ReportResult(
            node=node,
            cut_wei=int(proven["args"]["cut"]),
            reporter_wei=int(slashed[0]["args"]["reporter_amount"]) if slashed else 0,
            jailed_until=int(proven["args"]["jailed_until"]),
            commit_tx=commit_tx,
            prove_tx=prove_tx,
        )

    # -- flag and vote --------------------------------------------------------------------------

    def flag(self, node: str, reason: int, evidence_uri: str) -> tuple[int, str]:
        """Approve the bond if needed and flag `node`; returns (dispute id, tx)."""
        if reason not in REASONS.values():
            raise DisputeError(f"unknown reason {reason}; use one of {', '.join(REASONS)}")
        if len(evidence_uri) > 256:
            raise DisputeError("the evidence URI is longer than 256 characters; shorten it")
        bond = int(self.disputes.functions.parameters().call()[4])
        me = self.sender.address
        node = to_checksum_address(node)
        # The contract's own refusals, checked before the bond's approve is paid for.
        if node == to_checksum_address(me):
            raise DisputeError("you cannot flag yourself")
        if int(self.registry.functions.node_key(node).call(), 16) == 0:
            raise DisputeError(f"{node} is not a registered node; nothing to flag")
        if int(self.token.functions.balanceOf(me).call()) < bond:
            raise DisputeError(f"flagging needs a bond of {bond / 10**18:,.2f} CLUB in {me}; fund it first")
        if int(self.token.functions.allowance(me, self.disputes.address).call()) < bond:
            send_call(self.sender, self.token.functions.approve(self.disputes.address, bond))
        tx = send_call(self.sender, self.disputes.functions.flag(node, reason, evidence_uri))
        receipt = self._receipt(tx)
        [ev] = self.disputes.events.Flagged().process_receipt(receipt, errors=DISCARD)
        return int(ev["args"]["dispute_id"]), tx

    def evidence_uri(self, dispute_id: int) -> str:
        """The evidence URI the flagger gave (from the `Flagged` event; empty when none)."""
        logs = self.disputes.events.Flagged().get_logs(
            from_block=self.manifest.block, argument_filters={"dispute_id": dispute_id}
        )
        return str(logs[-1]["args"]["evidence_uri"]) if logs else ""

    def draw(self, dispute_id: int, wait_seconds: float = 30.0) -> tuple[str, ...]:
        """Draw the panel (once the seed block is mined); returns it (empty: re-armed or dismissed)."""
        seed_block = int(self.disputes.functions.disputes(dispute_id).call()[5])
        if not self._wait_past(seed_block, wait_seconds):
            raise DisputeError(f"the seed block {seed_block} is not mined yet; draw again after it")
        tx = send_call(self.sender, self.disputes.functions.draw_panel(dispute_id))
        receipt = self._receipt(tx)
        drawn = self.disputes.events.PanelDrawn().process_receipt(receipt, errors=DISCARD)
        return tuple(to_checksum_address(a) for a in drawn[0]["args"]["panel"]) if drawn else ()

    def panel(self, dispute_id: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The panel and weights from the PanelDrawn event (empty before the draw)."""
        logs = self.disputes.events.PanelDrawn().get_logs(
            from_block=self.manifest.block, argument_filters={"dispute_id": dispute_id}
        )
        if not logs:
            return (), ()
        args = logs[-1]["args"]
        return tuple(to_checksum_address(a) for a in args["panel"]), tuple(int(w) for w in args["weights"])

    def status(self, dispute_id: int) -> DisputeStatus:
        d = self.disputes.functions.disputes(dispute_id).call()
        (
            node,
            flagger,
            status,
            reason,
            bond,
            draw_block,
            _size,
            weight,
            revealed,
            kick,
            mask,
            commit,
            reveal,
        ) = d
        if status == 0:
            raise DisputeError(f"there is no dispute {dispute_id} (ids start at 1)")
        panel, weights = self.panel(dispute_id)
        return DisputeStatus(
            dispute_id=dispute_id,
            node=to_checksum_address(node),
            flagger=to_checksum_address(flagger),
            status=STATUS_NAMES.get(int(status), str(status)),
            reason=int(reason),
            bond_wei=int(bond),
            draw_block=int(draw_block),
            panel=panel,
            weights=weights,
            revealed_weight=int(revealed),
            kick_weight=int(kick),
            panel_weight=int(weight),
            revealed_seats=tuple(i for i in range(MAX_PANEL) if int(mask) >> i & 1),
            commit_deadline=int(commit),
            reveal_deadline=int(reveal),
        )

    def _salt_file(self, dispute_id: int, reviewer: str) -> Path:
        return (
            self.salt_dir
            / f"{int(self.w3.eth.chain_id)}-{self.disputes.address}-{dispute_id}-{reviewer}.json"
        )

    def has_committed(self, dispute_id: int, reviewer: str) -> bool:
        """Whether a vote of `reviewer` in `dispute_id` was committed from here and not revealed yet."""
        return self._salt_file(dispute_id, to_checksum_address(reviewer)).exists()

    def commit_vote(self, dispute_id: int, reviewer: str, kick: bool) -> str:
        """Commit `kick` for `reviewer` (sent by its operator or node key); the salt is kept to reveal."""
        reviewer = to_checksum_address(reviewer)
        salt = secrets.token_bytes(32)
        path = self._salt_file(dispute_id, reviewer)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"kick": kick, "salt": "0x" + salt.hex()}))
        return send_call(
            self.sender,
            self.disputes.functions.commit_vote(
                dispute_id, reviewer, vote_commitment(dispute_id, reviewer, kick, salt)
            ),
        )

    def reveal_vote(self, dispute_id: int, reviewer: str) -> tuple[bool, str]:
        """Reveal the vote committed from this machine; returns (kick, tx)."""
        reviewer = to_checksum_address(reviewer)
        path = self._salt_file(dispute_id, reviewer)
        if not path.exists():
            raise DisputeError(
                f"no vote of {reviewer} in dispute {dispute_id} was committed from here ({path})"
            )
        saved = json.loads(path.read_text())
        kick, salt = bool(saved["kick"]), bytes.fromhex(saved["salt"].removeprefix("0x"))
        tx = send_call(self.sender, self.disputes.functions.reveal_vote(dispute_id, reviewer, kick, salt))
        path.unlink()
        return kick, tx

    def finalize(self, dispute_id: int) -> tuple[str, str]:
        """Finalise after the reveal deadline; returns (outcome, tx)."""
        panel, _ = self.panel(dispute_id)
        tx = send_call(self.sender, self.disputes.functions.finalize(dispute_id, list(panel)))
        return self.status(dispute_id).status, tx

    def claim_share(self, dispute_id: int, reviewer: str) -> tuple[int, str]:
        """Pay `reviewer` its share of a rejected flag's bond; returns (wei, tx)."""
        panel, _ = self.panel(dispute_id)
        reviewer = to_checksum_address(reviewer)
        if reviewer not in panel:
            raise DisputeError(f"{reviewer} is not on the panel of dispute {dispute_id}")
        seat = panel.index(reviewer)
        tx = send_call(self.sender, self.disputes.functions.claim_share(dispute_id, list(panel), seat))
        receipt = self._receipt(tx)
        [paid] = self.disputes.events.BondPaid().process_receipt(receipt, errors=DISCARD)
        return int(paid["args"]["amount"]), tx
