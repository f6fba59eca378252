"""templates.py: choosing the language, substituting, dropping unresolved lines."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.conference.templates import (
    DEFAULT_TEMPLATE,
    choose_template,
    render,
    render_text,
)

TEMPLATES = {
    "en": "Join ${ResourceName}: ${URL}\nOrganizer: ${Organizer}",
    "fr": "Rejoindre la visio : ${URL}",
    "de-CH": "Videokonferenz: ${URL}",
}
URL = "https://meet.example.com/0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("language", "default", "expected"),
    [
        ("fr", "en", TEMPLATES["fr"]),
        ("FR", "en", TEMPLATES["fr"]),  # tags are case-insensitive
        ("fr-CA", "en", TEMPLATES["fr"]),  # primary subtag
        ("fr_CA", "en", TEMPLATES["fr"]),  # POSIX-style separator
        ("de-ch", "en", TEMPLATES["de-CH"]),
        ("de", "en", TEMPLATES["en"]),  # no "de": the default language
        ("it", "fr", TEMPLATES["fr"]),
        (None, "en", TEMPLATES["en"]),
        ("", "en", TEMPLATES["en"]),
        ("it", "es", DEFAULT_TEMPLATE),  # neither: the built-in text
    ],
)
def test_choose_template(language: str | None, default: str, expected: str) -> None:
    assert choose_template(TEMPLATES, language, default) == expected


def test_no_templates_gives_the_builtin_default() -> None:
    text = render_text(
        {}, language="en", default_language="en", url=URL, organizer=None, resource_name=None
    )
    assert text == f"Join the video conference: {URL}"


@pytest.mark.parametrize(
    ("template", "variables", "expected"),
    [
        ("Join: ${URL}", {"URL": URL}, f"Join: {URL}"),
        # every occurrence is replaced, several per line
        ("${URL} ${URL}", {"URL": "u"}, "u u"),
        # a line whose variable has no value is dropped whole, the others stay
        ("Join: ${URL}\nBy ${Organizer}\nBye", {"URL": "u", "Organizer": None}, "Join: u\nBye"),
        ("Join: ${URL}\nBy ${Organizer}", {"URL": "u", "Organizer": ""}, "Join: u"),
        # an unknown variable drops its line too
        ("Join: ${URL}\nPIN ${Pin}", {"URL": "u"}, "Join: u"),
        ("${}\nx", {"URL": "u"}, "x"),
        # names are case-sensitive, as documented
        ("${url}\n${URL}", {"URL": "u"}, "u"),
        # text without variables, blank lines inside are kept, around are trimmed
        ("\nA\n\nB\n", {}, "A\n\nB"),
        # a lone dollar or brace is plain text
        ("Cost: $5 {x}", {}, "Cost: $5 {x}"),
        # values are not re-expanded
        ("${Organizer}", {"Organizer": "${URL}", "URL": "u"}, "${URL}"),
    ],
)
def test_render(template: str, variables: dict[str, str | None], expected: str) -> None:
    assert render(template, variables) == expected


def test_render_text_fills_all_three_variables() -> None:
    text = render_text(
        TEMPLATES,
        language="en-GB",
        default_language="en",
        url=URL,
        organizer="Alice Martin",
        resource_name="Jitsi video conference",
    )
    assert text == f"Join Jitsi video conference: {URL}\nOrganizer: Alice Martin"


_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@given(
    st.text(alphabet=st.sampled_from("ab ${}\nURLOrganizerPin"), max_size=80),
    st.sampled_from([None, "", "Alice"]),
)
def test_render_never_leaves_a_placeholder_it_could_not_fill(
    template: str, organizer: str | None
) -> None:
    """Whatever an admin writes: every surviving line is fully resolved, and lines
    without variables survive unchanged."""
    out = render(template, {"URL": "https://m.example/r", "Organizer": organizer})
    for line in out.splitlines():
        assert not _PLACEHOLDER.search(line)
    kept = out.splitlines()
    for line in template.splitlines():
        if line and not _PLACEHOLDER.search(line):
            assert line in kept
