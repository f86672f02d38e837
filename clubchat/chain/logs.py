"""Reading a contract's logs up to a confirmed head in bounded `eth_getLogs` requests, the one loop
every log-fed cache shares (the registry cache, community rooms, NOTIFY's ad view)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Blocks per `eth_getLogs` request: public RPC endpoints refuse wider ranges.
LOG_CHUNK_BLOCKS = 2_000


def log_chunks(
    w3: Any, address: str | list[str], synced_block: int, target: int
) -> Iterator[tuple[int, list[Any]]]:
    """The raw logs of `address` (one address or several) in blocks (synced_block, target], as
    (last block of the chunk, its logs) per chunk of LOG_CHUNK_BLOCKS. A caller records the chunk's
    last block as synced once it applied the logs, so an RPC failure loses no applied chunk.
    Bound: (target - synced_block) / LOG_CHUNK_BLOCKS requests."""
    while synced_block < target:
        start = synced_block + 1
        end = min(target, start + LOG_CHUNK_BLOCKS - 1)
        yield end, list(w3.eth.get_logs({"address": address, "fromBlock": start, "toBlock": end}))
        synced_block = end
