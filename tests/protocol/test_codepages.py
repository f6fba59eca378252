"""Tests on the code page tables themselves (STYLE.md 3)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from protocol.codepages import PAGES, CodePage, page_by_namespace

# CONTRACTS.md section 1: page number -> namespace.
CONTRACT_NAMESPACES = [
    "AirSync:", "Contacts:", "Email:", "AirNotify:", "Calendar:", "Move:", "GetItemEstimate:",
    "FolderHierarchy:", "MeetingResponse:", "Tasks:", "ResolveRecipients:", "ValidateCert:",
    "Contacts2:", "Ping:", "Provision:", "Search:", "GAL:", "AirSyncBase:", "Settings:",
    "DocumentLibrary:", "ItemOperations:", "ComposeMail:", "Email2:", "Notes:",
    "RightsManagement:", "Find:",
]  # fmt: skip


def test_all_26_pages_in_order_with_contract_namespaces() -> None:
    assert [page.number for page in PAGES] == list(range(26))
    assert [page.namespace for page in PAGES] == CONTRACT_NAMESPACES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_tokens_in_range_and_names_unique(page: CodePage) -> None:
    assert page.tags, f"{page.name} has no tags"
    assert all(0x05 <= token <= 0x3F for token in page.tags)
    assert len(set(page.tags.values())) == len(page.tags)
    assert {page.tokens[name] for name in page.tags.values()} == set(page.tags)
    assert page_by_namespace(page.namespace) is page


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_names_are_xml_names(page: CodePage) -> None:
    for name in page.tags.values():
        assert name.isidentifier() and name[0].isupper(), name


def test_each_page_is_its_own_small_data_module() -> None:
    folder = Path(importlib.import_module("protocol.codepages").__file__ or "").parent
    modules = sorted(p for p in folder.glob("*.py") if p.name not in {"__init__.py", "page.py"})
    assert len(modules) == 26
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        # data only: no functions or classes
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


def test_constructor_rejects_bad_tables() -> None:
    with pytest.raises(ValueError, match="outside"):
        CodePage(number=0, name="X", tags={0x04: "A"})
    with pytest.raises(ValueError, match="outside"):
        CodePage(number=0, name="X", tags={0x40: "A"})
    with pytest.raises(ValueError, match="twice"):
        CodePage(number=0, name="X", tags={0x05: "A", 0x06: "A"})


# Spot checks of tags later issues rely on (MS-ASWBXML 2.1.2.1).
@pytest.mark.parametrize(
    ("page", "token", "name"),
    [
        (0, 0x05, "Sync"),
        (0, 0x0B, "SyncKey"),
        (0, 0x1D, "ApplicationData"),
        (4, 0x05, "Timezone"),
        (4, 0x11, "DtStamp"),
        (4, 0x17, "Location"),
        (4, 0x39, "FirstDayOfWeek"),
        (4, 0x3A, "OnlineMeetingConfLink"),
        (4, 0x3B, "OnlineMeetingExternalLink"),
        (4, 0x3C, "ClientUid"),
        (7, 0x16, "FolderSync"),
        (13, 0x05, "Ping"),
        (14, 0x05, "Provision"),
        (17, 0x0A, "Body"),
        (17, 0x20, "Location"),
        (17, 0x2D, "InstanceId"),
        (18, 0x05, "Settings"),
    ],
)
def test_known_tags(page: int, token: int, name: str) -> None:
    assert PAGES[page].tags[token] == name
