"""Login sessions: random bearer tokens of which only the SHA-256 is stored, with an expiry.

``SessionAuth`` is an authenticator (``authenticate(token) -> Principal | None``): the accounts
plugin puts it in the API's chain of authenticators, after the admin token. A session that ends
(logged out, or revoked by an admin) ends the live feeds it opened too (``SessionSockets``); the
feeds notice an expiry themselves, re-authenticating from time to time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callcore.accounts.models import User, UserSession
from callcore.accounts.passwords import verify_async
from callcore.core.identity import Principal
from callcore.core.sockets import SessionSockets
from callcore.store.base import utcnow
from callcore.store.db import Database


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, name=user.name or user.username, role=user.role,
                     department_id=user.department_id)


async def revoke_sessions(session: AsyncSession, user_id: str) -> None:
    """Revokes every session of the user in the caller's transaction; once it is committed, the caller
    ends the user's feeds (``SessionSockets.end_user``), which would otherwise stay open."""
    await session.execute(update(UserSession).where(UserSession.user_id == user_id).values(revoked=True))


class SessionAuth:
    def __init__(self, db: Database, *, hours: int = 12, sockets: SessionSockets | None = None) -> None:
        self.db = db
        self.ttl = timedelta(hours=hours)
        self.sockets = sockets if sockets is not None else SessionSockets()

    async def authenticate(self, token: str) -> Principal | None:
        if len(token) > 200:
            return None
        now = utcnow()
        async with self.db.session() as s:
            row = (await s.execute(
                select(User).join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.token_hash == token_hash(token), UserSession.revoked.is_(False),
                       UserSession.expires_at > now, User.active.is_(True)))).scalar_one_or_none()
            return None if row is None else principal_of(row)

    async def login(self, username: str, password: str) -> tuple[str, datetime, User] | None:
        """A new token for good credentials; None otherwise (the caller answers 401 either way)."""
        async with self.db.session() as s:
            user = await s.scalar(select(User).where(User.username == username))
        ok = await verify_async(user.password_hash if user else None, password)
        if not ok or user is None or not user.active:
            return None
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + self.ttl
        async with self.db.session() as s:
            s.add(UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now, expires_at=expires,
                              revoked=False))
            await s.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at < now))
        return token, expires, user

    async def logout(self, token: str) -> None:
        """Revokes the token, then closes the feeds it opened (a feed reopened now finds no session)."""
        async with self.db.session() as s:
            await s.execute(update(UserSession).where(UserSession.token_hash == token_hash(token)).values(revoked=True))
        self.sockets.end_login(token)
