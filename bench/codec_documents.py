"""The documents bench/codec.py times, built deterministically (seeded) in the CONTRACTS.md
section 1 tree form: a calendar Sync response with Exchange 14.1's element order (MS-ASCAL),
and a FolderSync response."""

from __future__ import annotations

import base64
import random
import struct
from datetime import UTC, datetime, timedelta

from lxml import etree

EVENTS = 500
FOLDERS = 50
SEED = 20240601

AS = "AirSync:"
CAL = "Calendar:"
ASB = "AirSyncBase:"
FH = "FolderHierarchy:"
NSMAP_SYNC = {"airsync": AS, "calendar": CAL, "airsyncbase": ASB}

Element = etree._Element


def sub(parent: Element, ns: str, name: str, text: str | None = None) -> Element:
    """Append ``{ns}name`` to ``parent``, with ``text`` if given."""
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = text
    return child


# --------------------------------------------------------------------------- document builders


def _systemtime(month: int, dow: int, week: int, hour: int) -> bytes:
    """A SYSTEMTIME in the "day-of-week in month" form TIME_ZONE_INFORMATION uses."""
    return struct.pack("<8H", 0, month, dow, week, hour, 0, 0, 0)


def _tz_name(name: str) -> bytes:
    return name.encode("utf-16-le").ljust(64, b"\0")[:64]


def timezone_blob(bias: int, std: str, dst: str, std_date: bytes, dst_date: bytes) -> str:
    """MS-ASDTYPE TimeZone: 172 bytes (Bias, names, SYSTEMTIMEs, biases), base64."""
    blob = (
        struct.pack("<i", bias)
        + _tz_name(std)
        + std_date
        + struct.pack("<i", 0)
        + _tz_name(dst)
        + dst_date
        + struct.pack("<i", -60)
    )
    assert len(blob) == 172
    return base64.b64encode(blob).decode("ascii")


TIMEZONES = [
    timezone_blob(
        -60,
        "W. Europe Standard Time",
        "W. Europe Daylight Time",
        _systemtime(10, 0, 5, 3),
        _systemtime(3, 0, 5, 2),
    ),
    timezone_blob(
        0,
        "GMT Standard Time",
        "GMT Daylight Time",
        _systemtime(10, 0, 5, 2),
        _systemtime(3, 0, 5, 1),
    ),
    timezone_blob(
        300,
        "Eastern Standard Time",
        "Eastern Daylight Time",
        _systemtime(11, 0, 1, 2),
        _systemtime(3, 0, 2, 2),
    ),
    timezone_blob(-540, "Tokyo Standard Time", "Tokyo Daylight Time", b"\0" * 16, b"\0" * 16),
]

PEOPLE = [
    ("Alice Martin", "alice.martin@example.com"),
    ("Bob Nguyen", "bob.nguyen@example.com"),
    ("Zoë Müller", "zoe.mueller@example.de"),
    ("José García", "jose.garcia@example.es"),
    ("Łukasz Wiśniewski", "lukasz.w@example.pl"),
    ("François Lefèvre", "f.lefevre@example.fr"),
    ("田中 太郎", "tanaka.taro@example.jp"),
    ("Søren Kierkegaard", "soren.k@example.dk"),
    ("Priya Raman", "priya.raman@example.in"),
    ("Olusegun Adeyemi", "o.adeyemi@example.ng"),
    ("Chloé Dubois", "chloe.dubois@example.fr"),
    ("Ivan Petrov", "ivan.petrov@example.ru"),
    ("Meeting Room 3.14", "room-314@example.com"),
    ("Beamer Nord", "beamer-nord@example.com"),
    ("Grace Hopper", "grace.hopper@example.com"),
    ("Håkon Østby", "hakon.ostby@example.no"),
]
SUBJECT_WORDS = [
    "Weekly",
    "sync",
    "Quarterly",
    "review",
    "Budget",
    "planning",
    "1:1",
    "Design",
    "Sprint",
    "retro",
    "Kick-off",
    "Projekt",
    "Besprechung",
    "Réunion",
    "d'équipe",
    "Déjeuner",
    "会議",
    "Roadmap",
    "Q3",
    "Customer",
    "call",
    "Interview",
    "Onboarding",
    "Standup",
    "Übergabe",
]
BODY_WORDS = [
    "please",
    "find",
    "the",
    "agenda",
    "below",
    "we",
    "will",
    "discuss",
    "next",
    "steps",
    "for",
    "release",
    "and",
    "budget",
    "Straße",
    "café",
    "naïve",
    "façade",
    "résumé",
    "Grüße",
    "coördinate",
    "€",
    "—",
    "…",
    "会議室",
    "予定",
    "señor",
    "mañana",
    "Zürich",
    "København",
    "dial-in",
    "details",
    "follow",
    "up",
    "action",
    "items",
    "owner",
    "deadline",
    "notes",
]
LOCATIONS = [
    "Room 3.14",
    "Konferenzraum Süd",
    "Salle Lumière",
    "Teams",
    "Building 7 / Kantine",
    "会議室 A",
    "Café am Eck",
    "Online",
    "Main auditorium",
    "",
]
CATEGORIES = ["Blue category", "Green category", "Red category", "Projekt Ω", "Personal"]


def _stamp(dt: datetime) -> str:
    return dt.strftime("%Y%m%dT%H%M%SZ")


def _uid(rng: random.Random) -> str:
    if rng.random() < 0.7:  # Outlook's Global Object ID, as Exchange hands it out
        return (
            "040000008200E00074C5B7101A82E00800000000"
            + "".join(rng.choice("0123456789ABCDEF") for _ in range(16))
            + "000000000000000010000000"
            + "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
        )
    return "".join(rng.choice("0123456789abcdef") for _ in range(32)).join(["", "@example.org"])


def _body_text(rng: random.Random) -> str:
    target = rng.randint(200, 2000)
    text = ""
    while len(text) < target:
        sentence = " ".join(rng.choice(BODY_WORDS) for _ in range(rng.randint(6, 16)))
        text += sentence[0].upper() + sentence[1:] + "."
        text += "\r\n\r\n" if rng.random() < 0.2 else " "
    return text[:target].rstrip()


def _event(app: Element, rng: random.Random, index: int) -> None:
    base = datetime(2024, 1, 8, tzinfo=UTC)
    all_day = rng.random() < 0.1
    if all_day:
        start = base + timedelta(days=rng.randint(0, 365), hours=-1)
        end = start + timedelta(days=rng.choice((1, 1, 1, 2, 3)))
    else:
        start = base + timedelta(
            days=rng.randint(0, 365),
            hours=rng.randint(7, 17),
            minutes=rng.choice((0, 0, 15, 30, 45)),
        )
        end = start + timedelta(minutes=rng.choice((15, 30, 30, 60, 60, 90, 120)))
    organizer = rng.choice(PEOPLE[:12])
    subject = " ".join(rng.choice(SUBJECT_WORDS) for _ in range(rng.randint(2, 6)))

    sub(app, CAL, "Timezone", rng.choice(TIMEZONES))  # MS-ASWBXML spelling (MS-ASCAL: TimeZone)
    sub(app, CAL, "DtStamp", _stamp(start - timedelta(days=rng.randint(1, 60))))
    sub(app, CAL, "StartTime", _stamp(start))
    sub(app, CAL, "Subject", subject)
    sub(app, CAL, "UID", _uid(rng))
    sub(app, CAL, "OrganizerName", organizer[0])
    sub(app, CAL, "OrganizerEmail", organizer[1])
    attendees = sub(app, CAL, "Attendees")
    for name, email in rng.sample(PEOPLE, rng.randint(2, 8)):
        attendee = sub(attendees, CAL, "Attendee")
        sub(attendee, CAL, "Email", email)
        sub(attendee, CAL, "Name", name)
        sub(attendee, CAL, "AttendeeStatus", rng.choice("0023345"))
        sub(
            attendee,
            CAL,
            "AttendeeType",
            "3" if email.startswith(("room", "beamer")) else rng.choice("112"),
        )
    location = rng.choice(LOCATIONS)
    if location:
        sub(app, CAL, "Location", location)
    else:  # Exchange writes an empty Location as a bare tag
        sub(app, CAL, "Location")
    sub(app, CAL, "EndTime", _stamp(end))
    text = _body_text(rng)
    body = sub(app, ASB, "Body")
    sub(body, ASB, "Type", "1")
    sub(body, ASB, "EstimatedDataSize", str(len(text.encode("utf-8"))))
    sub(body, ASB, "Data", text)
    sub(app, CAL, "Sensitivity", rng.choice("0000123"))
    sub(app, CAL, "BusyStatus", rng.choice("0122223"))
    sub(app, CAL, "AllDayEvent", "1" if all_day else "0")
    if not all_day or rng.random() < 0.5:
        sub(app, CAL, "Reminder", rng.choice(("0", "5", "15", "15", "30", "1080")))
    sub(app, CAL, "MeetingStatus", rng.choice("01133"))
    categories = sub(app, CAL, "Categories")
    for category in rng.sample(CATEGORIES, rng.choice((0, 0, 1, 1, 2))):
        sub(categories, CAL, "Category", category)
    if index % 3 == 0:
        _recurrence(app, rng, start, end)
    if rng.random() < 0.25:
        sub(
            app,
            CAL,
            "OnlineMeetingExternalLink",
            f"https://meet.example.com/j/{rng.randrange(10**9, 10**10)}?pwd="
            + "".join(
                rng.choice("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789")
                for _ in range(22)
            ),
        )
    sub(app, CAL, "ResponseRequested", rng.choice("011"))
    sub(app, CAL, "DisallowNewTimeProposal", rng.choice("0001"))


def _recurrence(app: Element, rng: random.Random, start: datetime, end: datetime) -> None:
    weekly = rng.random() < 0.8
    interval = rng.choice((1, 1, 1, 2)) if weekly else 1
    recurrence = sub(app, CAL, "Recurrence")
    sub(recurrence, CAL, "Type", "1" if weekly else "0")
    sub(recurrence, CAL, "Interval", str(interval))
    if weekly:
        sub(recurrence, CAL, "DayOfWeek", str(1 << ((start.weekday() + 1) % 7)))
    until = start + timedelta(weeks=rng.randint(4, 40))
    sub(recurrence, CAL, "Until", _stamp(until))
    if weekly:
        sub(recurrence, CAL, "FirstDayOfWeek", "1")
    if rng.random() < 0.5:
        return
    step = timedelta(weeks=interval) if weekly else timedelta(days=1)
    exceptions = sub(app, CAL, "Exceptions")
    for k in sorted(rng.sample(range(1, 4), rng.randint(1, 3))):
        original = start + k * step
        exception = sub(exceptions, CAL, "Exception")
        if rng.random() < 0.5:
            sub(exception, CAL, "Deleted", "1")
            sub(exception, CAL, "ExceptionStartTime", _stamp(original))
        else:
            moved = timedelta(hours=rng.choice((-2, -1, 1, 2, 24)))
            sub(exception, CAL, "ExceptionStartTime", _stamp(original))
            sub(
                exception,
                CAL,
                "Subject",
                " ".join(rng.choice(SUBJECT_WORDS) for _ in range(rng.randint(2, 5))),
            )
            sub(exception, CAL, "StartTime", _stamp(original + moved))
            sub(exception, CAL, "EndTime", _stamp(original + (end - start) + moved))


def build_sync_response(events: int = EVENTS, seed: int = SEED) -> Element:
    """A calendar Sync response with ``events`` Adds, as Exchange 14.1 sends it."""
    rng = random.Random(seed)
    root = etree.Element(f"{{{AS}}}Sync", nsmap=NSMAP_SYNC)
    collection = sub(sub(root, AS, "Collections"), AS, "Collection")
    sub(collection, AS, "SyncKey", "1384502739")
    sub(collection, AS, "CollectionId", "2")
    sub(collection, AS, "Status", "1")
    commands = sub(collection, AS, "Commands")
    for index in range(events):
        add = sub(commands, AS, "Add")
        sub(add, AS, "ServerId", f"2:{index + 1}")
        _event(sub(add, AS, "ApplicationData"), rng, index)
    return root


FOLDER_TREE = [  # (DisplayName, Type, parent index or None)
    ("Inbox", 2, None),
    ("Drafts", 3, None),
    ("Deleted Items", 4, None),
    ("Sent Items", 5, None),
    ("Outbox", 6, None),
    ("Tasks", 7, None),
    ("Calendar", 8, None),
    ("Contacts", 9, None),
    ("Notes", 10, None),
    ("Journal", 11, None),
    ("Junk E-Mail", 12, None),
    ("Archive", 12, None),
    ("Conversation History", 12, None),
    ("RSS Feeds", 12, None),
    ("Sync Issues", 12, None),
    ("Conflicts", 12, 14),
    ("Local Failures", 12, 14),
    ("Server Failures", 12, 14),
    ("Birthdays", 13, 6),
    ("Feiertage in Deutschland", 13, 6),
    ("Team calendar", 13, 6),
    ("Équipe projet", 13, 6),
    ("Suggested Contacts", 14, 7),
    ("Recipient Cache", 14, 7),
    ("Kunden", 14, 7),
]


def build_foldersync_response(folders: int = FOLDERS, seed: int = SEED) -> Element:
    """A FolderSync response (initial sync, SyncKey 0 -> 1) with ``folders`` Adds."""
    rng = random.Random(seed)
    names = [
        ("Projects", 12),
        ("Receipts", 12),
        ("Newsletters", 12),
        ("Rechnungen", 12),
        ("Reisen ✈", 12),
        ("Clients", 12),
        ("Équipe", 12),
        ("2023", 12),
        ("2024", 12),
        ("Urgent", 12),
        ("Waiting for", 12),
        ("Someday", 12),
        ("Lists", 12),
        ("作業", 12),
    ]
    tree = list(FOLDER_TREE)
    while len(tree) < folders:
        name, kind = rng.choice(names)
        tree.append((f"{name} {len(tree)}", kind, rng.choice((None, 0, 11, len(tree) - 1))))
    root = etree.Element(f"{{{FH}}}FolderSync", nsmap={"folderhierarchy": FH})
    sub(root, FH, "Status", "1")
    sub(root, FH, "SyncKey", "1")
    changes = sub(root, FH, "Changes")
    sub(changes, FH, "Count", str(len(tree)))
    for index, (name, kind, parent) in enumerate(tree[:folders]):
        add = sub(changes, FH, "Add")
        sub(add, FH, "ServerId", str(index + 1))
        sub(add, FH, "ParentId", "0" if parent is None else str(parent + 1))
        sub(add, FH, "DisplayName", name)
        sub(add, FH, "Type", str(kind))
    return root


# --------------------------------------------------------------------------- timing
