"""The operator and delegator actions `club node` and `ape run nodes` share, with amounts in CLUB.

Thin over `clubchat.registry.NodeRegistryClient`: each function reads what it needs first (so a
claim with nothing pending, or a withdrawal with nothing released, sends no transaction) and
returns a sentence with the CLUB amounts and the transaction, for the command to print.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from clubchat.amounts import format_club
from clubchat.chain.tx import Sender
from clubchat.registry import NOTIFY, RELAY, TURN, TURN_CREDENTIAL, NodeRegistryClient, RegistryError
from clubchat.timefmt import when

ENDPOINT_KINDS = {"relay": RELAY, "turn": TURN, "notify": NOTIFY, "credential": TURN_CREDENTIAL}


@dataclass(frozen=True)
class Done:
    """What an action did: one sentence, and the transactions sent (none when there was nothing to do)."""

    sentence: str
    txs: tuple[str, ...] = ()

    def line(self) -> str:
        return self.sentence + (f" (tx {', '.join(self.txs)})" if self.txs else "")


def _me(client: NodeRegistryClient) -> str:
    if client.sender is None:
        raise RegistryError("this action sends a transaction; give the account's key")
    return str(to_checksum_address(client.sender.address))


def _now(client: NodeRegistryClient) -> int:
    return int(client.w3.eth.get_block("latest")["timestamp"])


def shares_for(client: NodeRegistryClient, node: str, amount_wei: int | None) -> int:
    """The sender's shares of `node` worth `amount_wei` CLUB (rounded up, at most all); None = all."""
    me = _me(client)
    node = to_checksum_address(node)
    held = client.shares(node, me)
    assets = int(client.registry.functions.assets_of(node, me).call())
    if held == 0:
        raise RegistryError(f"{me} holds no shares of {node}; nothing to unbond")
    if amount_wei is None or amount_wei >= assets:
        if amount_wei is not None and amount_wei > assets:
            raise RegistryError(f"{me} has {format_club(assets)} bonded with {node}; unbond at most that")
        return held
    return min(held, -(-amount_wei * held // assets))


def unbond(client: NodeRegistryClient, node: str, amount_wei: int | None, shares: int | None) -> Done:
    """Unbond `amount_wei` CLUB (or `shares`, or everything) from `node`; says what and until when."""
    if amount_wei is not None and shares is not None:
        raise RegistryError("give --amount (CLUB) or --shares, not both")
    count = shares if shares is not None else shares_for(client, node, amount_wei)
    tx = client.unbond(node, count)
    receipt = client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    events = client.registry.events.Unbonded().process_receipt(receipt, errors=DISCARD)
    if not events:
        return Done(f"unbonded {count:,} shares of {node}", (tx,))
    ev = events[0]["args"]
    return Done(
        f"unbonding {format_club(int(ev['assets']))} ({count:,} shares) from {node} as entry "
        f"{int(ev['entry_id'])}, released {when(int(ev['release_time']), _now(client))}",
        (tx,),
    )


def withdraw_all(client: NodeRegistryClient) -> Done:
    """Withdraw every released unbonding entry of the sender; says the total and what is still locked."""
    me = _me(client)
    reg = client.registry.functions
    now = _now(client)
    total, txs, locked = 0, [], []
    for entry_id in range(int(reg.unbonding_count(me).call())):
        entry = reg.unbondings(me, entry_id).call()
        if int(entry[1]) == 0:
            continue
        if now < int(entry[2]):
            locked.append(f"entry {entry_id} released {when(int(entry[2]), now)}")
            continue
        tx = client.withdraw(entry_id)
        receipt = client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
        for ev in client.registry.events.Withdrawn().process_receipt(receipt, errors=DISCARD):
            total += int(ev["args"]["assets"])
        txs.append(tx)
    if not txs:
        rest = "; ".join(locked) if locked else "no unbonding entries"
        return Done(f"nothing to withdraw yet ({rest})")
    tail = f"; still unbonding: {'; '.join(locked)}" if locked else ""
    return Done(
        f"withdrew {format_club(total)} from {len(txs)} entr{'y' if len(txs) == 1 else 'ies'}{tail}",
        tuple(txs),
    )


def claim(client: NodeRegistryClient, node: str) -> Done:
    """Claim the sender's rewards from `node` (plus the commission for the operator) if any are pending."""
    me = _me(client)
    node = to_checksum_address(node)
    pending = client.pending_rewards(node, me)
    if pending == 0:
        return Done(f"nothing to claim from {node} for {me} (0 CLUB pending); no transaction sent")
    tx = client.claim(node)
    receipt = client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    paid = sum(
        int(ev["args"]["amount"])
        for ev in client.registry.events.Claimed().process_receipt(receipt, errors=DISCARD)
    )
    return Done(f"claimed {format_club(paid)} from {node} to {me}", (tx,))


def set_commission(client: NodeRegistryClient, bps: int) -> Done:
    """Schedule a commission change; says from when it applies."""
    me = _me(client)
    tx = client.set_commission(bps)
    n = client.node(me)
    return Done(
        f"commission {int(n[7]) / 100:.2f} % -> {bps / 100:.2f} % scheduled; applies from "
        f"{when(int(n[9]), _now(client))}",
        (tx,),
    )


def set_endpoint(client: NodeRegistryClient, kind: str, uri: str) -> Done:
    tx = client.set_endpoint(ENDPOINT_KINDS[kind], uri)
    return Done(f"{kind} endpoint of {_me(client)} is now {uri}", (tx,))


def set_node_key(client: NodeRegistryClient, key_address: str, key: Sender | None = None) -> Done:
    """Rotate the node key; the new key must approve the operator first (sent here when `key`, the new
    key's own Sender, is given)."""
    address = to_checksum_address(key_address)
    tx = client.set_node_key(address, key)
    return Done(f"node key of {_me(client)} is now {address}; restart `club node run` with it", (tx,))


def approve_operator(client: NodeRegistryClient, operator: str) -> Done:
    """Sent by a node key: consent to being bound by `operator` (before its `register`/`set-node-key`)."""
    operator = to_checksum_address(operator)
    tx = client.approve_operator(operator)
    return Done(f"node key {_me(client)} approved {operator} as its operator", (tx,))


def set_metadata(client: NodeRegistryClient, region: str, metadata_uri: str) -> Done:
    tx = client.set_metadata(region, metadata_uri)
    return Done(f"region {region or '-'} and metadata URI {metadata_uri or '-'} set for {_me(client)}", (tx,))


def rebond(client: NodeRegistryClient, entry_id: int) -> Done:
    tx = client.rebond(entry_id)
    receipt = client.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    events = client.registry.events.Rebonded().process_receipt(receipt, errors=DISCARD)
    amount = f" {format_club(int(events[0]['args']['assets']))}" if events else ""
    return Done(f"rebonded entry {entry_id}{amount}", (tx,))


def unjail(client: NodeRegistryClient) -> Done:
    tx = client.unjail()
    return Done(f"{_me(client)} is out of jail and eligible again once it heartbeats", (tx,))


def exit_node(client: NodeRegistryClient) -> Done:
    """Leave: unbond all of the operator's own stake (withdraw later; `deregister` frees the slot)."""
    me = _me(client)
    done = unbond(client, me, None, None)
    return Done(
        f"exit: {done.sentence}; then `club node deregister` and, once released, `club node withdraw --all`",
        done.txs,
    )


def deregister(client: NodeRegistryClient) -> Done:
    """Leave for good after `exit`: frees the node's slots and listing entry, releases the node key."""
    me = _me(client)
    tx = client.deregister()
    return Done(
        f"{me} is deregistered (slots and node key released); its unbonding entries still withdraw", (tx,)
    )
