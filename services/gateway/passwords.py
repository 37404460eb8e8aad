"""Passwords and session tokens: argon2id hashes, random secrets. Pure (no Flask, no SQL)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes): memory-hard, ~50 ms.
_hasher = PasswordHasher()
# Checked against when the email is unknown, so an unknown email costs the same time as a wrong
# password and the answer's timing does not tell them apart.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))

PASSWORD_MIN_LENGTH = 10
# Long enough for any passphrase; bounded so a huge body cannot make hashing the bottleneck.
PASSWORD_MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one hashed; ``None`` (no such user) is checked against a decoy."""
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at sign-in)."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A one-time password for a new user: 96 random bits, 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def hash_session_token(token: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough (as for API keys) and lookups stay O(1).
    return hashlib.sha256(token.encode()).hexdigest()


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
