"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended algorithm."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so an unknown name takes as long as a wrong password.
_DUMMY = _HASHER.hash("callcore-dummy-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_async(stored: str | None, password: str) -> bool:
    """Argon2 is deliberately slow (tens of ms): run it off the event loop."""
    return await asyncio.to_thread(verify_password, stored or _DUMMY, password) and stored is not None
