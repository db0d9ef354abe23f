"""Argon2id password hashes."""

from __future__ import annotations

from callcore.accounts.passwords import hash_password, verify_password


def test_password_hashing() -> None:
    h = hash_password("s3cret-password")
    assert h.startswith("$argon2id$") and verify_password(h, "s3cret-password")
    assert not verify_password(h, "wrong") and not verify_password("garbage", "x")
