"""End-to-end encryption: wallet-bound device keys, key bundles, Double Ratchet sessions.

`bundle` defines the wallet-signed statements (keys bound to an address, revocations) and checks
them; `device` holds one device's private keys and its rotating prekeys; `hpke` seals and opens with
RFC 9180 (pyhpke on `cryptography`) and derives a session's first secret; `ratchet` is the Double
Ratchet state machine; `padding` the size buckets; `session` puts them together: a `Sealer` turns an
envelope's payload into a `sealed` / `sealed-signal` payload of a ratchet session and back, with
trust-on-first-use pinning, safety numbers and replay rejection; `keystore` keeps devices, pins and
sessions per wallet, encrypted with a passphrase; `senderkeys` the per-member symmetric chains for
rooms (rotated when a member is removed), `roomseal` the room message format built on them and
`roomfiles` the encryption of files posted to rooms.
"""
