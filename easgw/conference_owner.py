"""Whose event the conference policy acts for: the calendar's owner, and the
language the owner's device speaks (easgw/conference.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Owner", "Speaking"]


class Owner(Protocol):
    """The calendar's user (easgw.state.models.User fits)."""

    @property
    def id(self) -> int: ...
    @property
    def login(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def display_name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Speaking:
    """An :class:`Owner` with the language its device speaks (the request's
    Accept-Language): the conference text is rendered in it when the
    provider has a template for it (providers/conference/templates.py)."""

    user: Owner
    language: str | None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def login(self) -> str:
        return self.user.login

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def display_name(self) -> str:
        return self.user.display_name
