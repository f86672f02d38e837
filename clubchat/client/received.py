"""Where a received file is saved: under the sender's file name, made safe, never outside `out`.

The name in `file-complete` comes from the peer and is untrusted: only its last path component is
kept (either slash counts as a separator), control characters and leading dots go (no `..`, no
hidden files), it is cut to 255 bytes, and a name that is left empty falls back to the file id. An
existing file is never overwritten: `report (1).pdf`, `report (2).pdf`, ... are tried instead.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from clubchat.client.call import FileResult

MAX_NAME_BYTES = 255


def safe_file_name(name: str | None, fallback: str) -> str:
    """A plain file name (no directory, no control characters, not hidden) for `name`."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".").strip()
    while len(base.encode()) > MAX_NAME_BYTES:  # bound: drops one character per round
        base = base[:-1]
    return base or fallback


def save_received(out: Path, got: FileResult) -> Path:
    """Write `got` into `out` under its safe name, without overwriting; returns the path written."""
    out.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(got.name, got.file_id)
    stem, suffix = os.path.splitext(name)
    path, n = out / name, 0
    while True:  # bound: one try per existing file of that name
        try:
            with path.open("xb") as fh:  # exclusive create: never overwrite, never follow a link
                fh.write(got.data)
            return path
        except FileExistsError:
            n += 1
            path = out / f"{stem} ({n}){suffix}"
