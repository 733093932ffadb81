"""Request and response models of the accounts, keys and alerts routes (docs/security.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gradsight_server.api.schemas import NAME_PATTERN, Severity
from gradsight_server.auth.model import USERNAME_PATTERN

Role = Literal["viewer", "editor", "admin"]
KeyScope = Literal["ingest", "read"]
USERNAME_FIELD = Field(min_length=1, max_length=64, pattern=USERNAME_PATTERN)
PASSWORD_FIELD = Field(min_length=1, max_length=1024)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = PASSWORD_FIELD


class UserOut(BaseModel):
    username: str
    admin: bool
    created_at: str | None = None


class ProjectRole(BaseModel):
    name: str
    role: Role | None
    created_at: str | None = None


class Me(BaseModel):
    mode: Literal["local", "authenticated"]
    kind: Literal["local", "user", "key"]
    user: UserOut | None
    projects: list[ProjectRole]
    csrf_token: str | None = None
    """Send it back as ``X-CSRF-Token`` on every request that changes something."""


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str


class UserIn(Strict):
    username: str = USERNAME_FIELD
    password: str = PASSWORD_FIELD
    admin: bool = False


class PasswordIn(Strict):
    password: str = PASSWORD_FIELD


class UserList(BaseModel):
    items: list[UserOut]


class ProjectIn(Strict):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)


class ProjectList(BaseModel):
    items: list[ProjectRole]


class MemberIn(Strict):
    role: Role


class Member(BaseModel):
    username: str
    role: Role


class MemberList(BaseModel):
    items: list[Member]


class KeyIn(Strict):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    scope: KeyScope
    rate_limit_per_min: int | None = Field(default=None, ge=1, le=1_000_000)


class KeyOut(BaseModel):
    id: str
    project: str
    name: str
    prefix: str
    scope: KeyScope
    rate_limit_per_min: int | None
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class NewKey(KeyOut):
    key: str
    """The key itself: shown this once, never stored."""


class KeyList(BaseModel):
    items: list[KeyOut]


class WebhookIn(Strict):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)
    url: str = Field(min_length=8, max_length=2048)
    kind: Literal["json", "slack"] = "json"
    min_severity: Severity = "warning"
    secret: str | None = Field(default=None, min_length=16, max_length=256)


class WebhookOut(BaseModel):
    id: str
    name: str
    url: str
    """Scheme and host only: the path of a chat webhook is itself a secret."""
    kind: Literal["json", "slack"]
    min_severity: Severity
    signed: bool
    created_at: str | None


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    diagnosis_id: str
    run_id: str | None
    rule: str | None
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    created_at: str | None
    delivered_at: str | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
