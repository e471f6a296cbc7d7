"""Password hashes for signing in to the web pages: Argon2id through argon2-cffi.

Hashes are PHC strings (``$argon2id$v=19$m=...``) that carry their own salt and
parameters, so raising the parameters later rehashes each password at its
owner's next sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .models import User, utcnow

# argon2-cffi's defaults (RFC 9106's second recommended option: 64 MiB,
# 3 passes, 4 lanes).
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

# Verified when the user name is unknown, so that a sign-in takes as long
# whether or not the user exists.
_DUMMY_HASH = _hasher.hash("dolil-no-such-user")


def check_new_password(password: str) -> None:
    """Raise ValueError when ``password`` is too short or too long to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def set_password(user: User, password: str) -> None:
    """Store an Argon2id hash of ``password`` for ``user``; the caller commits the session."""
    check_new_password(password)
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = utcnow()


def verify_password(user: User | None, password: str) -> bool:
    """Return whether ``password`` is the user's; None and users without a password never match.

    A hash made with older parameters is replaced by one with the current
    parameters after a match; the caller commits the session.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return True
