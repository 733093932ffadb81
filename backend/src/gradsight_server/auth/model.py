"""Who is asking, and what each role or key scope may do (pure: no database, no HTTP)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["viewer", "editor", "admin"]
Scope = Literal["ingest", "read"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
SCOPES: tuple[Scope, ...] = ("ingest", "read")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"


class Permission(enum.Enum):
    READ = "read"
    """Runs, series, diagnoses, members."""
    INGEST = "ingest"
    """Create and resume runs, send batches, finish runs."""
    DELETE_RUNS = "delete_runs"
    MANAGE_KEYS = "manage_keys"
    """Create, list and revoke the project's API keys."""
    MANAGE_PROJECT = "manage_project"
    """Members, roles and alert destinations."""


P = Permission
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    "viewer": frozenset({P.READ}),
    "editor": frozenset({P.READ, P.INGEST, P.DELETE_RUNS, P.MANAGE_KEYS}),
    "admin": frozenset(P),
}
# A key never manages anything: a leaked agent key can at worst write telemetry into its project.
SCOPE_PERMISSIONS: Mapping[Scope, frozenset[Permission]] = {
    "ingest": frozenset({P.INGEST}),
    "read": frozenset({P.READ}),
}


@dataclass(frozen=True)
class Principal:
    kind: Literal["local", "user", "key"]
    is_admin: bool = False
    """Server administrator (and the single user of local mode): every project."""
    user_pk: int | None = None
    username: str | None = None
    roles: Mapping[str, Role] = field(default_factory=dict)
    """Project name → the user's role in it."""
    key_pk: int | None = None
    key_project: str | None = None
    key_scope: Scope | None = None
    session_pk: int | None = None
    csrf_token: str | None = None

    def permissions(self, project: str) -> frozenset[Permission]:
        if self.is_admin:
            return frozenset(Permission)
        if self.kind == "key":
            if project != self.key_project or self.key_scope is None:
                return frozenset()
            return SCOPE_PERMISSIONS[self.key_scope]
        role = self.roles.get(project)
        return ROLE_PERMISSIONS[role] if role is not None else frozenset()

    def can(self, project: str, permission: Permission) -> bool:
        return permission in self.permissions(project)

    def visible_projects(self) -> frozenset[str] | None:
        """Projects this principal holds any permission in; None means every project."""
        if self.is_admin:
            return None
        if self.kind == "key":
            return frozenset([self.key_project] if self.key_project else [])
        return frozenset(self.roles)

    def projects_with(self, permission: Permission) -> frozenset[str] | None:
        """Project names this principal holds ``permission`` on; None means every project."""
        if self.is_admin:
            return None
        if self.kind == "key":
            return frozenset(
                [self.key_project] if self.key_project and self.can(self.key_project, permission) else []
            )
        return frozenset(p for p, role in self.roles.items() if permission in ROLE_PERMISSIONS[role])


LOCAL = Principal(kind="local", is_admin=True, username="local")
"""The single user of a loopback server with no accounts."""
