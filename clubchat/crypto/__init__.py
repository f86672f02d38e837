"""End-to-end encryption: wallet-bound device keys, key bundles, HPKE-sealed envelope payloads.

`bundle` defines the wallet-signed statements (keys bound to an address, revocations) and checks
them; `device` holds one device's private keys and its rotating prekeys; `hpke` seals and opens with
RFC 9180 (pyhpke on `cryptography`); `padding` the size buckets; `session` puts them together: a
`Sealer` turns an envelope's payload into a `sealed` / `sealed-signal` payload and back, with
trust-on-first-use pinning, safety numbers and replay rejection; `keystore` keeps devices per wallet;
`senderkeys` the per-member symmetric chains for rooms (rotated when a member is removed; not wired
to rooms yet).
"""
