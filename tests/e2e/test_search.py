"""GAL Search and ResolveRecipients over loopback: typing "Jitsi" offers the resource.

A real server (the embedded store) with a Jitsi provider and a second, BlueMind Video
one; users alice, bob and Bobby Tables. 14.1 and 16.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from easgw.app import create_app
from tests.e2e.test_conference import BASE_CONFIG
from tests.e2e.test_sync import ClientFactory
from tests.harness import Answer, EasClient, add_user, make_config

VERSIONS = ["14.1", "16.1"]
CONFIG = (
    BASE_CONFIG
    + """
[[conference.providers]]
id = "visio"
type = "bluemind-video"
resource = "visio@conf.example.com"
display_name = "BlueMind Video"
base_url = "https://video.example.com"

[[conference.providers]]
id = "board"
type = "jitsi"
resource = "board-jitsi@conf.example.com"
display_name = "Jitsi for the board"
base_url = "https://board.example.com"
allowed = ["@board.example.com"]
"""
)


@pytest.fixture
async def client(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient:  # type: ignore[type-arg]
    config = make_config(tmp_path, CONFIG)
    await add_user(config, "alice", "secret", "alice@example.com")
    await add_user(config, "bob", "secret", "bob@example.com")
    await add_user(config, "tables", "secret", "bobby.tables@example.org")
    await add_user(config, "chair", "secret", "chair@board.example.com")
    return await aiohttp_client(create_app(config))


def gal_search(query: str, options: str = "<Range>0-99</Range>", store: str = "GAL") -> str:
    return (
        '<Search xmlns="Search:"><Store>'
        f"<Name>{store}</Name><Query>{query}</Query><Options>{options}</Options>"
        "</Store></Search>"
    )


def results(answer: Answer) -> list[dict[str, str]]:
    return [
        {str(e.tag).split("}")[1]: e.text or "" for e in properties}
        for properties in answer.findall("//Search:Result/Search:Properties")
    ]


@pytest.mark.parametrize("version", VERSIONS)
async def test_gal_search_offers_the_conference_resource(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = EasClient(client, version=version)
    answer = await phone.command("Search", gal_search("jitsi"))
    assert answer.status == 200
    assert answer.find("/Search:Search/Search:Status") == "1"
    assert answer.find("//Search:Store/Search:Status") == "1"
    assert results(answer) == [
        {"DisplayName": "Jitsi video conference", "EmailAddress": "jitsi@conf.example.com"}
    ]
    assert answer.find("//Search:Store/Search:Range") == "0-0"
    assert answer.find("//Search:Store/Search:Total") == "1"  # not the board's: not bookable

    # A word of the display name, the address, and users by login, name or address.
    for query, expected in (
        ("VIDEO", ["BlueMind Video", "Jitsi video conference"]),
        ("visio@", ["BlueMind Video"]),
        ("Bob", ["Bob", "Tables"]),
        ("bobby.t", ["Tables"]),
        ("tab", ["Tables"]),
    ):
        found = results(await phone.command("Search", gal_search(query)))
        assert [r["DisplayName"] for r in found] == expected, query
    [bob] = [r for r in results(await phone.command("Search", gal_search("bob@"))) if r]
    assert bob == {"DisplayName": "Bob", "Alias": "bob", "EmailAddress": "bob@example.com"}


async def test_gal_search_range_total_no_match_and_other_stores(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    phone = EasClient(client, version="16.1")
    answer = await phone.command("Search", gal_search("b", "<Range>1-1</Range>"))
    # Matches: BlueMind Video (resource), then Bob and Tables (bobby.tables@...).
    assert [r["DisplayName"] for r in results(answer)] == ["Bob"]
    assert answer.find("//Search:Store/Search:Range") == "1-1"
    assert answer.find("//Search:Store/Search:Total") == "3"

    none = await phone.command("Search", gal_search("zzz"))
    assert none.find("//Search:Store/Search:Status") == "1"
    assert none.find("//Search:Store/Search:Total") == "0"
    assert len(none.findall("//Search:Store/Search:Result")) == 1
    assert results(none) == []

    # Pictures asked for (14.1+): each result says it has none (Status 173).
    pictured = await phone.command(
        "Search",
        gal_search("jitsi", "<Range>0-9</Range><Picture><MaxPictures>5</MaxPictures></Picture>"),
    )
    assert pictured.find("//Search:Properties/GAL:Picture/GAL:Status") == "173"

    for store in ("Mailbox", "DocumentLibrary"):
        other = await phone.command("Search", gal_search("jitsi", store=store))
        assert other.find("/Search:Search/Search:Status") == "1"
        assert other.find("//Search:Store/Search:Status") == "3"
        assert results(other) == []
    bad = await phone.command("Search", gal_search("jitsi", "<Range>9-1</Range>"))
    assert bad.find("//Search:Store/Search:Status") == "2"
    # The board's resource is offered to those its ``allowed`` names only.
    chair = EasClient(client, user="chair", version="16.1")
    offered = results(await chair.command("Search", gal_search("jitsi")))
    assert [r["EmailAddress"] for r in offered] == [
        "board-jitsi@conf.example.com",
        "jitsi@conf.example.com",
    ]
    broken = await phone.command("Search", '<Search xmlns="Search:"/>')
    assert broken.status == 200
    assert broken.find("/Search:Search/Search:Status") == "103"


def resolve(*to: str, options: str = "") -> str:
    names = "".join(f"<To>{name}</To>" for name in to)
    return f'<ResolveRecipients xmlns="ResolveRecipients:">{names}{options}</ResolveRecipients>'


def responses(answer: Answer) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    found = []
    for response in answer.findall("//ResolveRecipients:Response"):
        ns = "{ResolveRecipients:}"
        recipients = [
            (r.findtext(f"{ns}Type") or "", r.findtext(f"{ns}DisplayName") or "",
             r.findtext(f"{ns}EmailAddress") or "")
            for r in response.findall(f"{ns}Recipient")
        ]  # fmt: skip
        found.append(
            (response.findtext(f"{ns}To") or "", response.findtext(f"{ns}Status") or "", recipients)
        )
    return found


@pytest.mark.parametrize("version", VERSIONS)
async def test_resolve_recipients_finds_the_resource_and_users(
    client: TestClient,  # type: ignore[type-arg]
    version: str,
) -> None:
    phone = EasClient(client, version=version)
    answer = await phone.command(
        "ResolveRecipients",
        resolve(
            "Jitsi",
            "jitsi@conf.example.com",
            "bo",
            "nobody@x.org",
            "Jitsi &lt;jitsi@conf.example.com&gt;",
        ),
    )
    assert answer.status == 200
    assert answer.find("/ResolveRecipients:ResolveRecipients/ResolveRecipients:Status") == "1"
    jitsi = ("1", "Jitsi video conference", "jitsi@conf.example.com")
    assert responses(answer) == [
        ("Jitsi", "1", [jitsi]),
        ("jitsi@conf.example.com", "1", [jitsi]),
        ("bo", "2", [("1", "Bob", "bob@example.com"), ("1", "Tables", "bobby.tables@example.org")]),
        ("nobody@x.org", "4", []),
        ("Jitsi <jitsi@conf.example.com>", "1", [jitsi]),
    ]
    counts = [e.text for e in answer.findall("//ResolveRecipients:RecipientCount")]
    assert counts == ["1", "1", "2", "0", "1"]

    # Free/busy, certificates and pictures are not offered: their "none" statuses.
    options = (
        "<Options><CertificateRetrieval>2</CertificateRetrieval>"
        "<MaxAmbiguousRecipients>1</MaxAmbiguousRecipients>"
        "<Availability><StartTime>2026-12-01T10:00:00.000Z</StartTime>"
        "<EndTime>2026-12-01T11:00:00.000Z</EndTime></Availability>"
        "<Picture><MaxPictures>1</MaxPictures></Picture></Options>"
    )
    answer = await phone.command("ResolveRecipients", resolve("jitsi", "bo", options=options))
    assert (
        answer.find(
            "//ResolveRecipients:Recipient/ResolveRecipients:Availability/ResolveRecipients:Status"
        )
        == "163"
    )
    assert answer.find("//ResolveRecipients:Certificates/ResolveRecipients:Status") == "7"
    assert answer.find("//ResolveRecipients:Certificates/ResolveRecipients:CertificateCount") == "0"
    assert (
        answer.find(
            "//ResolveRecipients:Recipient/ResolveRecipients:Picture/ResolveRecipients:Status"
        )
        == "173"
    )
    [_, (to, status, cut)] = responses(answer)
    assert (to, status, len(cut)) == ("bo", "3", 1)  # more than MaxAmbiguousRecipients: cut

    bad = await phone.command("ResolveRecipients", resolve(options="<Options/>"))
    assert bad.status == 200
    assert bad.find("/ResolveRecipients:ResolveRecipients/ResolveRecipients:Status") == "5"
