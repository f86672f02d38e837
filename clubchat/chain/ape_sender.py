"""`ApeSender`: the one `Sender` over an ape account, for the `ape run ...` scripts; `ApeTypedSigner`:
its EIP-712 signatures (vouchers, history grants).

Run-time code never imports ape: this module is imported only by the scripts under `scripts/`,
and ape itself only inside `send` (to recognise its revert errors).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from eth_account.messages import encode_typed_data

from clubchat.chain.tx import TransactionFailed, short


class ApeSender:
    """Sends through an ape account object (keystores, hardware wallets, test accounts alike).

    Duck-typed on `account.address` and `account.transfer(to, value, data=...)`; a revert
    becomes `TransactionFailed` with the contract's reason, as with the web3.py senders.
    """

    def __init__(self, account: Any) -> None:
        self.account = account
        self.address = str(account.address)

    def send(self, to: str, data: bytes, value: int = 0) -> str:
        from ape.exceptions import ContractLogicError, TransactionError

        try:
            receipt = self.account.transfer(to, value, data=data)
        except ContractLogicError as exc:
            raise TransactionFailed(f"a transaction to {short(to)} would revert: {exc.message}") from None
        except TransactionError as exc:
            raise TransactionFailed(f"a transaction to {short(to)} failed: {exc}") from None
        return str(receipt.txn_hash)


class ApeTypedSigner:
    """What a typed-data signer is asked for (`address`, `sign_typed_data(full_message=...)`, as an
    eth_account `LocalAccount`), over an ape account: signed by the account's own `sign_message`, so
    keystores and hardware wallets sign as they do everything else."""

    def __init__(self, account: Any) -> None:
        self.address = str(account.address)
        self.account = account

    def sign_typed_data(self, full_message: dict[str, Any]) -> SimpleNamespace:
        signature = self.account.sign_message(encode_typed_data(full_message=full_message))
        if signature is None:
            raise TransactionFailed(f"account {self.address} did not sign the {full_message['primaryType']}")
        return SimpleNamespace(
            v=signature.v, r=int.from_bytes(signature.r, "big"), s=int.from_bytes(signature.s, "big")
        )
