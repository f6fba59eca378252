"""The shape of one WBXML code page (data only; the pages are its instances)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True, kw_only=True)
class CodePage:
    """One code page: its number, its name, and its tags by token.

    ``tags`` maps a token (0x05..0x3F, without the content and attribute bits)
    to the tag's local name.
    """

    number: int
    name: str
    tags: Mapping[int, str]
    tokens: Mapping[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if not 0 <= self.number <= 255:
            raise ValueError(f"code page number {self.number} out of range")
        for token in self.tags:
            if not 0x05 <= token <= 0x3F:
                raise ValueError(f"{self.name}: token {token:#04x} outside 0x05..0x3F")
        names = list(self.tags.values())
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a tag name is declared twice")
        object.__setattr__(self, "tags", MappingProxyType(dict(self.tags)))
        object.__setattr__(
            self, "tokens", MappingProxyType({name: token for token, name in self.tags.items()})
        )

    @property
    def namespace(self) -> str:
        """The XML namespace of this page: its name and a trailing colon."""
        return f"{self.name}:"
