"""Public identifiers: a type prefix and a ULID (time-ordered, so ids sort by creation and can
serve as pagination cursors).

Within one process ids are strictly increasing, even inside one millisecond (the random part is
incremented, as in the ULID spec's monotonic mode); across processes they sort by millisecond.
"""

from __future__ import annotations

import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last = 0


def _next_value() -> int:
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        _last = value if value > _last else _last + 1
        return _last


def new_id(prefix: str) -> str:
    value = _next_value()
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return f"{prefix}_{''.join(reversed(chars))}"
