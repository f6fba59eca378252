"""The text put in an event's description with its conference link (pure).

Each provider table may carry ``templates``: language tag -> text, with the variables
``${URL}``, ``${Organizer}`` and ``${ResourceName}``. A line that names an unknown
variable, or one without a value (no organizer name, say), is dropped whole, so an
admin can write optional lines. The organizer's language is used when a template
exists for it (exact tag, then its primary subtag: ``fr-CA`` -> ``fr``), else
``default_language``, else the built-in :data:`DEFAULT_TEMPLATE`. A link is offered
even without any template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["DEFAULT_TEMPLATE", "VARIABLES", "choose_template", "render", "render_text"]

#: Used when no configured template fits.
DEFAULT_TEMPLATE = "Join the video conference: ${URL}"
VARIABLES = ("URL", "Organizer", "ResourceName")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _lookup(templates: Mapping[str, str], tag: str | None) -> str | None:
    if not tag:
        return None
    by_tag = {key.lower(): value for key, value in templates.items()}
    tag = tag.strip().lower().replace("_", "-")
    if tag in by_tag:
        return by_tag[tag]
    primary = tag.split("-", 1)[0]
    return by_tag.get(primary)


def choose_template(
    templates: Mapping[str, str], language: str | None, default_language: str
) -> str:
    """The template for the organizer's ``language``, else ``default_language``, else ours."""
    found = _lookup(templates, language)
    if found is None:
        found = _lookup(templates, default_language)
    return DEFAULT_TEMPLATE if found is None else found


def render(template: str, variables: Mapping[str, str | None]) -> str:
    """Substitute ``${NAME}``; drop each line with an unknown or empty variable."""
    kept: list[str] = []
    for line in template.splitlines():
        names = _VARIABLE.findall(line)
        if any(not variables.get(name) for name in names):
            continue
        kept.append(_VARIABLE.sub(lambda match: variables[match.group(1)] or "", line))
    return "\n".join(kept).strip("\n")


def render_text(
    templates: Mapping[str, str],
    *,
    language: str | None,
    default_language: str,
    url: str,
    organizer: str | None,
    resource_name: str | None,
) -> str:
    """The rendered description text for one link."""
    template = choose_template(templates, language, default_language)
    variables = {"URL": url, "Organizer": organizer, "ResourceName": resource_name}
    return render(template, variables)
