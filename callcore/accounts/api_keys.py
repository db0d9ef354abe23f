"""Keys for third-party clients (Open311 GeoReport's ``api_key``), issued and revoked by admins.

A key is shown once, when it is issued; only its SHA-256 is stored (like login tokens), with a short
prefix to recognise it in lists. Each key has scopes: ``read`` (look requests up) and ``create``
(file requests). A revoked key stays in the table, for the record, and no longer works.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from callcore.accounts.models import ApiKey
from callcore.accounts.sessions import token_hash
from callcore.core.errors import DomainError, NotFound
from callcore.core.identity import SYSTEM, Principal
from callcore.store.base import utcnow
from callcore.store.db import Database

READ = "read"
CREATE = "create"
SCOPES = (READ, CREATE)
SCOPE_TEXT = {READ: "查询", CREATE: "提交"}
PREFIX = "cc311_"


class InvalidApiKey(DomainError):
    status = 401
    error_id = "invalid_api_key"


class ScopeMissing(DomainError):
    status = 403
    error_id = "forbidden"


@dataclass(frozen=True, kw_only=True)
class Client:
    """Who calls with a key: its id, name and scopes."""

    key_id: str
    name: str
    scopes: frozenset[str]

    @property
    def principal(self) -> Principal:
        """The client acts on tickets as the hotline's own intake, named after the key in every event."""
        return Principal(user_id=f"api-key:{self.key_id}", name=f"Open311：{self.name}", role=SYSTEM)

    def need(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ScopeMissing(f"api key lacks the {scope!r} scope",
                               text=f"此接口密钥没有“{SCOPE_TEXT.get(scope, scope)}”权限")


async def issue(db: Database, *, name: str, scopes: list[str], created_by: str) -> tuple[ApiKey, str]:
    """A new key; the whole key is returned here only."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(id=str(uuid.uuid4()), name=name, key_hash=token_hash(key), prefix=key[:12],
                 scopes=sorted(set(scopes)), created_by=created_by, created_at=utcnow(), revoked_at=None)
    async with db.session() as s:
        s.add(row)
    return row, key


async def list_keys(db: Database) -> list[ApiKey]:
    async with db.session() as s:
        return list(await s.scalars(select(ApiKey).order_by(ApiKey.created_at)))


async def revoke(db: Database, key_id: str) -> ApiKey:
    async with db.session() as s:
        row = None if "\x00" in key_id else await s.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"api key {key_id} not found", text="没有这个接口密钥")
        if row.revoked_at is None:
            await s.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=utcnow()))
            await s.refresh(row)
        return row


async def authenticate(db: Database, key: str) -> Client:
    """The client of a key; ``InvalidApiKey`` for an unknown or revoked one."""
    if not key.startswith(PREFIX) or len(key) > 100:
        raise InvalidApiKey("invalid api_key", text="接口密钥无效")
    async with db.session() as s:
        row = await s.scalar(select(ApiKey).where(ApiKey.key_hash == token_hash(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        raise InvalidApiKey("invalid or revoked api_key", text="接口密钥无效或已吊销")
    return Client(key_id=row.id, name=row.name, scopes=frozenset(row.scopes))
