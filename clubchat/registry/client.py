"""NodeRegistry client: one method per operator action, a typed `status` snapshot, registration checks.

`RegistryActions` defines each action and view once, over a `clubchat.chain.port.Port`, so the
same definitions run on web3.py (`NodeRegistryClient`) and in titanoboa (contracts in the loop,
`clubchat.sim.loop`, through `clubchat.deploy.boa_backend.BoaPort`). On web3.py transactions go
through the one `Sender` of clubchat.chain.tx (`LocalSender` for a local key, `ApeSender` in
`ape run nodes`, `Web3Sender` for unlocked accounts). Amounts are CLUB wei. Errors a user can
cause (not registered, missing allowance, endpoint scheme) are checked before sending where the
chain would only answer with a revert reason, and reported as `RegistryError` with one sentence
saying what to do; a transaction that reverts anyway raises `TransactionFailed` with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from clubchat.chain.eip712 import Domain, sign_permit
from clubchat.chain.manifest import Manifest
from clubchat.chain.port import Port, Web3Port
from clubchat.chain.tx import Sender
from clubchat.params import WAD
from clubchat.registry import words
from clubchat.registry.kinds import KIND_NAMES, NOTIFY, RELAY, TURN, TURN_CREDENTIAL, RegistryError
from clubchat.registry.words import NodeRecord

MAX_URI = 256


@dataclass(frozen=True)
class Registration:
    """What an operator registers: kinds, endpoints per kind, TURN credential endpoint, node key."""

    kinds: int
    endpoints: dict[int, str]  # kind -> URI
    node_key: str
    credential_endpoint: str = ""  # TURN only
    region: str = ""
    metadata_uri: str = ""
    commission_bps: int = 500

    def ordered_endpoints(self) -> list[str]:
        """The endpoint URIs in increasing kind order, as `register` takes them (checked first)."""
        missing = [name for name, k in KIND_NAMES.items() if self.kinds & k and not self.endpoints.get(k)]
        if missing:
            raise RegistryError(f"give an endpoint for each declared kind (missing: {', '.join(missing)})")
        uris = [self.endpoints[k] for k in (RELAY, TURN, NOTIFY) if self.kinds & k]
        for uri in [*uris, self.credential_endpoint, self.metadata_uri]:
            if len(uri) > MAX_URI:
                raise RegistryError(f"URI longer than {MAX_URI} characters: {uri[:40]}…; use a shorter one")
        if self.kinds & TURN and not self.credential_endpoint:
            raise RegistryError("a TURN node needs --credential-endpoint https://… (its credential service)")
        return uris


@dataclass(frozen=True)
class UnbondingEntry:
    entry_id: int
    node: str
    shares: int
    assets_wei: int
    release_time: int


@dataclass(frozen=True)
class NodeStatus:
    """A node's pool, commission schedule and one account's position, read in one go."""

    node: str
    account: str
    kinds: int
    node_key: str
    region: str
    endpoints: dict[int, str]
    eligible: bool
    jailed: bool
    jailed_until: int
    live_until: int  # unix seconds the last heartbeat keeps the node live (0 = never beat)
    weight_wei: int  # weight in discovery, whole CLUB as wei
    bonded_wei: int
    bonded_shares: int
    unbonding_wei: int
    commission_bps: int
    pending_commission_bps: int
    commission_effective_at: int
    account_shares: int
    account_assets_wei: int
    pending_rewards_wei: int
    unbonding: tuple[UnbondingEntry, ...]
    epochs_finalised: int
    heartbeat_seconds: int


class RegistryActions:
    """NodeRegistry and CLUB acting as `port.account`: each operator action and view, defined once.

    Backend-neutral: `port` is a `clubchat.chain.port.Port` (web3.py in `NodeRegistryClient`,
    titanoboa's `BoaPort` in contracts in the loop), `registry` and `token` its contract handles.
    """

    def __init__(self, port: Port, registry: Any, token: Any) -> None:
        self.port, self.registry, self.token = port, registry, token

    # -- plumbing --------------------------------------------------------------------------

    def _account(self) -> str:
        if self.port.account is None:
            raise RegistryError("this action sends a transaction; give an account")
        return str(to_checksum_address(self.port.account))

    def _send(self, fn_name: str, *args: Any) -> str:
        self._account()
        return self.port.transact(self.registry, fn_name, *args)

    def _read(self, fn_name: str, *args: Any) -> Any:
        return self.port.call(self.registry, fn_name, *args)

    def _ensure_allowance(self, amount: int) -> None:
        me = self._account()
        if int(self.port.call(self.token, "balanceOf", me)) < amount:
            raise RegistryError(f"{me} holds less than {amount / 1e18:,.4f} CLUB; fund it first")
        spender = str(self.registry.address)
        if int(self.port.call(self.token, "allowance", me, spender)) < amount:
            self.port.transact(self.token, "approve", spender, amount)

    def _registered(self, node: str) -> None:
        if int(self.node(node)[0]) == 0:
            raise RegistryError(
                f"{node} is not a registered node; register it first (`ape run nodes register`)"
            )

    def events(self, tx: str, name: str) -> list[dict[str, Any]]:
        """The registry's `name` events of transaction `tx` (e.g. "Claimed", "EpochFinalised")."""
        return self.port.events(self.registry, name, tx)

    # -- actions ---------------------------------------------------------------------------

    def key_consents(self, node_key: str, key: Any = None) -> None:
        """Make sure `node_key` approved the sender as its operator (`approve_operator`, sent by the
        key itself: the registry binds a key only with its consent). With `key` (the node key as its
        port's `acting_as` takes it: a Sender on web3.py, an address on titanoboa) the approval is
        sent when missing; without, a missing approval is a RegistryError saying how to send it."""
        me = self._account()
        node_key = to_checksum_address(node_key)
        if to_checksum_address(self._read("approved_operator", node_key)) == me:
            return
        if key is None:
            raise RegistryError(
                f"node key {node_key} has not approved {me} as its operator; send "
                f"`club node approve-operator {me}` with the node key first (or give its private key)"
            )
        key_port = self.port.acting_as(key)
        if to_checksum_address(str(key_port.account)) != node_key:
            raise RegistryError(f"the key given signs as {key_port.account}, not as the node key {node_key}")
        if self.port.balance(node_key) == 0:
            raise RegistryError(
                f"node key {node_key} holds 0 ETH and must send its approval of {me} itself; "
                f"fund it first (`club chain fund {node_key} --eth 1`)"
            )
        RegistryActions(key_port, self.registry, self.token).approve_operator(me)

    def approve_operator(self, operator: str) -> str:
        """Sent by a node key: consent to being bound by `operator` (its `register` or `set_node_key`)."""
        return self._send("approve_operator", to_checksum_address(operator))

    def register(self, spec: Registration, stake_wei: int, key: Any = None) -> str:
        """Approve (if needed) and register the sender as a node with `stake_wei` self-stake.

        The node key must have approved the sender (`key_consents`): pass `key`, the node key's
        Sender (an address on titanoboa), to send that approval here when it is missing."""
        uris = spec.ordered_endpoints()
        minimum = int(self._read("min_self_stake_per_kind")) * bin(spec.kinds).count("1")
        if stake_wei < minimum:
            raise RegistryError(
                f"stake at least {minimum / 1e18:,.0f} CLUB for these kinds ({spec.kinds:#x})"
            )
        self.key_consents(spec.node_key, key)
        self._ensure_allowance(stake_wei)
        return self._send(
            "register",
            spec.kinds,
            to_checksum_address(spec.node_key),
            spec.region,
            spec.metadata_uri,
            uris,
            spec.credential_endpoint,
            spec.commission_bps,
            stake_wei,
        )

    def stake(self, amount_wei: int) -> str:
        """Add self-stake to the sender's own node."""
        self._registered(self._account())
        self._ensure_allowance(amount_wei)
        return self._send("stake", amount_wei)

    def delegate(self, node: str, amount_wei: int) -> str:
        """Delegate CLUB to `node`'s pool."""
        self._registered(node)
        self._ensure_allowance(amount_wei)
        return self._send("delegate", to_checksum_address(node), amount_wei)

    def unbond(self, node: str, shares: int | None = None) -> str:
        """Start unbonding `shares` (default: all) of the sender's shares in `node`'s pool."""
        me = self._account()
        held = self.shares(node, me)
        amount = held if shares is None else shares
        if amount == 0 or amount > held:
            raise RegistryError(f"{me} holds {held} shares of {node}; unbond between 1 and {held}")
        return self._send("unbond", to_checksum_address(node), amount)

    def rebond(self, entry_id: int) -> str:
        return self._send("rebond", entry_id)

    def withdraw(self, entry_id: int) -> str:
        """Withdraw a released unbonding entry."""
        me = self._account()
        entry = self._read("unbondings", me, entry_id)
        if int(entry[1]) == 0:
            raise RegistryError(f"{me} has no open unbonding entry {entry_id}; see `status`")
        if self.port.timestamp() < int(entry[2]):
            raise RegistryError(
                f"entry {entry_id} is released at {time.ctime(int(entry[2]))}; withdraw after that"
            )
        return self._send("withdraw", entry_id)

    def claim(self, node: str) -> str:
        """Claim the sender's rewards from `node` (plus the commission when the sender is the operator)."""
        return self._send("claim", to_checksum_address(node))

    def claimed(self, tx: str) -> int:
        """CLUB wei a `claim` transaction paid (its `Claimed` event)."""
        return sum(int(ev["amount"]) for ev in self.events(tx, "Claimed"))

    def set_node_key(self, node_key: str, key: Any = None) -> str:
        """Rotate the sender's node key to `node_key` (which must approve the sender; see `key_consents`)."""
        self._registered(self._account())
        self.key_consents(node_key, key)
        return self._send("set_node_key", to_checksum_address(node_key))

    def deregister(self) -> str:
        """Leave for good once the sender's own stake is unbonded: frees its slots and listing entry."""
        me = self._account()
        self._registered(me)
        if self.shares(me, me) != 0 and not self._closed(me):
            raise RegistryError(f"{me} still has self-stake bonded; run `club node exit` first")
        return self._send("deregister")

    def _closed(self, node: str) -> bool:
        """A 100 % slash closed the node: its shares are worth nothing and cannot be unbonded."""
        return self.assets_of(node, node) == 0

    def heartbeat(self) -> str:
        """Sent by the node key."""
        return self._send("heartbeat")

    def set_endpoint(self, kind: int, uri: str) -> str:
        """Change the sender's endpoint of `kind` (or, with TURN_CREDENTIAL, its credential endpoint)."""
        return self._send("set_endpoint", kind, uri)

    def set_metadata(self, region: str, metadata_uri: str) -> str:
        return self._send("set_metadata", region, metadata_uri)

    def unjail(self) -> str:
        """Leave jail once its term is over (the node is eligible again after its next heartbeat)."""
        return self._send("unjail")

    def set_commission(self, bps: int) -> str:
        return self._send("set_commission", bps)

    def finalize_epoch(self) -> str:
        return self._send("finalize_epoch")

    def record_epoch_seed(self) -> str:
        """Record the sampling seed of the current epoch (permissionless)."""
        return self._send("record_epoch_seed")

    def poke(self, node: str) -> str:
        """Take a node that stopped beating out of discovery (permissionless, unpaid)."""
        return self._send("poke", to_checksum_address(node))

    # -- reads -----------------------------------------------------------------------------

    def node(self, node: str) -> NodeRecord:
        """NodeDirectory's `Node` record of `node` (kinds first; all zero when not registered),
        decoded here from the registry's `node_words` (so no lens address is needed)."""
        node = to_checksum_address(node)
        return words.decode(self._read("node_words", node, node))

    def weight(self, node: str) -> int:
        """`node`'s weight in discovery and rewards, in whole CLUB."""
        return int(self.node(node)[5])

    def shares(self, node: str, account: str) -> int:
        """`account`'s bonded shares of `node`'s pool (from the registry's `node_words`)."""
        return words.shares(self._read("node_words", to_checksum_address(node), to_checksum_address(account)))

    def pending_rewards(self, node: str, account: str) -> int:
        """What `claim(node)` would pay `account` now (NodeDirectory's `pending_rewards`, decoded here
        from the registry's `node_words`); works for a deregistered node's pool too."""
        node, account = to_checksum_address(node), to_checksum_address(account)
        stored = int(self._read("rewards", node, account))
        return words.pending_rewards(self._read("node_words", node, account), stored, node == account)

    def assets_of(self, node: str, account: str) -> int:
        """CLUB wei `account`'s shares of `node`'s pool are worth."""
        return int(self._read("assets_of", to_checksum_address(node), to_checksum_address(account)))

    def epochs_finalised(self) -> int:
        return int(self._read("epochs_finalised"))

    def total_weight(self) -> int:
        """Sum of the nodes' weights (whole CLUB), as Emission's bootstrap guard reads it."""
        return int(self._read("total_weight"))

    def sample(self, kind: int, seed: bytes, k: int) -> list[str]:
        return [to_checksum_address(a) for a in self._read("sample", kind, seed, k)]

    def status(self, node: str, account: str | None = None) -> NodeStatus:
        """Pool, commission schedule, unbonding queue and pending rewards of `account` (default: the node)."""
        read = self._read
        node = to_checksum_address(node)
        who = to_checksum_address(account or node)
        # One `node_words` read for the node (its record and eligibility) and, for another
        # account, one for that account's stake word (its shares and pending rewards).
        own = read("node_words", node, node)
        mine = own if who == node else read("node_words", node, who)
        n = words.decode(own)
        if int(n[0]) == 0:
            raise RegistryError(f"{node} is not a registered node")
        entries = []
        u_assets, u_shares = int(n[12]), int(n[13])
        for i in range(int(read("unbonding_count", who))):
            e = read("unbondings", who, i)
            if int(e[1]) == 0 or to_checksum_address(e[0]) != node:
                continue
            # The contract's conversion: one virtual share and one virtual wei, rounded down.
            assets = int(e[1]) * (u_assets + 1) // (u_shares + 1)
            entries.append(UnbondingEntry(i, node, int(e[1]), assets, int(e[2])))
        kinds = int(n[0])
        endpoints = {k: str(read("endpoint", node, k)) for k in (RELAY, TURN, NOTIFY) if kinds & k}
        if kinds & TURN:
            endpoints[TURN_CREDENTIAL] = str(read("endpoint", node, TURN_CREDENTIAL))
        return NodeStatus(
            node=node,
            account=who,
            kinds=kinds,
            node_key=to_checksum_address(n[1]),
            region=str(read("region", node)),
            endpoints=endpoints,
            eligible=words.eligible(own, int(read("min_self_stake_per_kind")), self.port.timestamp()),
            jailed=bool(n[3]),
            jailed_until=int(n[4]),
            live_until=int(n[2]),
            weight_wei=int(n[5]) * WAD,  # the registry counts weight in whole CLUB
            bonded_wei=int(n[10]),
            bonded_shares=int(n[11]),
            unbonding_wei=u_assets,
            commission_bps=int(n[7]),
            pending_commission_bps=int(n[8]),
            commission_effective_at=int(n[9]),
            account_shares=words.shares(mine),
            account_assets_wei=self.assets_of(node, who),
            pending_rewards_wei=words.pending_rewards(mine, int(read("rewards", node, who)), node == who),
            unbonding=tuple(entries),
            epochs_finalised=self.epochs_finalised(),
            heartbeat_seconds=int(read("heartbeat_seconds")),
        )


class NodeRegistryClient(RegistryActions):
    """`RegistryActions` over web3.py: NodeRegistry and CLUB from a manifest, acting as `sender`."""

    def __init__(self, w3: Web3, manifest: Manifest, sender: Sender | None = None) -> None:
        self.w3 = w3
        self.sender = sender
        registry: Contract = manifest.contract(w3, "NodeRegistry")
        token: Contract = manifest.contract(w3, "ClubToken")
        super().__init__(Web3Port(w3, sender), registry, token)

    def _me(self) -> Sender:
        """The Sender, for the operator helpers that send a registry call of their own."""
        if self.sender is None:
            raise RegistryError("this action sends a transaction; give an account")
        return self.sender

    def stake_with_permit(self, account: LocalAccount, amount_wei: int, deadline: int | None = None) -> str:
        """Stake in one transaction with an EIP-2612 permit signed by `account` (the sender's key)."""
        self._registered(self._account())
        v, r, s, deadline = self.permit_signature(account, amount_wei, deadline)
        return self._send("stake_with_permit", amount_wei, deadline, v, r, s)

    def permit_signature(
        self, account: LocalAccount, amount_wei: int, deadline: int | None = None
    ) -> tuple[int, bytes, bytes, int]:
        """EIP-2612 permit for the registry, signed by `account`: (v, r, s, deadline)."""
        deadline = deadline or self.port.timestamp() + 3600
        nonce = int(self.token.functions.nonces(account.address).call())
        sig = sign_permit(
            account, Domain.of(self.token), str(self.registry.address), amount_wei, nonce, deadline
        )
        return sig.v, sig.r, sig.s, deadline


def check_registration(registry: Contract, operator: str, reg: Registration) -> list[str]:
    """Differences between the chain and what a node serves (empty when they agree)."""
    problems = []
    op = to_checksum_address(operator)
    key = registry.functions.node_key(op).call()
    if int(key, 16) == 0:
        return [f"{op} is not registered; run `club node register` first"]
    if to_checksum_address(key) != to_checksum_address(reg.node_key):
        problems.append(f"node key on chain is {key}, this node signs with {reg.node_key}")
    for kind in (RELAY, TURN, NOTIFY):
        if reg.kinds & kind:
            on_chain, served = registry.functions.endpoint(op, kind).call(), reg.endpoints[kind]
            if on_chain != served:
                problems.append(
                    f"kind {int(kind)} endpoint on chain is {on_chain!r}, this node serves {served!r}"
                )
    if reg.kinds & TURN:
        on_chain = registry.functions.endpoint(op, TURN_CREDENTIAL).call()
        if on_chain != reg.credential_endpoint:
            problems.append(
                f"credential endpoint on chain is {on_chain!r}, this node serves {reg.credential_endpoint!r}"
            )
    return problems
