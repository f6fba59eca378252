"""Users: profiles (and, with the embedded store, password hashes)."""

from __future__ import annotations

import asyncio

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from easgw.passwords import hash_password, verify_password
from easgw.state.models import User

__all__ = ["UserError", "Users", "find_user", "normalise_login"]


class UserError(ValueError):
    """A user command that cannot be carried out (the message says why)."""


def normalise_login(login: str) -> str:
    return login.strip().lower()


def _check_login(login: str) -> str:
    login = normalise_login(login)
    if not login or any(c in login for c in "\\/@:\x00 ") or len(login) > 255:
        raise UserError(f"invalid login {login!r}: no spaces, '\\', '/', '@' or ':'")
    return login


def _check_email(email: str) -> str:
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email:
        raise UserError(f"invalid e-mail address {email!r}")
    return email


def _by_login(login: str) -> Select[User]:
    return select(User).where(User.login == normalise_login(login))


def _by_email(email: str) -> Select[User]:
    return select(User).where(func.lower(User.email) == email.strip().lower())


#: Built once: the hot path's statements skip construction and cache-key work.
_BY_LOGIN = select(User).where(User.login == bindparam("login"))


def find_user(connection: Connection, login: str, email: str | None) -> User | None:
    """The user with this login, else (given) the one with this e-mail address;
    a read for ``Database.reader`` (the object comes back detached)."""
    with Session(bind=connection) as session:
        user = session.scalars(_BY_LOGIN, {"login": normalise_login(login)}).first()
        if user is None and email is not None:
            user = session.scalars(_by_email(email)).first()
        return user


class Users:
    """User operations on one session (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, login: str, *, email: str, display_name: str = "", password: str | None = None
    ) -> User:
        login = _check_login(login)
        if await self.get(login) is not None:
            raise UserError(f"user {login} already exists")
        user = User(
            login=login,
            email=_check_email(email),
            display_name=display_name.strip(),
            password_hash=await _hash(password) if password is not None else None,
            password_epoch=0,
        )
        self.session.add(user)
        await self.session.flush()
        return user

    async def get(self, login: str) -> User | None:
        result = await self.session.execute(_by_login(login))
        return result.scalar_one_or_none()

    async def require(self, login: str) -> User:
        user = await self.get(login)
        if user is None:
            raise UserError(f"no user {normalise_login(login)}")
        return user

    async def by_email(self, email: str) -> User | None:
        result = await self.session.execute(_by_email(email))
        return result.scalars().first()

    async def list(self) -> list[User]:
        result = await self.session.execute(select(User).order_by(User.login))
        return list(result.scalars())

    async def set_password(self, login: str, password: str) -> None:
        user = await self.require(login)
        await self.session.execute(
            update(User)
            .where(User.id == user.id)
            .values(password_hash=await _hash(password), password_epoch=User.password_epoch + 1)
        )

    async def remove(self, login: str) -> None:
        user = await self.require(login)
        await self.session.execute(delete(User).where(User.id == user.id))


async def _hash(password: str) -> str:
    if not password:
        raise UserError("the password is empty")
    return await asyncio.to_thread(hash_password, password)


async def check_password(user: User, password: str) -> bool:
    """Verify a password off the event loop (scrypt is deliberately slow)."""
    if user.password_hash is None:
        return False
    return await asyncio.to_thread(verify_password, password, user.password_hash)
