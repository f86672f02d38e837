"""`ApeSender`: the one `Sender` over an ape account, for the `ape run ...` scripts.

Run-time code never imports ape: this module is imported only by the scripts under `scripts/`,
and ape itself only inside `send` (to recognise its revert errors).
"""

from __future__ import annotations

from typing import Any

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
