"""SQL for console users and their sessions. Never commits.

Sign-in and session lookups run before the shop is known, on an ``ALL_SHOPS`` session; the
routes that manage users run on the request's session, scoped to the caller's shop.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.models import ConsoleSession, Shop, User


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).first()


def add_user(session: Session, shop_id: int, email: str, role: str, password_hash: str, language: str) -> User:
    user = User(shop_id=shop_id, email=email, role=role, password_hash=password_hash, language=language,
                created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.created_at, User.id)))


def shop_language(session: Session, shop_id: int) -> str:
    return session.scalar(select(Shop.language).where(Shop.id == shop_id))


def shop_name(session: Session, shop_id: int) -> str | None:
    return session.scalar(select(Shop.name).where(Shop.id == shop_id))


def add_session(session: Session, user: User, token_hash: str, csrf_token: str) -> ConsoleSession:
    now = utcnow()
    row = ConsoleSession(token_hash=token_hash, shop_id=user.shop_id, user_id=user.id, csrf_token=csrf_token,
                         created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    return row


def session_with_user(session: Session, token_hash: str) -> tuple[ConsoleSession, User] | None:
    row = session.execute(select(ConsoleSession, User).join(User, User.id == ConsoleSession.user_id)
                          .where(ConsoleSession.token_hash == token_hash)).first()
    return (row[0], row[1]) if row else None


def delete_session(session: Session, token_hash: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))


def delete_sessions_of(session: Session, user_id: int, keep: str | None = None) -> None:
    """End every session of a user (``keep``: the token hash of one to leave open)."""
    query = delete(ConsoleSession).where(ConsoleSession.user_id == user_id)
    if keep is not None:
        query = query.where(ConsoleSession.token_hash != keep)
    session.execute(query)


def touch_session(session: Session, row: ConsoleSession, now: datetime) -> None:
    row.last_seen_at = now
