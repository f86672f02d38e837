"""What the call benchmarks share: the pause between two calls.

A call takes one TURN allocation per side (max-bundle), and each is deleted at hang-up, but coturn
frees a deleted allocation's quota a second or more after the delete: the benchmarks place 12 calls
in a few seconds, more than a wallet's credential quota of 4 holds within that time. The pause is
not part of any measured time.
"""

CALL_GAP = 1.5  # seconds between benchmark calls
