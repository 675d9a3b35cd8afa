"""Write-once files shared by several processes: how the sandbox gateway and the outbox channel
remember what they did, so a repeated idempotency key is answered from the first result."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def write_once(path: Path, content: bytes) -> bool:
    """Create `path` with `content` atomically; False if it already existed (content unchanged).

    The file is written aside then hard-linked into place: readers never see half a file, and
    of two processes racing on one key exactly one wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def note_replay(folder: Path, key: str) -> None:
    """Count a repeated key; tests read replays.log to see how often idempotency saved us."""
    with open(folder / "replays.log", "a", encoding="utf-8") as log:
        log.write(key + "\n")
