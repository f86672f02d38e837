"""What the call benchmarks share: the pause between two calls.

coturn frees the two allocations of a hung-up call a moment later; placed back to back, the third
call's allocation is refused on this machine (the credential's user quota is still full). The pause
is not part of any measured time.
"""

CALL_GAP = 2.0  # seconds between benchmark calls
