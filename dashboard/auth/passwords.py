"""Password hashes: argon2id through argon2-cffi's PasswordHasher, with the library's
defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4; about 50 ms a hash).

A hash carries its own parameters and salt, so raising the parameters later needs no
migration: `needs_rehash` says a stored hash is weaker than today's, and a successful
login stores a new one (login.py).
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 1024  # bounds the work one login attempt can ask of the server


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash. No hash (an account that cannot log in)
    still costs one verification, so the answer takes as long as for a real account."""
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(HASHER.hash("no account has this password"))
    return _DUMMY[0]


def check_new_password(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"a password has at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"a password has at most {MAX_LENGTH} characters"
    return None
