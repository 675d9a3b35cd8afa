"""Every error Relance raises on purpose, and what it means to a caller.

    RelanceError
    ├── InvalidInput          the request itself is wrong (bad value, unknown reference)
    │   ├── CurrencyMismatch  two amounts in different currencies were combined
    │   ├── InvalidPolicy     a dunning policy document does not validate
    │   └── InvalidTemplate   a message template does not render (line and error given)
    ├── NotFound              the thing does not exist for this merchant
    ├── Conflict              the request is valid but clashes with the current state
    │   └── IdempotencyConflict  an Idempotency-Key was reused with another request
    └── Unauthenticated       no valid API key

Entry points translate these into problem+json (API) or one line and an exit code (CLI);
anything else is a bug and is reported as such.
"""

from __future__ import annotations


class RelanceError(Exception):
    """Base of every deliberate error; the message is a sentence a person understands."""


class InvalidInput(RelanceError):
    pass


class CurrencyMismatch(InvalidInput):
    pass


class InvalidPolicy(InvalidInput):
    pass


class InvalidTemplate(InvalidInput):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class NotFound(RelanceError):
    pass


class Conflict(RelanceError):
    pass


class IdempotencyConflict(Conflict):
    pass


class Unauthenticated(RelanceError):
    pass
