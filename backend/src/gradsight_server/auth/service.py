"""Accounts service: sign-in, sessions, users, projects, members and API keys, without HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from gradsight_server.auth import secrets
from gradsight_server.auth.model import ROLES, SCOPES, USERNAME_PATTERN, Principal, Role, Scope
from gradsight_server.errors import Conflict, Invalid, NotFound
from gradsight_server.store import accounts, runs
from gradsight_server.store.engine import Database
from gradsight_server.store.models import ApiKey, Project, User

MIN_PASSWORD_LENGTH = 8


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()


def normalize_username(username: str) -> str:
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise Invalid("username", "use 1-64 letters, digits and . _ @ - (starting with a letter or digit)")
    return username.lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > secrets.MAX_PASSWORD_LENGTH:
        raise Invalid("password", f"use at most {secrets.MAX_PASSWORD_LENGTH} characters")


def user_view(user: User) -> dict[str, Any]:
    return {"username": user.username, "admin": user.is_admin, "created_at": _iso(user.created_at)}


def key_view(key: ApiKey, project: str) -> dict[str, Any]:
    return {
        "id": str(key.pk),
        "project": project,
        "name": key.name,
        "prefix": key.prefix,
        "scope": key.scope,
        "rate_limit_per_min": key.rate_limit_per_min,
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


# --- who is asking ------------------------------------------------------------------------


def auth_configured(db: Database) -> bool:
    with db.session() as session:
        return accounts.any_user(session)


def principal_for_session(db: Database, token: str) -> Principal | None:
    with db.session() as session:
        found = accounts.live_session(session, secrets.token_hash(token))
        if found is None:
            return None
        login, user = found
        roles = cast(dict[str, Role], accounts.roles_of(session, user.pk))
        return Principal(
            kind="user",
            is_admin=user.is_admin,
            user_pk=user.pk,
            username=user.username,
            roles=roles,
            session_pk=login.pk,
            csrf_token=login.csrf_token,
        )


@dataclass(frozen=True)
class KeyPrincipal:
    principal: Principal
    rate_limit_per_min: int | None


def principal_for_key(db: Database, key: str) -> KeyPrincipal | None:
    with db.write_session(wait_for_disk=False) as session:  # last_used_at may lose ~1 s on a crash
        found = accounts.live_key(session, secrets.token_hash(key))
        if found is None:
            return None
        row, project = found
        accounts.touch_key(session, row.pk)
        principal = Principal(
            kind="key", key_pk=row.pk, key_project=project, key_scope=cast(Scope, row.scope)
        )
        return KeyPrincipal(principal, row.rate_limit_per_min)


@dataclass(frozen=True)
class Login:
    token: str
    csrf_token: str
    user: dict[str, Any]


def login(db: Database, username: str, password: str, ttl: timedelta) -> Login | None:
    """A new session, or None when the name or password is wrong (the same either way)."""
    with db.session() as session:
        user = accounts.user_by_name(session, username.lower())
        stored = user.password_hash if user is not None else secrets.DUMMY_HASH
    if not secrets.verify_password(password, stored) or user is None:
        return None
    token, csrf = secrets.new_session_token(), secrets.new_csrf_token()
    with db.write_session() as session:
        accounts.add_session(session, user.pk, secrets.token_hash(token), csrf, ttl)
    return Login(token, csrf, user_view(user))


def logout(db: Database, session_pk: int) -> None:
    with db.write_session() as session:
        accounts.end_session(session, session_pk)


def purge_sessions(db: Database) -> int:
    with db.write_session() as session:
        return accounts.purge_sessions(session, runs.now())


# --- users --------------------------------------------------------------------------------


def create_user(db: Database, username: str, password: str, *, admin: bool) -> dict[str, Any]:
    name = normalize_username(username)
    check_password(password)
    hashed = secrets.hash_password(password)
    with db.write_session() as session:
        user = accounts.add_user(session, name, hashed, admin)
        if user is None:
            raise Conflict(f"user {name!r} already exists")
        return user_view(user)


def set_password(db: Database, username: str, password: str) -> None:
    check_password(password)
    hashed = secrets.hash_password(password)
    with db.write_session() as session:
        user = _user(session, username)
        accounts.set_password(session, user, hashed)


def list_users(db: Database) -> list[dict[str, Any]]:
    with db.session() as session:
        return [user_view(u) for u in accounts.list_users(session)]


def delete_user(db: Database, username: str, acting_user_pk: int | None) -> None:
    with db.write_session() as session:
        user = _user(session, username)
        if user.pk == acting_user_pk:
            raise Invalid("username", "you cannot delete yourself")
        accounts.delete_user(session, user)


def _user(session: Any, username: str) -> User:
    user = accounts.user_by_name(session, username.lower())
    if user is None:
        raise NotFound(f"user {username!r} not found")
    return user


# --- projects -----------------------------------------------------------------------------


def _project(session: Any, name: str) -> Project:
    project = accounts.project_by_name(session, name)
    if project is None:
        raise NotFound(f"project {name!r} not found")
    return project


def project_exists(db: Database, name: str) -> bool:
    with db.session() as session:
        return accounts.project_by_name(session, name) is not None


def create_project(db: Database, name: str, owner_pk: int | None = None) -> dict[str, Any]:
    with db.write_session() as session:
        project = accounts.add_project(session, name)
        if project is None:
            raise Conflict(f"project {name!r} already exists")
        if owner_pk is not None:
            accounts.set_member(session, project.pk, owner_pk, "admin")
        return {"name": project.name, "created_at": _iso(project.created_at)}


def list_projects(db: Database, principal: Principal, names: frozenset[str] | None) -> list[dict[str, Any]]:
    with db.session() as session:
        return [
            {
                "name": p.name,
                "created_at": _iso(p.created_at),
                "role": "admin" if principal.is_admin else principal.roles.get(p.name),
            }
            for p in accounts.list_projects(session, names)
        ]


def members(db: Database, project: str) -> list[dict[str, str]]:
    with db.session() as session:
        return [
            {"username": u, "role": r} for u, r in accounts.members(session, _project(session, project).pk)
        ]


def set_member(db: Database, project: str, username: str, role: str) -> dict[str, str]:
    if role not in ROLES:
        raise Invalid("role", f"role must be one of {', '.join(ROLES)}")
    with db.write_session() as session:
        accounts.set_member(session, _project(session, project).pk, _user(session, username).pk, role)
        return {"username": username.lower(), "role": role}


def remove_member(db: Database, project: str, username: str) -> None:
    with db.write_session() as session:
        if not accounts.remove_member(session, _project(session, project).pk, _user(session, username).pk):
            raise NotFound(f"user {username!r} is not a member of {project!r}")


# --- API keys -----------------------------------------------------------------------------


def create_key(
    db: Database,
    project: str,
    name: str,
    scope: str,
    rate_limit_per_min: int | None = None,
    created_by: int | None = None,
) -> dict[str, Any]:
    """A new key. The key itself is in the result and nowhere else: it is not stored."""
    if scope not in SCOPES:
        raise Invalid("scope", f"scope must be one of {', '.join(SCOPES)}")
    key = secrets.new_api_key()
    with db.write_session() as session:
        row = accounts.add_key(
            session,
            _project(session, project).pk,
            name,
            secrets.display_prefix(key),
            secrets.token_hash(key),
            scope,
            rate_limit_per_min,
            created_by,
        )
        return {**key_view(row, project), "key": key}


def list_keys(db: Database, project: str) -> list[dict[str, Any]]:
    with db.session() as session:
        return [key_view(k, project) for k in accounts.keys_of(session, _project(session, project).pk)]


def revoke_key(db: Database, project: str, key_id: int) -> dict[str, Any]:
    with db.write_session() as session:
        key = accounts.key_in_project(session, _project(session, project).pk, key_id)
        if key is None:
            raise NotFound(f"key {key_id} not found in project {project!r}")
        accounts.revoke_key(session, key)
        session.flush()
        return key_view(key, project)
