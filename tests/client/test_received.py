"""Received files keep the sender's name, made safe: no directories, no traversal, no hidden files,
no overwriting; and the name and MIME type travel in the data-channel messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from clubchat.client.call import FileResult
from clubchat.client.received import safe_file_name, save_received
from clubchat.protocol import messages as m


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("/abs/path/notes.txt", "notes.txt"),
        ("..", "ID"),
        (".bashrc", "bashrc"),
        ("a\x00b\nc.txt", "abc.txt"),
        ("", "ID"),
        (None, "ID"),
        ("dir/", "dir"),
        ("é" * 200, "é" * 127),
    ],
)
def test_safe_file_name(name: str | None, safe: str) -> None:
    assert safe_file_name(name, "ID") == safe


def test_saved_under_its_name_inside_out_and_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "received"
    first = save_received(out, FileResult("F1", "text/plain", b"one", "x", True, "../secret.txt"))
    second = save_received(out, FileResult("F2", "text/plain", b"two", "x", True, "secret.txt"))
    assert first == out / "secret.txt" and first.read_bytes() == b"one"
    assert second == out / "secret (1).txt" and second.read_bytes() == b"two"
    assert not (tmp_path / "secret.txt").exists()
    unnamed = save_received(out, FileResult("F3", "", b"three", "x", True))
    assert unnamed == out / "F3"


def test_file_complete_carries_the_name() -> None:
    done = m.FileComplete(
        file_id="0A1B2C3D-0000-4000-8000-000000000001", count=1, sha256="0" * 64, name="photo.jpg"
    )
    assert m.decode_datachannel(m.encode(done)) == done
    bare = m.FileComplete(file_id="0A1B2C3D-0000-4000-8000-000000000001", count=1, sha256="0" * 64)
    assert "name" not in m.encode(bare)  # an old sender's message stays as it was
    assert m.decode_datachannel(m.encode(bare)) == bare
