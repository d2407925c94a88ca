"""The one owner-only file writer: secrets, passwords, accounts, tokens.

A file is written whole to a temporary name beside it, created 0600 (so never readable by others for
an instant), fsync'd, then renamed over the target: a reader sees the old file or the new one, never
half of one, and a crash leaves no partial file behind.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE = 0o600


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes | str, *, exclusive: bool = False) -> bool:
    """Replace path with data, readable and writable by its owner only; the folder is made if missing.

    exclusive: create path only if it does not exist yet (os.link, atomic among concurrent writers:
    the first one wins, the others keep its file). Returns False when an exclusive write found it there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        if not exclusive:
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        _fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)
