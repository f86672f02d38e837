"""The keeper: the permissionless calls that keep emission and node rewards flowing, paid by tips.

`keeper_pass` does, when due, `Emission.advance()` (settles every due emission epoch, mints, pays
the caller `tip` per epoch) and then `NodeRegistry.finalize_epoch()` for each ended reward epoch
(spreads the node share over active stake, pays the caller `finalize_tip`, capped by the epoch's new
CLUB). Each call is checked with a view first, so a pass with nothing due sends nothing. Anyone may
run it on any network (`club keeper run`); the tips are what pays for its gas.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3 import Web3
from web3.logs import DISCARD

from clubchat.amounts import format_club
from clubchat.chain.manifest import Manifest
from clubchat.chain.port import Web3Port
from clubchat.chain.tx import Sender, send_call
from clubchat.registry.client import RegistryActions
from clubchat.timefmt import when

# Decimals shown in the keeper's reports: tips of a few wei of dust read as `< 0.0001 CLUB`.
REPORT_DECIMALS = 4

# Reward epochs finalised in one pass at most (each is one transaction); the rest wait for the next pass.
MAX_FINALISE_PER_PASS = 16


@dataclass(frozen=True)
class KeeperAction:
    """One transaction the keeper sent and what it earned."""

    contract: str
    what: str
    tip_wei: int
    tx: str

    def line(self) -> str:
        tip = format_club(self.tip_wei, decimals=REPORT_DECIMALS)
        return f"{self.contract}: {self.what}; tip {tip} (tx {self.tx})"


@dataclass(frozen=True)
class KeeperPass:
    actions: tuple[KeeperAction, ...]
    next_emission: int  # unix time the next emission epoch falls due
    next_finalise: int  # unix time the next reward epoch ends
    now: int

    @property
    def tips_wei(self) -> int:
        return sum(a.tip_wei for a in self.actions)

    def lines(self) -> list[str]:
        out = [a.line() for a in self.actions]
        if not self.actions:
            out.append("nothing due")
        else:
            out.append(f"earned {format_club(self.tips_wei, decimals=REPORT_DECIMALS)} in tips")
        out.append(f"next emission epoch: {when(self.next_emission, self.now)}")
        out.append(f"next reward epoch ends: {when(self.next_finalise, self.now)}")
        return out


class Keeper:
    """Emission and NodeRegistry of a deployment, acting as `sender` (who receives the tips)."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender) -> None:
        self.w3, self.sender = w3, sender
        self.emission = manifest.contract(w3, "Emission")
        self.registry = manifest.contract(w3, "NodeRegistry")
        self.token = manifest.contract(w3, "ClubToken")

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _balance(self) -> int:
        return int(self.token.functions.balanceOf(to_checksum_address(self.sender.address)).call())

    def _registry_epoch_end(self) -> int:
        reg = self.registry.functions
        done = int(reg.epochs_finalised().call())
        return int(reg.EPOCH_START().call()) + (done + 1) * int(reg.EPOCH_SECONDS().call())

    def advance_emission(self) -> KeeperAction | None:
        """`Emission.advance()` when at least one epoch is due."""
        due = int(self.emission.functions.epochs_due().call())
        if due == 0:
            return None
        before = self._balance()
        tx = send_call(self.sender, self.emission.functions.advance())
        receipt = self.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        emitted = self.emission.events.Emitted().process_receipt(receipt, errors=DISCARD)
        # One Emitted per segment: two when the call crosses the end of the bootstrap guard.
        minted = sum(int(e["args"]["amount"]) for e in emitted)
        epochs = sum(int(e["args"]["epochs"]) for e in emitted) if emitted else due
        what = (
            f"settled {epochs} emission epoch{'s' if epochs != 1 else ''}, "
            f"minted {format_club(minted, decimals=REPORT_DECIMALS)}"
        )
        return KeeperAction("Emission", what, self._balance() - before, tx)

    def finalise_epochs(self, limit: int = MAX_FINALISE_PER_PASS) -> list[KeeperAction]:
        """`NodeRegistry.finalize_epoch()` for each ended reward epoch (at most `limit`)."""
        actions = []
        for _ in range(limit):
            if self._now() < self._registry_epoch_end():
                break
            epoch = int(self.registry.functions.epochs_finalised().call())
            before = self._balance()
            keeper = RegistryActions(Web3Port(self.w3, self.sender), self.registry, None)
            tx = keeper.finalize_epoch()
            rewards = sum(int(ev["rewards"]) for ev in keeper.events(tx, "EpochFinalised"))
            paid = format_club(rewards, decimals=REPORT_DECIMALS)
            what = f"finalised reward epoch {epoch}, {paid} to node pools"
            actions.append(KeeperAction("NodeRegistry", what, self._balance() - before, tx))
        return actions

    def run_once(self) -> KeeperPass:
        """One pass: emission first (it funds the registry), then the reward epochs."""
        actions: list[KeeperAction] = []
        advanced = self.advance_emission()
        if advanced is not None:
            actions.append(advanced)
        actions += self.finalise_epochs()
        return KeeperPass(
            tuple(actions),
            next_emission=int(self.emission.functions.next_epoch_time().call()),
            next_finalise=self._registry_epoch_end(),
            now=self._now(),
        )
