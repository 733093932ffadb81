"""Accounts repository: users, login sessions, projects, members and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gradsight_server.store.models import ApiKey, LoginSession, Project, ProjectMember, User
from gradsight_server.store.runs import now
from gradsight_server.store.upsert import insert_ignore

KEY_TOUCH_EVERY = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often: not a write on every batch."""


# --- users --------------------------------------------------------------------------------


def any_user(session: Session) -> bool:
    return session.scalar(select(User.pk).limit(1)) is not None


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one_or_none()


def user_by_pk(session: Session, pk: int) -> User | None:
    return session.get(User, pk)


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def add_user(session: Session, username: str, password_hash: str, is_admin: bool) -> User | None:
    """None when the name is taken."""
    inserted = insert_ignore(
        session,
        User,
        [{"username": username, "password_hash": password_hash, "is_admin": is_admin, "created_at": now()}],
        ["username"],
    )
    return user_by_name(session, username) if inserted else None


def set_password(session: Session, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    session.execute(delete(LoginSession).where(LoginSession.user_pk == user.pk))  # sign out everywhere


def delete_user(session: Session, user: User) -> None:
    session.delete(user)


def roles_of(session: Session, user_pk: int) -> dict[str, str]:
    rows = session.execute(
        select(Project.name, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_pk == Project.pk)
        .where(ProjectMember.user_pk == user_pk)
    ).all()
    return {name: role for name, role in rows}


# --- sessions -----------------------------------------------------------------------------


def add_session(session: Session, user_pk: int, token_hash: str, csrf_token: str, ttl: timedelta) -> None:
    t = now()
    session.add(
        LoginSession(
            user_pk=user_pk, token_hash=token_hash, csrf_token=csrf_token, created_at=t, expires_at=t + ttl
        )
    )


def live_session(session: Session, token_hash: str) -> tuple[LoginSession, User] | None:
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.pk == LoginSession.user_pk)
        .where(LoginSession.token_hash == token_hash, LoginSession.expires_at > now())
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def end_session(session: Session, session_pk: int) -> None:
    session.execute(delete(LoginSession).where(LoginSession.pk == session_pk))


def purge_sessions(session: Session, before: datetime) -> int:
    result = session.execute(delete(LoginSession).where(LoginSession.expires_at <= before))
    return int(getattr(result, "rowcount", 0) or 0)


# --- projects and members -----------------------------------------------------------------


def project_by_name(session: Session, name: str) -> Project | None:
    return session.scalars(select(Project).where(Project.name == name)).one_or_none()


def list_projects(session: Session, names: frozenset[str] | None) -> Sequence[Project]:
    query = select(Project).order_by(Project.name)
    if names is not None:
        query = query.where(Project.name.in_(sorted(names)))
    return session.scalars(query).all()


def add_project(session: Session, name: str) -> Project | None:
    """None when the name is taken."""
    inserted = insert_ignore(session, Project, [{"name": name, "created_at": now()}], ["name"])
    return project_by_name(session, name) if inserted else None


def members(session: Session, project_pk: int) -> list[tuple[str, str]]:
    rows = session.execute(
        select(User.username, ProjectMember.role)
        .join(ProjectMember, ProjectMember.user_pk == User.pk)
        .where(ProjectMember.project_pk == project_pk)
        .order_by(User.username)
    ).all()
    return [(username, role) for username, role in rows]


def set_member(session: Session, project_pk: int, user_pk: int, role: str) -> None:
    member = session.get(ProjectMember, (project_pk, user_pk))
    if member is None:
        session.add(ProjectMember(project_pk=project_pk, user_pk=user_pk, role=role))
    else:
        member.role = role


def remove_member(session: Session, project_pk: int, user_pk: int) -> bool:
    member = session.get(ProjectMember, (project_pk, user_pk))
    if member is None:
        return False
    session.delete(member)
    return True


# --- API keys -----------------------------------------------------------------------------


def add_key(
    session: Session,
    project_pk: int,
    name: str,
    prefix: str,
    key_hash: str,
    scope: str,
    rate_limit_per_min: int | None,
    created_by: int | None,
) -> ApiKey:
    key = ApiKey(
        project_pk=project_pk,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scope=scope,
        rate_limit_per_min=rate_limit_per_min,
        created_by=created_by,
        created_at=now(),
    )
    session.add(key)
    session.flush()
    return key


def live_key(session: Session, key_hash: str) -> tuple[ApiKey, str] | None:
    """The unrevoked key with this hash and its project's name."""
    row = session.execute(
        select(ApiKey, Project.name)
        .join(Project, Project.pk == ApiKey.project_pk)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def touch_key(session: Session, key_pk: int) -> None:
    t = now()
    session.execute(
        update(ApiKey)
        .where(ApiKey.pk == key_pk)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < t - KEY_TOUCH_EVERY))
        .values(last_used_at=t)
        .execution_options(synchronize_session=False)
    )


def keys_of(session: Session, project_pk: int) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.project_pk == project_pk).order_by(ApiKey.created_at.desc(), ApiKey.pk)
    ).all()


def key_in_project(session: Session, project_pk: int, key_pk: int) -> ApiKey | None:
    return session.scalars(
        select(ApiKey).where(ApiKey.pk == key_pk, ApiKey.project_pk == project_pk)
    ).one_or_none()


def revoke_key(session: Session, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = now()
