"""EIP-712 typed data: token domains, EIP-2612 permits and ERC-5805 delegations, signed and hashed.

The one place the package, the tests and the benchmarks build these signatures. Two independent
routes to the same bytes, so each checks the other:
- `*_digest` build the EIP-712 digest by hand from the spec (keccak of the
  ABI-encoded domain and struct, `0x1901` prefix);
- `sign_*` sign through eth_account's typed-data encoder (`Account.sign_typed_data`).
The unit tests compare the contract's DOMAIN_SEPARATOR with `Domain.separator()`
and check that a signature made by `sign_*` recovers to the signer over `*_digest`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

# Order of the secp256k1 group; signatures with s > N // 2 are the malleable twins (EIP-2).
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

EIP712_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
PERMIT_TYPE = "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
DELEGATION_TYPE = "Delegation(address delegatee,uint256 nonce,uint256 expiry)"

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_PERMIT_FIELDS = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_DELEGATION_FIELDS = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain (name, version, chainId, verifyingContract) as in EIP-2612 tokens."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    @classmethod
    def of(cls, token: Any) -> Domain:
        """The domain a token reports through EIP-5267 `eip712Domain()` (a web3.py or titanoboa contract)."""
        functions = getattr(token, "functions", None)
        raw = functions.eip712Domain().call() if functions is not None else token.eip712Domain()
        _fields, name, version, chain_id, contract, _salt, _ext = raw
        return cls(name, version, int(chain_id), to_checksum_address(str(contract)))

    def with_chain_id(self, chain_id: int) -> Domain:
        return replace(self, chain_id=chain_id)

    def separator(self) -> bytes:
        """hashStruct(EIP712Domain), computed from the spec."""
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    keccak(text=EIP712_DOMAIN_TYPE),
                    keccak(text=self.name),
                    keccak(text=self.version),
                    self.chain_id,
                    self.verifying_contract,
                ],
            )
        )

    def as_typed_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True)
class Signature:
    """A secp256k1 signature as the contracts take it: v (27/28), r and s as 32-byte words."""

    v: int
    r: bytes
    s: bytes

    @classmethod
    def from_ints(cls, v: int, r: int, s: int) -> Signature:
        return cls(v, r.to_bytes(32, "big"), s.to_bytes(32, "big"))

    def malleable_twin(self) -> Signature:
        """The other valid signature of the same digest and key: s' = n - s, v flipped (27 <-> 28)."""
        s = int.from_bytes(self.s, "big")
        return Signature(55 - self.v, self.r, (SECP256K1_N - s).to_bytes(32, "big"))

    def packed(self) -> bytes:
        """r || s || v, the 65-byte form EIP-1271 wallets receive."""
        return self.r + self.s + bytes([self.v])

    def vrs(self) -> tuple[int, bytes, bytes]:
        return self.v, self.r, self.s


def typed_data_digest(domain: Domain, struct_hash: bytes) -> bytes:
    """The EIP-712 digest of a struct hash in `domain`: keccak256(0x1901 || separator || struct)."""
    return keccak(b"\x19\x01" + domain.separator() + struct_hash)


def typed_data(
    domain: Domain, primary: str, fields: list[dict[str, str]], message: dict[str, Any]
) -> dict[str, Any]:
    """One message as EIP-712 typed data (what `eth_signTypedData_v4` and eth_account take)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": domain.as_typed_data(),
        "message": message,
    }


def permit_digest(domain: Domain, owner: str, spender: str, value: int, nonce: int, deadline: int) -> bytes:
    """EIP-2612 digest, computed from the spec."""
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
            [keccak(text=PERMIT_TYPE), owner, spender, value, nonce, deadline],
        )
    )
    return typed_data_digest(domain, struct_hash)


def delegation_digest(domain: Domain, delegatee: str, nonce: int, expiry: int) -> bytes:
    """ERC-5805 `delegateBySig` digest, computed from the spec."""
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "uint256", "uint256"],
            [keccak(text=DELEGATION_TYPE), delegatee, nonce, expiry],
        )
    )
    return typed_data_digest(domain, struct_hash)


def sign_typed(
    account: LocalAccount, primary: str, fields: list[dict[str, str]], domain: Domain, msg: dict
) -> Signature:
    signed = account.sign_typed_data(full_message=typed_data(domain, primary, fields, msg))
    return Signature.from_ints(signed.v, signed.r, signed.s)


def sign_permit(
    account: LocalAccount,
    domain: Domain,
    spender: str,
    value: int,
    nonce: int,
    deadline: int,
    owner: str | None = None,
) -> Signature:
    """`account` signs an EIP-2612 permit; `owner` defaults to the signer (override it to forge)."""
    msg = {
        "owner": to_checksum_address(owner or account.address),
        "spender": to_checksum_address(spender),
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    return sign_typed(account, "Permit", _PERMIT_FIELDS, domain, msg)


def sign_delegation(
    account: LocalAccount, domain: Domain, delegatee: str, nonce: int, expiry: int
) -> Signature:
    """`account` signs an ERC-5805 delegation to `delegatee`."""
    msg = {"delegatee": to_checksum_address(delegatee), "nonce": nonce, "expiry": expiry}
    return sign_typed(account, "Delegation", _DELEGATION_FIELDS, domain, msg)


def recover(digest: bytes, sig: Signature) -> str:
    """The address that signed `digest` (eth_account's recovery, no malleability check)."""
    return str(
        Account._recover_hash(digest, vrs=(sig.v, int.from_bytes(sig.r, "big"), int.from_bytes(sig.s, "big")))
    )
